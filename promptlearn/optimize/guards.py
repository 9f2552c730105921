"""The optional guards around the loop (their logic lives in promptlearn/quality): capability cliffs on an
out-of-domain set (`quality.ood_path`) and a reward-hacking audit by a second judge (`quality.audit_judge`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from promptlearn.config import RunConfig
from promptlearn.judging import ExplanatoryJudge
from promptlearn.optimize.setup import Setup
from promptlearn.optimize.versions import Current
from promptlearn.quality.cliffs import CliffCheck, load_ood
from promptlearn.quality.hacking import Auditor
from promptlearn.rollouts import RolloutResult, RolloutRunner


def cliff_check(cfg: RunConfig, setup: Setup, runner: RolloutRunner, evaluate: Callable[..., list[RolloutResult]],
                emit: Callable[[str, dict[str, Any]], None]) -> CliffCheck | None:
    q = cfg.quality
    if q.ood_path is None:
        return None
    return CliffCheck(load_ood(q.ood_path, q.ood_n, cfg.seed), runner, evaluate, setup.store, setup.run_id, emit,
                      cfg.gate.confidence, cfg.seed)


def auditor(cfg: RunConfig, setup: Setup, judge: ExplanatoryJudge,
            emit: Callable[[str, dict[str, Any]], None]) -> Auditor | None:
    q = cfg.quality
    if q.audit_judge is None:
        return None
    second = ExplanatoryJudge(setup.lm("audit"), q.audit_judge, cfg.learn.judge, max_tokens=cfg.models.judge_max_tokens)
    return Auditor(second, judge, setup.store, setup.run_id, q.audit_sample, cfg.seed, emit)


def after_accept(cliffs: CliffCheck | None, audit: Auditor | None, previous: Current, accepted: Current) -> None:
    """An accepted version's out-of-domain score (kept from the gate under ood_block) and its audit against the
    version it replaced."""
    if cliffs:
        cliffs.check(accepted.playbook, accepted.number)
    if audit:
        audit.audit(accepted.playbook.render(), accepted.number, previous.val, accepted.val)
