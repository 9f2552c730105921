"""promptlearn: make an LLM application better without touching its weights."""

from promptlearn.config import RunConfig, load_config, preset
from promptlearn.data import Dataset, Example, load_dataset
from promptlearn.errors import PromptlearnError
from promptlearn.evaluate import EvalResult, evaluate
from promptlearn.lm import FakeLM, ReplayLM
from promptlearn.optimize import OptimizeResult, optimize
from promptlearn.playbook import Playbook

__version__ = "0.1.0"
__all__ = [
    "evaluate", "optimize", "EvalResult", "OptimizeResult", "RunConfig", "load_config", "preset", "Dataset", "Example",
    "load_dataset", "Playbook", "FakeLM", "ReplayLM", "PromptlearnError",
]
