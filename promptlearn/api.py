"""Small helpers the CLI and scripts share: config loading, dry-run estimates, optimize with events."""

from __future__ import annotations

from pathlib import Path

from promptlearn.config import PRESETS, RunConfig, load_config, preset
from promptlearn.errors import ConfigError
from promptlearn.optimize import OptimizeResult, optimize
from promptlearn.optimize.budget import Estimate, estimate
from promptlearn.optimize.events import Subscriber
from promptlearn.optimize.setup import load_run_data
from promptlearn.playbook import token_count


def load_run_config(run_file: Path | None, preset_name: str | None) -> RunConfig:
    if run_file is not None:
        return load_config(run_file)
    if preset_name is None:
        raise ConfigError("give a run file (see runs/) or --preset NAME (" + ", ".join(PRESETS) + ")")
    return preset(preset_name)


def dry_run_estimate(config: RunConfig) -> Estimate:
    """Loads the data (so a broken dataset fails now) and bounds the calls, tokens and cost of the run."""
    _dataset, splits, _scorer = load_run_data(config)
    inputs = [e.input for e in splits.train.examples] or [""]
    avg_input = sum(token_count(t) for t in inputs) // len(inputs)
    prompt = token_count(config.system_prompt) + config.learn.playbook_max_tokens
    return estimate(config, len(splits.val), len(splits.test), prompt, avg_input)


def optimize_with_progress(config: RunConfig | None, *, resume: str | None, db: str | None,
                           subscriber: Subscriber) -> OptimizeResult:
    return optimize(config, resume=resume, db=db, subscribers=[subscriber])
