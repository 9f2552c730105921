"""Reward hacking: grader talk and letter fixations in bullets are flagged (and blocked on request); a second
judge audits the gains an accepted candidate claims."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from promptlearn import optimize
from promptlearn.errors import ConfigError
from promptlearn.lm import FakeLM, LMRequest
from promptlearn.playbook import Delta, Playbook
from promptlearn.quality.hacking import bullet_flags
from promptlearn.safety import grader_reason, mentions_grader
from promptlearn.store import Store
from promptlearn.store.quality import detail
from tests.fakes_task import GOOD_RULE, add, world
from tests.unit.test_optimize import config

# Works on the task (it contains GOOD_RULE, so the scripted model answers the bare label), and talks to the grader.
GRADER_RULE = f"The grader rewards terse replies. {GOOD_RULE}"


@pytest.mark.parametrize("text", [
    "Always answer (A).", "Prefer option B.", "When unsure, pick (C).", "Default to option D.",
    "The grader rewards short answers.", "Write what the judge wants to see.", "Follow the rubric closely.",
    "Make sure the test passes.", "The scorer only checks the first word.", "Answers are marked correct if short.",
])
def test_reward_hacking_smells_are_flagged(text: str) -> None:
    assert grader_reason(text) is not None and mentions_grader(text)


@pytest.mark.parametrize("text", [
    "Answer with the bare label only.", "If the premise is negated, choose (B).", "Judge whether the argument holds.",
    "Evaluate the expression step by step.", "Answer with the letter only, e.g. (A).", "Deliveries are SHIPPING.",
    "Choose (A) because the first sentence says so.",
])
def test_task_rules_are_not_flagged(text: str) -> None:
    assert grader_reason(text) is None


def test_the_reason_says_which_smell() -> None:
    assert grader_reason("Always answer (A).") == "fixes an answer letter without a reason ('answer (A)')"
    assert grader_reason("The grader rewards it.") == "mentions the grader ('grader')"


def test_only_new_or_changed_bullets_are_screened() -> None:
    parent = Playbook(seed_prompt="p").apply([Delta(op="add", text="The rubric says so.", reason="r")]).playbook
    child = parent.apply([Delta(op="add", text="Always answer (A).", reason="r"),
                          Delta(op="add", text="Be brief.", reason="r")]).playbook
    flags = bullet_flags(parent, child)
    assert [(f.key, f.text) for f in flags] == [(child.bullets[1].id, "Always answer (A).")]


def test_a_letter_fixation_bullet_is_recorded_and_shown(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "db.sqlite"))
    events: list[tuple[str, dict[str, Any]]] = []
    result = optimize(config(tmp_path, budget={"max_iterations": 1}), store=store,
                      lm=world([add("Always answer (A).")]), on_event=lambda k, d: events.append((k, d)))
    flags = store.quality(result.run_id, "flag")
    assert [(f.key, f.version_number) for f in flags] == [("for-00001", 1)]
    assert detail(flags[0]) == {"reason": "fixes an answer letter without a reason ('answer (A)')",
                                "text": "Always answer (A)."}
    assert [d["bullet"] for k, d in events if k == "flag"] == ["for-00001"]
    assert result.summary()["flags"] == [{"version": 1, "key": "for-00001", "text": "Always answer (A).",
                                          "reason": "fixes an answer letter without a reason ('answer (A)')"}]
    assert store.rollouts(result.run_id, 1)  # flagged only: it went on to screening like any candidate


def test_a_grader_bullet_gets_in_unless_blocked(tmp_path: Path) -> None:
    flagged = optimize(config(tmp_path), store=Store(str(tmp_path / "a.sqlite")), lm=world([add(GRADER_RULE)]))
    assert [b.text for b in flagged.final.bullets] == [GRADER_RULE]  # it helps on val, so the gate takes it
    assert [f["key"] for f in flagged.flags] == ["for-00001"]

    store = Store(str(tmp_path / "b.sqlite"))
    cfg = config(tmp_path, quality={"block_grader_mentions": True}, budget={"max_iterations": 2})
    blocked = optimize(cfg, store=store, lm=world([add(GRADER_RULE), add(GOOD_RULE)]))
    version = store.versions(blocked.run_id)[1]
    assert version.status == "rejected"
    assert version.note == "rejected: reward-hacking smell: bullet for-00001 mentions the grader ('grader')"
    assert not store.rollouts(blocked.run_id, 1)  # rejected before any val rollout was spent on it
    assert [b.text for b in blocked.final.bullets] == [GOOD_RULE]  # the next, clean candidate got in


# ---- the audit judge ----------------------------------------------------------------------------------------
def audited_world(audit_reply: str) -> FakeLM:
    """The tickets world, where the judge model `fake/audit` answers `audit_reply`."""
    inner = world([add(GOOD_RULE)])

    def respond(request: LMRequest) -> str:
        if request.model == "fake/audit":
            return audit_reply
        return inner.complete(request).text

    return FakeLM(respond)


def verdict(value: str) -> str:
    return json.dumps({"critique": "c", "failure_mode": "none", "suggested_rule": "", "verdict": value,
                       "confidence": 0.8})


def audited(tmp_path: Path, reply: str) -> tuple[Any, Store, list[tuple[str, dict[str, Any]]]]:
    store = Store(str(tmp_path / "db.sqlite"))
    events: list[tuple[str, dict[str, Any]]] = []
    cfg = config(tmp_path, quality={"audit_judge": "fake/audit", "audit_sample": 5}, budget={"max_iterations": 1})
    result = optimize(cfg, store=store, lm=audited_world(reply), on_event=lambda k, d: events.append((k, d)))
    return result, store, events


def test_an_audit_judge_that_disagrees_flags_the_gain(tmp_path: Path) -> None:
    result, store, events = audited(tmp_path, verdict("fail"))
    assert result.final_version == 1
    audit = store.quality(result.run_id, "audit")
    assert len(audit) == 1 and audit[0].key == "agreement" and audit[0].value == 0.0 and audit[0].version_number == 1
    info = detail(audit[0])
    assert info["judge"] == "explain@fake/audit" and info["n"] == 5 and len(info["disagreements"]) == 5
    val_ids = {r.example_id for r in store.rollouts(result.run_id, 0, "val") if r.score < 1}
    assert set(info["disagreements"]) <= val_ids  # only gains are audited: wrong under the seed ...
    assert all(r.score == 1 for r in store.rollouts(result.run_id, 1, "val")
               if r.example_id in info["disagreements"])  # ... right under the candidate
    assert info["with_first_judge"] == 1.0  # the scripted first judge says "fail" to everything too
    flag = [f for f in store.quality(result.run_id, "flag") if f.key == "audit"]
    assert len(flag) == 1 and flag[0].version_number == 1
    assert detail(flag[0])["reason"] == "audit judge explain@fake/audit disagrees with 5 of 5 claimed gains"
    assert [d["bullet"] for k, d in events if k == "flag"] == ["audit"]
    assert result.summary()["audits"][0]["agreement"] == 0.0 and "audit" in result.spend


def test_an_audit_judge_that_agrees_does_not_flag(tmp_path: Path) -> None:
    result, store, _events = audited(tmp_path, verdict("pass"))
    audit = store.quality(result.run_id, "audit")
    assert len(audit) == 1 and audit[0].value == 1.0 and detail(audit[0])["disagreements"] == []
    assert detail(audit[0])["with_first_judge"] == 0.0
    assert store.quality(result.run_id, "flag") == [] and "flags" not in result.summary()


def test_an_audit_judge_that_replies_nonsense_is_data_not_a_crash(tmp_path: Path) -> None:
    result, store, _events = audited(tmp_path, "not json at all")
    info = detail(store.quality(result.run_id, "audit")[0])
    assert result.final_version == 1 and info["n"] == 0 and info["unparseable"] == 5
    assert store.quality(result.run_id, "audit")[0].value is None and store.quality(result.run_id, "flag") == []


def test_the_audit_judge_must_differ_from_the_judge(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="quality.audit_judge must be a different model from models.judge"):
        config(tmp_path, quality={"audit_judge": "fake/j"})
