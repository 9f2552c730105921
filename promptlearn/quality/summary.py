"""The quality part of a run's result: calibration of seed and final (measured and stored here), and the
out-of-domain scores, flags and audits the loop stored as it went."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from promptlearn.config import RunConfig
from promptlearn.quality.calibration import MISSING_NOTE, calibration_summary
from promptlearn.quality.cliffs import ood_summary
from promptlearn.quality.hacking import audits_summary, flags_summary
from promptlearn.quality.records import record_once
from promptlearn.rollouts import RolloutResult
from promptlearn.store import Store

Measured = tuple[int, str, Sequence[RolloutResult]]  # version, split, its rollouts


def calibration_report(store: Store, run_id: str, measured: Mapping[str, Measured], seed: int) -> dict[str, Any]:
    """Brier score and ECE for each (version, split), stored as `calibration` records (key brier / ece)."""
    report: dict[str, Any] = {"note": MISSING_NOTE}
    for name, (version, split, results) in measured.items():
        if not results:  # e.g. the final test was cut by the budget
            continue
        summary = calibration_summary([r.confidence for r in results], [r.correct for r in results], seed=seed)
        report[name] = {"version": version, "split": split, **summary}
        for key in ("brier", "ece"):
            record_once(store, run_id, "calibration", key, summary[key], version, split=split, n=summary["n"],
                        stated=summary["stated"], low=summary[f"{key}_low"], high=summary[f"{key}_high"])
    return report


def quality_fields(cfg: RunConfig, store: Store, run_id: str, final_version: int,
                   measured: Mapping[str, Measured]) -> dict[str, Any]:
    """Keyword fields for `OptimizeResult`; each is empty (and left out of the summary) when its check is off."""
    quality = cfg.quality
    return {
        "calibration": calibration_report(store, run_id, measured, cfg.seed) if quality.confidence else {},
        "ood": ood_summary(store, run_id, final_version) if quality.ood_path else {},
        "flags": flags_summary(store, run_id),
        "audits": audits_summary(store, run_id) if quality.audit_judge else [],
    }
