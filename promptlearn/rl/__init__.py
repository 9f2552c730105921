"""The weight-update side: GRPO with a LoRA adapter, rewarded by the same scorers prompt learning uses.

Needs the optional packages (`pip install 'promptlearn[rl]'`). Importing this package never imports torch,
transformers, trl or peft: they load inside the functions that train or load a model.
"""

from promptlearn.rl.compare import compare
from promptlearn.rl.compare_config import CompareConfig
from promptlearn.rl.config import RLConfig, RLResult
from promptlearn.rl.model_io import load_adapter, require_rl
from promptlearn.rl.reward import Reward, parse_confidence, reward_for, scorer_reward
from promptlearn.rl.train import train

__all__ = ["CompareConfig", "RLConfig", "RLResult", "Reward", "compare", "load_adapter", "parse_confidence",
           "require_rl", "reward_for", "scorer_reward", "train"]
