"""Online learning where the app answers with a label (`outputs_are_labels`): an approved label is the trace's
answer, a rejected one is wrong when given again, traces nobody rated can be left out of the gate
(`unrated: skip`), and traces with a known answer become worked examples the gate never scores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from promptlearn.config import TracesConfig
from promptlearn.data import make_scorer
from promptlearn.judging.judge import RubricJudge
from promptlearn.lm import FakeLM, LMRequest
from promptlearn.playbook import EXAMPLES_SECTION, Playbook
from promptlearn.store import Store
from promptlearn.traces import import_traces
from promptlearn.traces.online import RECORDED, OnlineLearner
from promptlearn.traces.references import REJECTED, trace_example
from promptlearn.traces.scoring import NoLabelScorer
from tests.fakes_task import LABELS
from tests.traces.samples import log_lines
from tests.traces.world import SYSTEM, online_config, production_world, rubric_reply, ticket

CFG = TracesConfig()


def _rows(store: Store, tmp_path: Path, rows: list[dict[str, object]]) -> None:
    import_traces(store, log_lines(tmp_path / "log.jsonl", rows), CFG)


def test_an_approved_label_is_the_answer_and_a_rejected_one_is_wrong_again(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "t.db"))
    _rows(store, tmp_path, [
        {"input": ticket(0), "output": "BILLING", "feedback": {"label": "thumbs_up"}},
        {"input": ticket(1), "output": "BILLING", "feedback": {"label": "thumbs_down"}},
        {"input": ticket(2), "output": "BUG", "feedback": {"label": "thumbs_down", "correction": "ACCOUNT"}},
        {"input": ticket(3), "output": "SHIPPING"}])
    up, down, corrected, unrated = store.traces("default")
    labels = online_config(outputs_are_labels=True)
    assert trace_example(up, labels).target == "BILLING"
    assert trace_example(down, labels).target == "" and trace_example(down, labels).metadata[REJECTED] == "BILLING"
    assert trace_example(corrected, labels).target == "ACCOUNT"
    assert trace_example(unrated, labels).target == "" and REJECTED not in trace_example(unrated, labels).metadata
    # Off (free text): an approved output is one good answer among others, not a target.
    assert trace_example(up, online_config()).target == ""

    asked: list[LMRequest] = []

    def rubric(request: LMRequest) -> str:
        asked.append(request)
        return rubric_reply(request)

    scorer = NoLabelScorer(make_scorer("exact"), RubricJudge(production_world(rubric=rubric), "fake/judge",
                                                             "follows_prompt"), SYSTEM)
    rejected = trace_example(down, labels)
    again = scorer("billing", rejected)
    assert again.value == 0.0 and again.reason.startswith("rejected:") and not asked  # no judge needed
    other = scorer("BUG", rejected)
    assert other.value == 1.0 and other.reason.startswith("rubric") and len(asked) == 1  # another label: judged
    assert scorer("BUG", trace_example(up, labels)).value == 0.0  # against the approved label, by the code


def _labelled_world() -> FakeLM:
    """The task model answers the bare label only when shown worked examples (conversation turns), else a sentence;
    the rewriter proposes nothing, so only the worked-examples candidate can help."""
    def task(request: LMRequest) -> str:
        label = request.messages[-1][1].split(" about ")[-1].upper()
        return label if len(request.messages) > 2 else f"I think this ticket is about {label.lower()}."

    return production_world(rewrites=[json.dumps({"deltas": []})] * 20, task=task)


def _stream(tmp_path: Path, n: int = 24) -> Store:
    """Answers as the seed prompt gives them (bare for every eighth ticket); users rate two in three."""
    rows: list[dict[str, object]] = []
    for i in range(n):
        label = LABELS[i % 4]
        output = label if i % 8 == 0 else f"I think this ticket is about {label.lower()}."
        row: dict[str, object] = {"input": ticket(i), "output": output}
        if i % 3:
            row["feedback"] = {"label": "thumbs_up" if output == label else "thumbs_down"}
        if i % 3 and i % 8 in (3, 5):
            row["feedback"] = {"label": "thumbs_down", "correction": label}
        rows.append(row)
    store = Store(str(tmp_path / "s.db"))
    _rows(store, tmp_path, rows)
    return store


def test_traces_with_a_known_answer_become_worked_examples_never_scored_by_the_gate(tmp_path: Path) -> None:
    store = _stream(tmp_path)  # one batch: the accepted version's rollouts are all from its gate
    cfg = online_config(outputs_are_labels=True, unrated="skip", batch=24, **{"learn.worked_examples": 3})
    result = OnlineLearner(cfg, store, _labelled_world()).run_once()
    accepted = [b.accepted for b in result.batches if b.accepted is not None]
    assert len(result.batches) == 1 and accepted, [b.note for b in result.batches]
    pb = result.playbook
    shown = [b.text for b in pb.bullets if b.section == EXAMPLES_SECTION]
    assert 0 < len(shown) <= 3 and all(t.startswith('Input: "ticket ') for t in shown)
    known = {t.input for t in store.traces("default") if t.correction or (t.label == "thumbs_up")}
    assert all(t.split('"')[1] in known for t in shown)  # only traces whose answer a user gave or approved
    # The gate never scored a candidate on an example it shows; unrated traces were never scored (skip).
    version = store.get_version(result.run_id, accepted[0])
    assert version is not None
    inputs_shown = {b.text.split('"')[1] for b in Playbook.from_json(version.content_json).bullets
                    if b.section == EXAMPLES_SECTION}
    assert inputs_shown
    unrated = {t.key for t in store.traces("default") if t.label is None and not t.correction}
    by_key = {t.key: t.input for t in store.traces("default")}
    cand = [r for r in store.rollouts(result.run_id) if r.version_number == accepted[0]]
    assert cand and not {by_key[r.example_id] for r in cand} & inputs_shown
    scored = [r for r in store.rollouts(result.run_id) if r.version_number != RECORDED]
    assert not {r.example_id for r in scored} & unrated


def test_without_labels_or_corrections_no_examples_are_shown(tmp_path: Path) -> None:
    # Thumbs on free text name no answer: no pool, so no worked-examples candidate (and no version number used).
    store = Store(str(tmp_path / "f.db"))
    _rows(store, tmp_path, [{"input": ticket(i), "output": f"I think this ticket is about {LABELS[i % 4].lower()}.",
                             "feedback": {"label": "thumbs_down"}} for i in range(12)])
    result = OnlineLearner(online_config(), store, _labelled_world()).run_once()
    assert result.version == 0
    assert not [v for v in store.versions(result.run_id) if EXAMPLES_SECTION in Playbook.from_json(
        v.content_json).sections and v.number > 0]


def test_the_worked_example_pool_reads_each_trace_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The pool grows with the stream: each batch reads only the traces imported since the last (a long-running
    # stream would otherwise be read whole once per batch), and never one after the batch it serves.
    store = _stream(tmp_path, n=48)
    reads: list[tuple[int, int]] = []
    real = store.traces

    def spy(stream: str, after: int = 0, limit: int | None = None, through: int | None = None) -> list[Any]:
        if limit is None and through is not None:
            reads.append((after, through))
        return real(stream, after=after, limit=limit, through=through)

    monkeypatch.setattr(store, "traces", spy)
    cfg = online_config(outputs_are_labels=True, unrated="skip", batch=12, **{"learn.worked_examples": 3})
    result = OnlineLearner(cfg, store, _labelled_world()).run_once()
    assert len(result.batches) == 4 and len(reads) >= 2, reads
    assert reads[0][0] == 0 and all(prev[1] == nxt[0] for prev, nxt in zip(reads, reads[1:], strict=False))
    last_of_batch = {b.last_trace for b in result.batches}
    assert all(through in last_of_batch for _after, through in reads)
