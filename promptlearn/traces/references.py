"""What a trace says the right answer is, as an `Example` the online learner scores and learns from.

- A correction is the answer (the example's target), always.
- With `outputs_are_labels` (the app answers with a label), a user's thumbs up on the recorded output makes that
  output the answer too: for a label there is no other right one. A thumbs down marks the recorded label as
  `rejected`: a new output that gives it again is wrong (traces/scoring.py), one that gives another label goes to
  the rubric judge. Without it, approved free text is no target: another wording may be as good.
- Traces with an answer are the pool of worked examples an online candidate may show the task model.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from promptlearn.config import OnlineConfig
from promptlearn.data import Example
from promptlearn.store.tables import TraceRow
from promptlearn.traces.model import Feedback

REJECTED = "rejected"  # metadata key: the recorded output a user marked bad (outputs_are_labels)


def verdict_of(example: Example, cfg: OnlineConfig) -> str | None:
    """The user's verdict on the recorded output (a correction that differs from it is a fail), or None."""
    return Feedback(**example.metadata["feedback"]).verdict_on(example.metadata["recorded"], cfg.traces)


def trace_example(row: TraceRow, cfg: OnlineConfig) -> Example:
    feedback = Feedback(row.score, row.label, row.comment, row.correction)
    example = Example(row.key, row.input, row.correction or "",
                      {"trace": row.id, "recorded": row.output, "feedback": asdict(feedback),
                       "system_prompt": json.loads(row.metadata_json).get("system_prompt")})
    if not cfg.outputs_are_labels or row.correction:
        return example
    verdict = feedback.verdict_on(row.output, cfg.traces)
    if verdict == "pass" and row.output.strip():
        return Example(example.id, example.input, row.output.strip(), example.metadata)
    if verdict == "fail":
        return Example(example.id, example.input, "", {**example.metadata, REJECTED: row.output})
    return example


def answered(examples: list[Example]) -> list[Example]:
    """The examples whose answer is known (a correction, or an approved label): the worked-example pool."""
    return [e for e in examples if e.target.strip()]
