"""Datasets and scorers: what a prompt is run on, and how its outputs are judged right or wrong."""

from promptlearn.data.datasets import Dataset, Example, Splits, list_bundled_datasets, load_dataset
from promptlearn.data.paths import bundled_dir, shared_data_dir
from promptlearn.data.scorers import SCORER_NAMES, Score, Scorer, default_scorer_for, make_scorer
from promptlearn.data.scorers.choice import MultipleChoice
from promptlearn.data.scorers.json_schema import JsonSchema
from promptlearn.data.scorers.numeric import NumericTolerance
from promptlearn.data.scorers.text import ExactLabel, ExactMatch, PythonFunction, RegexMatch

__all__ = [
    "SCORER_NAMES",
    "Dataset",
    "ExactLabel",
    "ExactMatch",
    "Example",
    "JsonSchema",
    "MultipleChoice",
    "NumericTolerance",
    "PythonFunction",
    "RegexMatch",
    "Score",
    "Scorer",
    "Splits",
    "bundled_dir",
    "default_scorer_for",
    "list_bundled_datasets",
    "load_dataset",
    "make_scorer",
    "shared_data_dir",
]
