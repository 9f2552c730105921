"""The store's words for the learning loop: each write is idempotent, so a resumed run writes nothing twice."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from promptlearn.playbook import Delta, Playbook
from promptlearn.store import Store


@dataclass(frozen=True)
class Gate:
    accepted: bool
    diff: float = 0.1
    low: float = 0.02
    high: float = 0.2
    p_value: float = 0.01
    n: int = 20
    reason: str = "gain +0.100"


def test_a_committed_version_and_its_deltas_are_stored_once(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "db.sqlite"))
    run = store.create_run("optimize", "t", {})
    seed = Playbook(seed_prompt="Route the ticket.")
    store.commit_version(run, 0, seed, status="seed")
    delta = Delta(op="add", section="rules", text="Refunds are BILLING.", reason="r", evidence=["r1"])
    outcomes = [(delta, True, ""), (delta, False, "a duplicate")]
    first = store.commit_version(run, 1, seed, status="candidate", parent=0, iteration=1, outcomes=outcomes, note="n")
    again = store.commit_version(run, 1, seed, status="candidate", parent=0, iteration=1, outcomes=outcomes)
    assert again.id == first.id and again.note == "n"
    assert [(d.applied, d.note) for d in store.deltas(run, 1)] == [(True, ""), (False, "a duplicate")]
    store.record_rejection(run, 1, "rejected: screening")
    version = store.get_version(run, 1)
    assert version is not None and (version.status, version.note) == ("rejected", "rejected: screening")
    store.accept_version(run, 0)
    assert [v.status for v in store.versions(run)] == ["accepted", "rejected"]


def test_a_gate_decision_is_recorded_once_with_the_status_it_implies(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "db.sqlite"))
    run = store.create_run("optimize", "t", {})
    playbook = Playbook(seed_prompt="p")
    for number in (1, 2):
        store.commit_version(run, number, playbook, status="candidate", parent=0)
    store.record_gate_decision(run, 1, 0, Gate(True), 0.75)
    store.record_gate_decision(run, 1, 0, Gate(True), 0.75)  # a resumed run decides again, identically
    store.record_gate_decision(run, 2, 0, Gate(False, reason="rejected: no gain"), 0.5)
    assert [(g.version_number, g.accepted) for g in store.gate_decisions(run)] == [(1, True), (2, False)]
    one, two = store.get_version(run, 1), store.get_version(run, 2)
    assert one is not None and (one.status, one.scores_json) == ("candidate", '{"val": 0.75}')
    assert two is not None and (two.status, two.note, two.scores_json) == ("rejected", "rejected: no gain",
                                                                           '{"val": 0.5}')
