"""Stated confidence: elicited at rollout time, split off before scoring, stored, and reported as Brier / ECE."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from promptlearn import optimize
from promptlearn.data import Example, make_scorer
from promptlearn.lm import FakeLM, LMRequest
from promptlearn.optimize.gate import GateResult, calibration_gate
from promptlearn.quality.calibration import CONFIDENCE_INSTRUCTION, MISSING_NOTE, brier_regression
from promptlearn.rollouts import RolloutRunner
from promptlearn.store import Store
from promptlearn.store.quality import detail
from tests.fakes_task import GOOD_RULE, add, task_answer, world_with
from tests.unit.test_optimize import config

OVERCONFIDENT = "Answer with a bare label, and be sure of it."
LABELS = ("BILLING", "BUG", "ACCOUNT", "SHIPPING")


def _number(request: LMRequest) -> int:
    return int(request.messages[-1][1].split()[1])


def _label(request: LMRequest) -> str:
    return request.messages[-1][1].split(" about ")[-1].upper()


def _world(rewrites: list[str], stated: Callable[[str, str, int], str | None]) -> FakeLM:
    """The scripted tickets world with a confidence line after each answer: `stated(answer, label, number)`, or
    none when it returns None. Under OVERCONFIDENT the model answers right on 7 of 10 tickets, sure every time."""

    def respond(request: LMRequest) -> str:
        system, number, label = request.messages[0][1], _number(request), _label(request)
        if OVERCONFIDENT in system:
            wrong = LABELS[(LABELS.index(label) + 1) % 4]
            return f"{label if number % 10 < 7 else wrong}\nConfidence: 1.0"
        answer = task_answer(request)
        confidence = stated(answer, label, number)
        return answer if confidence is None else f"{answer}\nConfidence: {confidence}"

    return world_with(respond, rewrites)


def confident_world(rewrites: list[str]) -> FakeLM:
    """0.9 when the answer is the bare label (right), 0.6 when not, and nothing on every fifth ticket."""
    return _world(rewrites, lambda answer, label, number: None if number % 5 == 0 else
                  ("0.9" if answer == label else "0.6"))


def calibrated_world(rewrites: list[str]) -> FakeLM:
    """A perfectly calibrated seed: 1.0 when right, 0.0 when wrong."""
    return _world(rewrites, lambda answer, label, _number: "1.0" if answer == label else "0.0")


# ---- rollouts -----------------------------------------------------------------------------------------------
def test_the_confidence_line_is_split_off_before_scoring_and_stored(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "db.sqlite"))
    run_id = store.create_run("eval", "t", {})
    lm = FakeLM(["BUG\nConfidence: 0.75", "BUG", "BILLING\nconfidence: 80%"])
    runner = RolloutRunner(lm, "fake/task", make_scorer("label:BILLING,BUG"), store, run_id, confidence=True,
                           confidence_mode="inline", max_tokens=96)
    examples = [Example(str(i), f"ticket {i}", "BUG") for i in range(3)]
    results = runner.run("Route the ticket.", examples, 0, "test")
    assert [r.output for r in results] == ["BUG", "BUG", "BILLING"]
    assert [r.confidence for r in results] == [0.75, None, 0.8]
    assert [r.score for r in results] == [1.0, 1.0, 0.0]  # the strict label scorer never saw the confidence line
    assert [r.confidence for r in store.rollouts(run_id)] == [0.75, None, 0.8]
    assert lm.calls[0].messages[0][1] == f"Route the ticket.\n\n{CONFIDENCE_INSTRUCTION}"
    again = runner.run("Route the ticket.", examples, 0, "test")  # stored rollouts come back with their confidence
    assert all(r.reused for r in again) and [r.confidence for r in again] == [0.75, None, 0.8]


def test_followup_mode_asks_after_the_answer_and_leaves_the_answer_alone(tmp_path: Path) -> None:
    from promptlearn.quality.calibration import FOLLOWUP_QUESTION

    def model(request):  # type: ignore[no-untyped-def]
        last = request.messages[-1][1]
        if last == FOLLOWUP_QUESTION:
            answer = request.messages[-2][1]
            return {"BUG": "0.9", "BILLING": "I'd say 30%"}.get(answer, "no idea")
        return {"ticket 0": "BUG", "ticket 1": "BILLING", "ticket 2": "UNSURE"}[last]

    store = Store(str(tmp_path / "db.sqlite"))
    run_id = store.create_run("eval", "t", {})
    lm = FakeLM(model)
    runner = RolloutRunner(lm, "fake/task", make_scorer("label:BILLING,BUG"), store, run_id, confidence=True,
                           max_tokens=96)
    examples = [Example(str(i), f"ticket {i}", "BUG") for i in range(3)]
    results = runner.run("Route the ticket.", examples, 0, "test")
    assert [r.output for r in results] == ["BUG", "BILLING", "UNSURE"]
    assert [r.confidence for r in results] == [0.9, 0.3, None]
    assert [r.score for r in results] == [1.0, 0.0, 0.0]
    answers = [c for c in lm.calls if c.messages[-1][1] != FOLLOWUP_QUESTION]
    assert [c.messages[0][1] for c in answers] == ["Route the ticket."] * 3  # the answer's prompt is unchanged
    assert len(lm.calls) == 6 and [r.confidence for r in store.rollouts(run_id)] == [0.9, 0.3, None]


def test_without_confidence_the_reply_is_scored_as_it_is(tmp_path: Path) -> None:
    lm = FakeLM(["BUG\nConfidence: 0.75"])
    runner = RolloutRunner(lm, "fake/task", make_scorer("label:BILLING,BUG"), max_tokens=96)
    result = runner.run("Route the ticket.", [Example("1", "ticket 1", "BUG")], 0, "test")[0]
    assert result.confidence is None and result.output == "BUG\nConfidence: 0.75" and result.score == 0.0
    assert lm.calls[0].messages[0][1] == "Route the ticket."


# ---- the run summary ----------------------------------------------------------------------------------------
def _by_hand(store: Store, run_id: str, version: int, split: str) -> tuple[float, float, int, int]:
    """Brier and 10-bin ECE from the stored rollouts, written out: the world states only 0.9 and 0.6."""
    rows = store.rollouts(run_id, version, split)
    stated = [(r.confidence, r.score >= 1.0) for r in rows if r.confidence is not None]
    brier = sum((c - ok) ** 2 for c, ok in stated) / len(stated)
    ece = 0.0
    for level in (0.9, 0.6):
        members = [ok for c, ok in stated if c == level]
        if members:
            ece += len(members) / len(stated) * abs(sum(members) / len(members) - level)
    return brier, ece, len(rows), len(stated)


def test_brier_and_ece_of_seed_and_final_match_a_hand_computation(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "db.sqlite"))
    cfg = config(tmp_path, quality={"confidence_mode": "inline",
                 "confidence": True})
    result = optimize(cfg, store=store, lm=confident_world([add(GOOD_RULE)]))
    assert result.final_version == 1 and result.final_test.accuracy.estimate == 1.0
    assert CONFIDENCE_INSTRUCTION not in result.final.render()  # the playbook never carries the instruction
    calibration = result.summary()["calibration"]
    assert calibration["note"] == MISSING_NOTE
    for name, version, split in (("seed_test", 0, "test"), ("seed_val", 0, "val"), ("final_test", 1, "test"),
                                 ("final_val", 1, "val")):
        brier, ece, n, stated = _by_hand(store, result.run_id, version, split)
        got = calibration[name]
        assert got["brier"] == pytest.approx(brier) and got["ece"] == pytest.approx(ece), name
        assert (got["n"], got["stated"]) == (n, stated) and stated < n  # every fifth ticket stated nothing
        assert got["brier_low"] <= got["brier"] <= got["brier_high"]
    # The final version answers every test ticket right at 0.9: Brier 0.01, ECE 0.1.
    assert calibration["final_test"]["brier"] == pytest.approx(0.01)
    assert calibration["final_test"]["ece"] == pytest.approx(0.1)
    assert calibration["seed_test"]["brier"] > 0.2  # mostly wrong at 0.6
    records = {(r.key, r.version_number, detail(r)["split"]): (r.value, detail(r))
               for r in store.quality(result.run_id, "calibration")}
    assert len(records) == 8  # brier and ece, seed and final, test and val
    value, info = records[("brier", 1, "test")]
    assert value == pytest.approx(0.01) and info["n"] == 20 and info["stated"] == calibration["final_test"]["stated"]
    assert info["low"] <= value <= info["high"]
    assert json.loads(store.get_run(result.run_id).summary_json)["calibration"]["final_test"]["brier"] == value


def test_a_run_where_no_rollout_states_a_confidence_reports_none_not_half(tmp_path: Path) -> None:
    from tests.fakes_task import world

    result = optimize(config(tmp_path, quality={"confidence_mode": "inline",
                 "confidence": True}), store=Store(str(tmp_path / "d.sqlite")),
                      lm=world([add(GOOD_RULE)]))
    seed = result.calibration["seed_test"]
    assert seed["stated"] == 0 and seed["n"] == 20 and seed["brier"] is None and seed["ece"] is None


def test_confidence_off_changes_nothing(tmp_path: Path) -> None:
    from tests.fakes_task import world

    off_store, on_store = Store(str(tmp_path / "off.sqlite")), Store(str(tmp_path / "on.sqlite"))
    off_lm = world([add(GOOD_RULE)])
    off = optimize(config(tmp_path), store=off_store, lm=off_lm)
    on = optimize(config(tmp_path, quality={"confidence_mode": "inline",
                 "confidence": True}), store=on_store, lm=world([add(GOOD_RULE)]))
    assert "calibration" not in off.summary() and "calibration" in on.summary()
    assert not any(CONFIDENCE_INSTRUCTION in req.messages[0][1] for req in off_lm.calls)
    assert all(r.confidence is None for r in off_store.rollouts(off.run_id))
    assert off_store.quality(off.run_id, "calibration") == []
    # The model ignores the instruction here, so everything learned is the same.
    assert (off.final.render(), off.final_test.accuracy, off.rollouts) == (on.final.render(), on.final_test.accuracy,
                                                                            on.rollouts)


# ---- the calibration gate -----------------------------------------------------------------------------------
def test_the_calibration_gate_rejects_an_overconfident_candidate(tmp_path: Path) -> None:
    cfg = config(tmp_path, quality={"confidence_mode": "inline",
                 "confidence": True, "calibration_gate": True}, budget={"max_iterations": 1})
    store = Store(str(tmp_path / "db.sqlite"))
    result = optimize(cfg, store=store, lm=calibrated_world([add(OVERCONFIDENT)]))
    gate = store.gate_decisions(result.run_id)[0]
    assert not gate.accepted and gate.diff > 0.4 and gate.low > 0  # more accurate, beyond noise ...
    assert gate.reason.startswith("rejected: val Brier score worse beyond noise (0.000 -> 0.")  # ... but overconfident
    assert result.final_version == 0


def test_without_the_calibration_gate_the_overconfident_candidate_gets_in(tmp_path: Path) -> None:
    cfg = config(tmp_path, quality={"confidence_mode": "inline",
                 "confidence": True}, budget={"max_iterations": 1})
    result = optimize(cfg, store=Store(str(tmp_path / "db.sqlite")), lm=calibrated_world([add(OVERCONFIDENT)]))
    assert result.final_version == 1
    assert result.calibration["seed_val"]["brier"] == 0.0 and result.calibration["final_val"]["brier"] > 0.15


def test_brier_regression_needs_both_confidences_and_a_real_worsening() -> None:
    base = [(1.0, True), (0.0, False), (None, True), (1.0, True)] * 5
    worse = [(0.0, True), (1.0, False), (1.0, True), (0.0, True)] * 5
    assert brier_regression(base, base, 0.9, 0) is None
    reason = brier_regression(base, worse, 0.9, 0)
    assert reason is not None and "over 15 examples where both stated a confidence" in reason
    assert brier_regression(base[:1], worse[:1], 0.9, 0) is None  # one pair tells nothing

    class R:
        def __init__(self, confidence: float | None, correct: bool):
            self.confidence, self.correct = confidence, correct

    accepted = GateResult(True, 0.2, 0.1, 0.3, 0.01, 20, 4, 0, "gain")
    gated = calibration_gate(accepted, [R(*p) for p in base], [R(*p) for p in worse], 0.9, 0)
    assert not gated.accepted and gated.reason == reason and gated.diff == 0.2
