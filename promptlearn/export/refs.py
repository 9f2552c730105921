"""`RUN` / `RUN@VERSION` references and the stored facts about a version that exports and diffs report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from promptlearn.data.datasets import TOOLS_COLUMN
from promptlearn.errors import ConfigError
from promptlearn.history import playbook_at
from promptlearn.playbook import Playbook
from promptlearn.store import Store
from promptlearn.store.tables import RunRow, VersionRow
from promptlearn.toolcalls import normalize_tools


@dataclass(frozen=True)
class Resolved:
    run: RunRow
    version: VersionRow
    playbook: Playbook

    @property
    def label(self) -> str:
        return f"{self.run.id}@{self.version.number}"


def parse_ref(ref: str, default_run: str | None = None) -> tuple[str, int | None]:
    """`"abc"` -> ("abc", None); `"abc@3"` -> ("abc", 3); `"@3"` -> (default_run, 3)."""
    run, sep, version = ref.strip().partition("@")
    run = run or (default_run or "")
    if not run or (sep and not version.strip().isdigit()):
        raise ConfigError(f"bad reference '{ref}': use RUN or RUN@VERSION (e.g. 3f2a9c1b0d@2)")
    return run, int(version) if sep else None


def resolve(store: Store, ref: str, default_run: str | None = None) -> Resolved:
    run_id, number = parse_ref(ref, default_run)
    run = store.get_run(run_id)
    playbook, chosen = playbook_at(store, run.id, number)
    row = store.get_version(run.id, chosen)
    assert row is not None
    return Resolved(run, row, playbook)


def stored_val_accuracy(store: Store, resolved: Resolved) -> float | None:
    """The version's validation accuracy: its stored `val` score, else the mean of its stored val rollouts."""
    scores = json.loads(resolved.version.scores_json)
    if isinstance(scores.get("val"), int | float):
        return float(scores["val"])
    rollouts = store.rollouts(resolved.run.id, resolved.version.number, split="val")
    if rollouts:
        return sum(r.score for r in rollouts) / len(rollouts)
    summary = json.loads(resolved.run.summary_json)
    if resolved.run.kind == "eval" and isinstance(summary.get("accuracy"), int | float):
        return float(summary["accuracy"])
    return None


def version_scores(store: Store, resolved: Resolved) -> dict[str, Any]:
    """Stored scores of the version, plus the run's test accuracy when this version is the one it measured."""
    scores: dict[str, Any] = dict(json.loads(resolved.version.scores_json))
    val = stored_val_accuracy(store, resolved)
    if val is not None:
        scores.setdefault("val", val)
    summary = json.loads(resolved.run.summary_json)
    number = resolved.version.number
    if summary.get("final_version") == number and isinstance(summary.get("final_test"), dict):
        scores["test"] = summary["final_test"].get("accuracy")
    elif number == 0 and isinstance(summary.get("seed_test"), dict):
        scores["test"] = summary["seed_test"].get("accuracy")
    elif resolved.run.kind == "eval" and "accuracy" in summary:
        scores["eval"] = summary["accuracy"]
    return scores


def run_tools(store: Store, run_id: str) -> list[dict[str, Any]]:
    """The tools the run's stored examples offered the task model (the prompt was tuned for these), each once,
    in the order first met; [] for a run without tools."""
    seen: dict[str, dict[str, Any]] = {}
    for row in store.examples(run_id):
        value = json.loads(row.metadata_json).get(TOOLS_COLUMN)
        for tool in normalize_tools(value) if value is not None else ():
            seen.setdefault(json.dumps(tool, sort_keys=True, ensure_ascii=False), tool)
    return list(seen.values())
