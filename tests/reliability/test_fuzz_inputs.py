"""Bad input, fuzzed: configs, run files, datasets, templates, rubrics and model replies. Every case must end in
a result, a `PromptlearnError` with a message, or a recorded failure (an unparseable verdict, a failed
proposal): never a traceback. Each test prints and records how many cases it tried."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from promptlearn import templates
from promptlearn.config import RunConfig, load_config, validate
from promptlearn.data import Dataset, Example, load_dataset
from promptlearn.errors import PromptlearnError
from promptlearn.judging import ExplanatoryJudge
from promptlearn.lm import FakeLM
from promptlearn.optimize.rewriter import Evidence, Rewriter
from promptlearn.playbook import Delta, Playbook

pytestmark = pytest.mark.reliability

CASES = 150
FUZZ = settings(max_examples=CASES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

# ---- strategies -----------------------------------------------------------------------------------------------
FIELDS = ["name", "system_prompt", "dataset", "scorer", "models", "budget", "gate", "learn", "seed", "preset",
          "path", "input", "target", "metadata", "id", "limit", "train", "val", "test", "task", "judge",
          "concurrency", "max_iterations", "max_cost_usd", "patience", "method", "confidence", "batch_size",
          "candidates", "mode", "temperature", "quick", "demo"]
scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=10**20) | st.floats()
           | st.text(max_size=20) | st.sampled_from(FIELDS))
keys = st.sampled_from(FIELDS) | st.text(max_size=8)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                      max_leaves=12)
config_dicts = st.dictionaries(keys, values, max_size=6)

YAML_BITS = ["name: ", "preset: ", "dataset:\n  ", "budget: {", "}", "[", "]", "- ", ": ", "\n", "  ", "&a ", "*a",
             "!!binary ", "!!set ", "!!python/object:os.system ", "!!int ", "2001-13-01", "2001-02-30 25:61:00",
             "1e999", ".nan", "0x", "~", "'", '"', "\\", "#", "%YAML 1.1\n", "---\n", "...\n", "? ", "|\n", ">\n",
             "\t", "\x00", "\ufeff", "é", "quick", "max_iterations: -1", "concurrency: 9999", "seed: 1.5"]
yaml_text = (st.lists(st.sampled_from(YAML_BITS) | st.text(max_size=12), max_size=25).map("".join)
             | config_dicts.map(lambda d: json.dumps(d, default=str)))

JINJA_BITS = ["{{", "}}", "{%", "%}", "{#", "#}", "input", "output", "target", " | ", "fence", "upper", "length",
              "int", "truncate(3)", "1/0", "'a' + 1", "'%s %s' % 1", "input()", "include 'x'", "extends 'x'",
              "import 'x' as y", "__class__", "__globals__", "mro()", ".", "[", "]", "(", ")", "for x in input",
              "endfor", "if", "endif", "else", "set y = 1", "macro m()", "endmacro", "raw", "endraw", "loop.index",
              "undefined_name", "'", '"', "\n", " ", ",", "~", "-", "+", "not", "and", "in", "is", "defined",
              "e", "b", "x", "y", "1", "0"]
template_text = st.lists(st.sampled_from(JINJA_BITS) | st.text(max_size=6), max_size=30).map("".join)

JSON_BITS = ['{"', '"}', "{", "}", "[", "]", ":", ",", '"verdict"', '"pass"', '"fail"', '"critique"',
             '"confidence"', '"failure_mode"', '"deltas"', '"op"', '"add"', '"update"', '"remove"', '"text"',
             '"reason"', '"section"', '"bullet_id"', '"evidence"', "null", "true", "1e999", "NaN", "-Infinity",
             "1" * 5000, "```json\n", "```", "\n", " ", "Here is my answer: "]
judge_fields = st.fixed_dictionaries({}, optional={
    "critique": values, "failure_mode": st.sampled_from(["wrong_format", "verbose", "nope"]) | values,
    "suggested_rule": values, "verdict": st.sampled_from(["pass", "fail", "PASS", "maybe"]) | values,
    "confidence": values})
delta_items = st.fixed_dictionaries({}, optional={
    "op": st.sampled_from(["add", "update", "remove", "explode"]) | values,
    "section": values, "bullet_id": st.sampled_from(["", "for-00001", "[for-00001]"]) | values,
    "text": values, "reason": values, "evidence": values})
replies = (st.text(max_size=200)
           | st.lists(st.sampled_from(JSON_BITS) | st.text(max_size=8), max_size=30).map("".join)
           | judge_fields.map(json.dumps)
           | st.lists(delta_items, max_size=4).map(lambda ds: json.dumps({"deltas": ds}))
           | delta_items.map(json.dumps))


# ---- the outcome every case must have -------------------------------------------------------------------------
class Tally:
    def __init__(self) -> None:
        self.counts = {"ok": 0, "user error": 0}

    def run(self, call: Callable[[], Any]) -> Any:
        try:
            result = call()
        except PromptlearnError as exc:
            assert str(exc).strip(), f"{type(exc).__name__} without a message"
            self.counts["user error"] += 1
            return None
        self.counts["ok"] += 1
        return result

    def report(self, what: str, record_property: Callable[[str, Any], None]) -> None:
        total = sum(self.counts.values())
        print(f"fuzz {what}: {total} cases ({', '.join(f'{n} {k}' for k, n in self.counts.items())})")
        record_property(f"cases_{what}", total)


@pytest.fixture
def tally(request: pytest.FixtureRequest, record_property) -> Iterator[Tally]:  # type: ignore[no-untyped-def]
    counter = Tally()
    yield counter
    counter.report(request.node.name.removeprefix("test_"), record_property)


# ---- configs --------------------------------------------------------------------------------------------------
@FUZZ
@given(data=config_dicts | values)
@example(data={"preset": ["quick"]})
@example(data={"preset": {"quick": 1}})
@example(data={"budget": {"max_cost_usd": float("nan")}, "gate": {"confidence": float("inf")}})
def test_configs(tally: Tally, data: Any) -> None:
    config = tally.run(lambda: validate(data, source="fuzz"))
    assert config is None or isinstance(config, RunConfig)


@FUZZ
@given(text=yaml_text, raw=st.none() | st.binary(max_size=200))
@example(text="name: 2001-13-01\n", raw=None)
@example(text="seed: " + "[" * 3000, raw=None)
@example(text="preset: [quick]\n", raw=None)
@example(text="", raw=b"name: caf\xe9\n")
def test_run_files(tally: Tally, tmp_path: Path, text: str, raw: bytes | None) -> None:
    path = tmp_path / "run.yaml"
    path.write_bytes(raw if raw is not None else text.encode("utf-8", "surrogatepass"))
    config = tally.run(lambda: load_config(path))
    assert config is None or isinstance(config, RunConfig)


# ---- datasets -------------------------------------------------------------------------------------------------
COLUMNS = ["input", "target", "id", "meta", "", " input ", "text"]
rows = st.lists(st.dictionaries(st.sampled_from(COLUMNS) | st.text(max_size=5), values, max_size=5), max_size=6)


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "\n".join(json.dumps(r, default=str, ensure_ascii=False) for r in rows).encode("utf-8", "surrogatepass")


def csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    header = sorted({k for r in rows for k in r})
    writer = csv.writer(out)
    writer.writerow(header)
    for r in rows:
        writer.writerow([r.get(k, "") for k in header])
    return out.getvalue().encode("utf-8", "surrogatepass")


column = st.sampled_from(COLUMNS)
mappings = st.fixed_dictionaries({}, optional={"input": column, "target": column, "id": column,
                                               "metadata": st.lists(column, max_size=2)})
dataset_bytes = st.one_of(
    st.binary(max_size=300),
    st.tuples(rows, st.sampled_from([jsonl, csv_bytes])).map(lambda t: t[1](t[0])),
    st.tuples(rows, st.binary(max_size=20), st.integers(0, 400)).map(
        lambda t: jsonl(t[0])[: t[2]] + t[1] + jsonl(t[0])[t[2]:]),
    st.sampled_from([b"", b"\n\n", b"\xef\xbb\xbf", b"input,target\n", b"\xff\xfe{}\n", b"[1, 2]\n", b"null\n"]))


@FUZZ
@given(content=dataset_bytes, suffix=st.sampled_from([".jsonl", ".csv", ".txt"]), mapping=mappings)
@example(content=b'{"input": 1' + b"1" * 5000 + b', "target": "x"}\n', suffix=".jsonl", mapping={})
@example(content=b'{"input": ' + b"[" * 100_000 + b"]" * 100_000 + b', "target": "x"}\n', suffix=".jsonl",
         mapping={})
@example(content=b'{"input": "' + b"a" * 1_000_000 + b'", "target": "x"}\n', suffix=".jsonl", mapping={})
@example(content=b"input,target\n" + b"a" * 1_000_000 + b",x\n", suffix=".csv", mapping={})
@example(content=b"input,target\n\xe9t\xe9,x\n", suffix=".csv", mapping={})
@example(content=b"input,target\n\"a\x00\",x\n", suffix=".csv", mapping={})
def test_datasets(tally: Tally, tmp_path: Path, content: bytes, suffix: str, mapping: dict[str, Any]) -> None:
    path = tmp_path / f"data{suffix}"
    path.write_bytes(content)
    dataset = tally.run(lambda: load_dataset(path, **mapping))
    assert dataset is None or (isinstance(dataset, Dataset) and len(dataset) > 0)


cell = st.text(max_size=30).filter(lambda s: "\x00" not in s)


@FUZZ
@given(records=st.lists(st.tuples(cell, cell).filter(lambda r: any(c.strip() for c in r)), min_size=1, max_size=8),
       suffix=st.sampled_from([".jsonl", ".csv"]))
@example(records=[("line\u2028separator", "x"), ("next\x85line\x1c", "y")], suffix=".jsonl")
@example(records=[("a\r\nb", "x")], suffix=".csv")
def test_valid_rows_load_back_exactly(tally: Tally, tmp_path: Path, records: list[tuple[str, str]],
                                      suffix: str) -> None:
    rows = [{"input": i, "target": t} for i, t in records]
    path = tmp_path / f"data{suffix}"
    path.write_bytes(jsonl(rows) if suffix == ".jsonl" else csv_bytes(rows))
    dataset = tally.run(lambda: load_dataset(path))
    assert dataset is not None and [(e.input, e.target) for e in dataset] == records


# ---- templates and rubrics ------------------------------------------------------------------------------------
@FUZZ
@given(text=template_text, raw=st.none() | st.binary(max_size=50))
@example(text="{{ 1/0 }}", raw=None)
@example(text="{% include 'other.j2' %}", raw=None)
@example(text="{{ range(100000000) | list }}", raw=None)
@example(text="{{" + "(" * 2000 + "1" + ")" * 2000 + "}}", raw=None)
@example(text="{{ ''.__class__.__mro__[1].__subclasses__() }}", raw=None)
@example(text="", raw=b"\xff\xfe{{ input }}")
def test_templates(tally: Tally, tmp_path: Path, text: str, raw: bytes | None) -> None:
    path = tmp_path / "mine.j2"
    path.write_bytes(raw if raw is not None else text.encode("utf-8", "surrogatepass"))
    rendered = tally.run(lambda: templates.render(str(path), input="in", output="out", target="t"))
    assert rendered is None or isinstance(rendered, str)


criteria = st.lists(st.fixed_dictionaries({}, optional={"id": values, "description": values}) | values, max_size=4)


@FUZZ
@given(text=yaml_text | criteria.map(json.dumps) | criteria.map(lambda c: json.dumps({"criteria": c})),
       raw=st.none() | st.binary(max_size=50))
@example(text="- id: 2001-13-01\n  description: x\n", raw=None)
@example(text="", raw=b"- id: caf\xe9\n  description: x\n")
def test_rubrics(tally: Tally, tmp_path: Path, text: str, raw: bytes | None) -> None:
    path = tmp_path / "rubric.yaml"
    path.write_bytes(raw if raw is not None else text.encode("utf-8", "surrogatepass"))
    loaded = tally.run(lambda: templates.load_rubric(str(path)))
    assert loaded is None or all(set(c) == {"id", "description"} for c in loaded)


# ---- model replies --------------------------------------------------------------------------------------------
@FUZZ
@given(reply=replies, data=st.text(max_size=60))
@example(reply='{"verdict": "pass", "confidence": 1' + "0" * 400 + "}", data="x")
@example(reply='{"verdict": 1' + "1" * 5000 + "}", data="x")
@example(reply='{"verdict": "fail", "critique": ' + "[" * 100_000 + "}", data="x")
def test_judge_replies(tally: Tally, reply: str, data: str) -> None:
    judge = ExplanatoryJudge(FakeLM(lambda _req: reply), "fake/judge")
    verdict = tally.run(lambda: judge.judge("Route the ticket.", Example("e1", data, "BUG"), data))
    assert verdict is not None and verdict.verdict in ("pass", "fail", "unparseable")
    assert verdict.parsed or verdict.critique.startswith("judge reply unparseable")
    assert verdict.confidence is None or 0.0 <= verdict.confidence <= 1.0


PLAYBOOK = Playbook(seed_prompt="Route the ticket.").apply(
    [Delta(op="add", section="formatting", text="Answer with the bare label.", reason="r")]).playbook


@FUZZ
@given(reply=replies, mode=st.sampled_from(["deltas", "add_only", "full_rewrite"]), data=st.text(max_size=60))
@example(reply='{"deltas": [' + "1" * 5000 + "]}", mode="deltas", data="x")
@example(reply='{"deltas": ' + "[" * 3000 + "}", mode="deltas", data="x")  # deeper than the recursion limit
@example(reply='{"prompt": ' + "[" * 100_000 + "}", mode="full_rewrite", data="x")
def test_rewriter_replies(tally: Tally, reply: str, mode: str, data: str) -> None:
    rewriter = Rewriter(FakeLM(lambda _req: reply), "fake/rewriter", mode=mode)
    failures = [Evidence("r1", data, data, "BUG", data, data)]
    proposal = tally.run(lambda: rewriter.propose(PLAYBOOK, failures, failures, seed=1))
    assert proposal is not None
    assert proposal.ok or (proposal.error and not proposal.deltas and proposal.prompt is None)
    assert proposal.ok == bool(proposal.deltas or proposal.prompt)
