"""Store methods for review (a person's decisions on candidates that passed the gate) and the per-version
objectives (accuracy, prompt tokens, cost, latency of a version's rollouts). A mixin of `Store`."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from promptlearn.errors import StoreError
from promptlearn.store.tables import LMCallRow, ReviewRow, RolloutRow, VersionRow

DECISIONS = ("accept", "reject", "edit")


class ReviewRecords:
    def session(self) -> AbstractContextManager[Session]:  # provided by Store
        raise NotImplementedError

    def pending_versions(self, run_id: str) -> list[VersionRow]:
        with self.session() as s:
            return list(s.exec(select(VersionRow).where(VersionRow.run_id == run_id, VersionRow.status == "pending")
                               .order_by(col(VersionRow.number))))

    def review_decision(self, run_id: str, number: int) -> ReviewRow | None:
        """The first decision on version `number` (a decision is final: later ones are refused)."""
        with self.session() as s:
            return s.exec(select(ReviewRow).where(ReviewRow.run_id == run_id, ReviewRow.version_number == number)
                          .order_by(col(ReviewRow.id))).first()

    def review_decisions(self, run_id: str) -> list[ReviewRow]:
        with self.session() as s:
            return list(s.exec(select(ReviewRow).where(ReviewRow.run_id == run_id).order_by(col(ReviewRow.id))))

    def record_review(self, run_id: str, number: int, decision: str, *, bullet_id: str | None = None,
                      text: str = "", reviewer: str = "", note: str = "") -> ReviewRow:
        """A person's decision on pending version `number`, and the version's status to match: accepted,
        rejected, or `edited` (the run validates the edit when it resumes). Only a pending version is reviewed."""
        if decision not in DECISIONS:
            raise StoreError(f"unknown review decision '{decision}' (choose from {', '.join(DECISIONS)})")
        row = ReviewRow(run_id=run_id, version_number=number, decision=decision, bullet_id=bullet_id, text=text,
                        reviewer=reviewer, note=note)
        status = {"accept": "accepted", "reject": "rejected", "edit": "edited"}[decision]
        with self.session() as s:
            version = s.exec(select(VersionRow).where(VersionRow.run_id == run_id,
                                                      VersionRow.number == number)).first()
            if version is None or version.status != "pending":
                state = "no such version" if version is None else f"it is {version.status}"
                raise StoreError(f"run {run_id} v{number} is not pending review ({state})")
            version.status = status
            version.note = f"review: {decision}" + (f" ({note})" if note else "")
            s.add(version)
            s.add(row)
        return row

    def rollout_usage(self, run_id: str, version: int, split: str) -> dict[str, Any]:
        """Mean prompt tokens, cost and latency per rollout of `version` on `split`, from the LM calls that made
        its rollouts (a cached call keeps the tokens, cost and latency of the call that filled the cache)."""
        with self.session() as s:
            query = (select(func.count(), func.avg(LMCallRow.prompt_tokens), func.avg(LMCallRow.cost_usd),
                            func.avg(LMCallRow.latency_s))
                     .select_from(RolloutRow).join(LMCallRow, col(LMCallRow.key) == col(RolloutRow.lm_call_key))
                     .where(RolloutRow.run_id == run_id, RolloutRow.version_number == version,
                            RolloutRow.split == split))
            n, tokens, cost, latency = s.exec(query).one()
        return {"n": n or 0, "prompt_tokens": float(tokens or 0.0), "cost_usd": float(cost or 0.0),
                "latency_s": float(latency or 0.0)}

    def record_scores(self, run_id: str, number: int, scores: dict[str, Any]) -> None:
        """Merge `scores` into version `number`'s stored scores (its objectives), its status unchanged."""
        with self.session() as s:
            row = s.exec(select(VersionRow).where(VersionRow.run_id == run_id, VersionRow.number == number)).one()
            row.scores_json = json.dumps({**json.loads(row.scores_json), **scores}, sort_keys=True)
            s.add(row)
