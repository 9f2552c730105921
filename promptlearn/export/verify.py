"""`--verify`: run the exported prompt on the run's stored validation examples and compare with the stored score.

The prompt evaluated is what an application would send (see `formats.sent_text`): the rendered prompt for
`prompt`, `load_playbook(...).render()` for `json`, the signature's instructions for `dspy`, the whole file for
Markdown and instruction files. The evaluation is stored as an `eval` run like any other.
"""

from __future__ import annotations

import json
from typing import Any

from promptlearn.config import DEFAULT_TASK_MAX_TOKENS, DEFAULT_TASK_MODEL
from promptlearn.data import Dataset, Example
from promptlearn.errors import ConfigError
from promptlearn.evaluate import evaluate
from promptlearn.export.formats import export_playbook, sent_text
from promptlearn.export.refs import Resolved, resolve, stored_val_accuracy
from promptlearn.lm import LM
from promptlearn.store import Store


def stored_dataset(store: Store, resolved: Resolved) -> Dataset:
    """The run's stored validation examples (an `eval` run's evaluated examples) as a Dataset."""
    rows = store.examples(resolved.run.id)
    split = "val" if any(r.split == "val" for r in rows) else "eval"
    chosen = [r for r in rows if r.split == split]
    if not chosen:
        raise ConfigError(f"run {resolved.run.id} has no stored validation examples to verify the export on")
    examples = tuple(Example(id=r.example_id, input=r.input, target=r.target, metadata=json.loads(r.metadata_json))
                     for r in chosen)
    return Dataset(name=f"{resolved.run.id}:{split}", examples=examples, source=f"run {resolved.run.id} {split}")


def verify_export(store: Store, run_ref: str, fmt: str, lm: LM | None = None) -> dict[str, Any]:
    """Evaluate the exported prompt with the run's task model and scorer; compare with the stored val accuracy."""
    resolved = resolve(store, run_ref)
    stored = stored_val_accuracy(store, resolved)
    if stored is None:
        raise ConfigError(f"version {resolved.label} has no stored validation score to compare with")
    prompt = sent_text(export_playbook(store, resolved.label, fmt), fmt)
    config = json.loads(resolved.run.config_json)
    models = config.get("models") or {}
    result = evaluate(stored_dataset(store, resolved), prompt, models.get("task") or config.get("model")
                      or DEFAULT_TASK_MODEL, config.get("scorer", "auto"), lm=lm, store=store,
                      name=f"verify {resolved.label} {fmt}", max_tokens=models.get("task_max_tokens")
                      or config.get("max_tokens") or DEFAULT_TASK_MAX_TOKENS)
    interval = result.accuracy
    return {"ref": resolved.label, "format": fmt, "stored": stored, "exported": interval.estimate,
            "low": interval.low, "high": interval.high, "n": interval.n, "eval_run_id": result.run_id,
            "same_within_interval": interval.low - 1e-9 <= stored <= interval.high + 1e-9}
