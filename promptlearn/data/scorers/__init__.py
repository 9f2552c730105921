"""Scorers: turn (model output, example) into a `Score` in [0, 1] with a short reason and the parsed answer.

A scorer never raises on an output: empty outputs, model errors and garbage all score 0 with a reason, because
one odd reply must not stop a run. Configuration mistakes (a bad regex, an unknown name) raise `ConfigError` early.

`base`: `Score`, the `Scorer` protocol and the shared guard; `text`: exact, regex, label and python scorers;
`choice`, `numeric`, `json_schema`: one scorer each; `registry`: `make_scorer` and `default_scorer_for`.
"""

from promptlearn.data.scorers.base import Score, Scorer
from promptlearn.data.scorers.choice import MultipleChoice
from promptlearn.data.scorers.json_schema import JsonSchema
from promptlearn.data.scorers.numeric import NumericTolerance
from promptlearn.data.scorers.registry import SCORER_NAMES, default_scorer_for, make_scorer
from promptlearn.data.scorers.text import ExactLabel, ExactMatch, PythonFunction, RegexMatch

__all__ = [
    "SCORER_NAMES", "ExactLabel", "ExactMatch", "JsonSchema", "MultipleChoice", "NumericTolerance", "PythonFunction",
    "RegexMatch", "Score", "Scorer", "default_scorer_for", "make_scorer",
]
