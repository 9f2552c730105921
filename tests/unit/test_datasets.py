"""Datasets: loading, column mapping, name resolution, every user-facing error, and deterministic splits."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptlearn.data import Dataset, Example, bundled_dir, list_bundled_datasets, load_dataset
from promptlearn.data.paths import SHARED_DATA_ENV
from promptlearn.errors import ConfigError, DatasetError

REPO = Path(__file__).resolve().parents[2]
SHARED_BBH = REPO.parent / "shared" / "data" / "bbh"
LABELS = {"BILLING", "BUG", "ACCOUNT", "SHIPPING"}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(path: Path, rows: list[object]) -> Path:
    return write(path, "".join(json.dumps(row) + "\n" for row in rows))


def make_dataset(n: int) -> Dataset:
    examples = tuple(Example(id=f"d:{i}", input=f"q{i}", target=str(i)) for i in range(n))
    return Dataset(name="d", examples=examples, source="memory")


# --- loading ---------------------------------------------------------------------------------------------------


def test_jsonl_loads_with_line_number_ids_and_skips_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "qa.jsonl", '{"input": "a", "target": "x"}\n\n   \n{"input": "b", "target": 3}\n')
    data = load_dataset(path)
    assert data.name == "qa"
    assert data.source == str(path)
    assert [e.id for e in data] == ["qa:1", "qa:4"]
    assert [(e.input, e.target) for e in data] == [("a", "x"), ("b", "3")]


def test_numbers_and_nested_values_become_text(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "n.jsonl", [{"input": {"q": 1}, "target": 2.5}, {"input": ["a"], "target": True}])
    data = load_dataset(path)
    assert [(e.input, e.target) for e in data] == [('{"q": 1}', "2.5"), ('["a"]', "True")]


def test_column_mapping_id_metadata_limit_and_name(tmp_path: Path) -> None:
    rows = [{"q": f"question {i}", "a": f"answer {i}", "uid": f"u{i}", "topic": "t", "extra": 1} for i in range(5)]
    path = jsonl(tmp_path / "mapped.jsonl", rows)
    data = load_dataset(path, input="q", target="a", id="uid", metadata=["topic"], limit=3, name="mine")
    assert data.name == "mine"
    assert len(data) == 3
    first = data.examples[0]
    assert first == Example(id="u0", input="question 0", target="answer 0", metadata={"topic": "t"})


def test_csv_mapping_with_bom_and_line_numbers(tmp_path: Path) -> None:
    text = '\ufeffquestion,answer,topic\nWhat is 2+2?,4,math\n"Hello, world",hi,greeting\n'
    path = write(tmp_path / "qa.csv", text)
    data = load_dataset(path, input="question", target="answer", metadata=["topic"])
    assert [e.id for e in data] == ["qa:2", "qa:3"]
    assert data.examples[1].input == "Hello, world"
    assert data.examples[1].metadata == {"topic": "greeting"}


def test_example_is_hashable_even_with_metadata() -> None:
    a = Example(id="x", input="i", target="t", metadata={"k": [1]})
    b = Example(id="x", input="i", target="t", metadata={"k": [1]})
    assert a == b
    assert len({a, b}) == 1


# --- errors: each names the file and the line -----------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.jsonl"
    with pytest.raises(DatasetError, match=r"dataset file not found: .*nope\.jsonl"):
        load_dataset(path)


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "empty.jsonl", text)
    with pytest.raises(DatasetError, match=r"empty\.jsonl: the file is empty"):
        load_dataset(path)


def test_csv_with_header_only_has_no_examples(tmp_path: Path) -> None:
    path = write(tmp_path / "head.csv", "input,target\n")
    with pytest.raises(DatasetError, match=r"head\.csv: no examples"):
        load_dataset(path)


def test_invalid_json_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.jsonl", '{"input": "a", "target": "b"}\n\n{"input": "a", target}\n')
    with pytest.raises(DatasetError, match=r"bad\.jsonl line 3: not valid JSON \(.*column \d+\)"):
        load_dataset(path)


def test_json_line_that_is_not_an_object(tmp_path: Path) -> None:
    path = write(tmp_path / "list.jsonl", '{"input": "a", "target": "b"}\n["a", "b"]\n')
    with pytest.raises(DatasetError, match=r"list\.jsonl line 2: expected a JSON object .* got list"):
        load_dataset(path)


def test_missing_column_lists_columns_and_the_option_to_map(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "cols.jsonl", [{"input": "x", "target": "y"}, {"input": "x", "target": "y"}, {"a": 1, "b": 2}]
    )
    with pytest.raises(DatasetError) as err:
        load_dataset(path)
    message = str(err.value)
    assert "cols.jsonl line 3: missing column 'input' (columns: a, b); map it with input=..." in message


def test_missing_target_column_in_csv(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "input,label\nhello,x\n")
    with pytest.raises(
        DatasetError,
        match=r"c\.csv line 2: missing column 'target' \(columns: input, label\); map it with target=\.\.\.",
    ):
        load_dataset(path)


def test_missing_metadata_and_id_columns(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "m.jsonl", [{"input": "x", "target": "y"}])
    with pytest.raises(DatasetError, match=r"m\.jsonl line 1: missing column 'topic' .*metadata="):
        load_dataset(path, metadata=["topic"])
    with pytest.raises(DatasetError, match=r"m\.jsonl line 1: missing column 'uid' .*id=\.\.\."):
        load_dataset(path, id="uid")


def test_null_value(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "null.jsonl", [{"input": "x", "target": None}])
    with pytest.raises(DatasetError, match=r"null\.jsonl line 1: column 'target' has no value"):
        load_dataset(path)


def test_duplicate_ids(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "dup.jsonl", [{"id": "a", "input": "x", "target": "y"}] * 2)
    with pytest.raises(DatasetError, match=r"dup\.jsonl line 2: duplicate id 'a' \(first on line 1\)"):
        load_dataset(path, id="id")


def test_bad_encoding_names_file_line_and_fix(tmp_path: Path) -> None:
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b'{"input": "a", "target": "b"}\n{"input": "caf\xe9", "target": "b"}\n')
    with pytest.raises(DatasetError, match=r"latin\.jsonl line 2: not valid UTF-8 .*re-save the file as UTF-8"):
        load_dataset(path)


def test_unsupported_extension(tmp_path: Path) -> None:
    path = write(tmp_path / "data.txt", "hello\n")
    with pytest.raises(DatasetError, match=r"data\.txt: unsupported file type '\.txt'; use \.jsonl or \.csv"):
        load_dataset(path)


def test_csv_row_with_too_many_cells(tmp_path: Path) -> None:
    path = write(tmp_path / "wide.csv", "input,target\na,b\nc,d,e\n")
    with pytest.raises(DatasetError, match=r"wide\.csv line 3: more cells than the 2 header columns"):
        load_dataset(path)


@pytest.mark.parametrize("limit", [0, -1, 1.5, True])
def test_bad_limit_is_a_config_error(tmp_path: Path, limit: object) -> None:
    path = jsonl(tmp_path / "ok.jsonl", [{"input": "x", "target": "y"}])
    with pytest.raises(ConfigError, match="limit must be a positive integer"):
        load_dataset(path, limit=limit)  # type: ignore[arg-type]


# --- names: bundled and shared -----------------------------------------------------------------------------------


def test_bundled_support_triage_has_160_balanced_rows() -> None:
    data = load_dataset("support_triage")
    assert len(data) == 160
    counts = Counter(e.target for e in data)
    assert set(counts) == LABELS
    assert all(35 <= n <= 45 for n in counts.values()), counts
    assert len({e.input for e in data}) == 160
    assert data.examples[0].id == "support_triage:1"


def test_bundled_listing_and_folder() -> None:
    assert "support_triage" in list_bundled_datasets()
    assert bundled_dir("datasets") == REPO / "datasets"


def test_unknown_bundled_name_lists_the_known_ones() -> None:
    with pytest.raises(DatasetError, match=r"unknown dataset 'no_such_set': bundled datasets are .*support_triage"):
        load_dataset("no_such_set")


@pytest.mark.skipif(not SHARED_BBH.is_dir(), reason="shared BBH data not present")
def test_bbh_navigate_loads_from_shared_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SHARED_DATA_ENV, raising=False)
    data = load_dataset("bbh:navigate", limit=5)
    assert data.name == "bbh:navigate"
    assert len(data) == 5
    assert data.examples[0].id == "bbh:navigate:1"
    assert all(e.target in {"Yes", "No"} for e in data)


def test_bbh_name_uses_the_env_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bbh").mkdir()
    jsonl(tmp_path / "bbh" / "tiny.jsonl", [{"input": "q", "target": "(A)"}])
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path))
    assert load_dataset("bbh:tiny").examples[0].target == "(A)"
    with pytest.raises(DatasetError, match=r"dataset 'bbh:missing': .* not found; known bbh tasks: tiny"):
        load_dataset("bbh:missing")


def test_unknown_suite_prefix() -> None:
    with pytest.raises(DatasetError, match=r"unknown dataset 'mmlu:math'"):
        load_dataset("mmlu:math")


# --- splits and samples ----------------------------------------------------------------------------------------


def test_split_is_deterministic_disjoint_and_sized() -> None:
    data = make_dataset(10)
    a = data.split(seed=1, train=0.6, val=0.2, test=0.2)
    b = data.split(seed=1, train=0.6, val=0.2, test=0.2)
    assert a == b
    ids = [{e.id for e in part} for part in (a.train, a.val, a.test)]
    assert [len(s) for s in ids] == [6, 2, 2]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert ids[0] | ids[1] | ids[2] == {e.id for e in data}
    assert a.train.name == "d[train]"


def test_split_depends_on_seed() -> None:
    data = make_dataset(50)
    orders = {tuple(e.id for e in data.split(seed=s, train=25, val=10, test=15).train) for s in range(5)}
    assert len(orders) > 1


def test_fraction_leftovers_go_to_train() -> None:
    parts = make_dataset(11).split(seed=0, train=0.5, val=0.25, test=0.25)
    assert (len(parts.train), len(parts.val), len(parts.test)) == (7, 2, 2)


def test_counts_and_mixed_counts_and_fractions() -> None:
    parts = make_dataset(20).split(seed=3, train=5, val=0.25, test=2)
    assert (len(parts.train), len(parts.val), len(parts.test)) == (5, 5, 2)


def test_split_larger_than_dataset_is_a_config_error() -> None:
    with pytest.raises(
        ConfigError, match=r"split asks for 12 examples \(train=8, val=2, test=2\) but dataset 'd' has 10"
    ):
        make_dataset(10).split(seed=0, train=8, val=2, test=2)


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ({"train": 1.5, "val": 0.1, "test": 0.1}, "must be at most 1"),
        ({"train": -1, "val": 1, "test": 1}, "give a count"),
        ({"train": 0.7, "val": 0.2, "test": 0.2}, "add up to 1.1"),
        ({"train": "5", "val": 1, "test": 1}, "give a count"),
    ],
)
def test_bad_split_sizes(sizes: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_dataset(10).split(seed=0, **sizes)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 40), seed=st.integers(0, 10**6), data=st.data())
def test_split_property_partitions_requested_counts(n: int, seed: int, data: st.DataObject) -> None:
    train = data.draw(st.integers(0, n))
    val = data.draw(st.integers(0, n - train))
    test = data.draw(st.integers(0, n - train - val))
    parts = make_dataset(n).split(seed=seed, train=train, val=val, test=test)
    ids = [e.id for part in (parts.train, parts.val, parts.test) for e in part]
    assert (len(parts.train), len(parts.val), len(parts.test)) == (train, val, test)
    assert len(set(ids)) == len(ids)


def test_sample_is_deterministic_subset_in_file_order() -> None:
    data = make_dataset(30)
    a, b = data.sample(8, seed=4), data.sample(8, seed=4)
    assert a == b and len(a) == 8
    positions = [data.examples.index(e) for e in a]
    assert positions == sorted(positions)
    assert data.sample(8, seed=5) != a


def test_sample_too_large() -> None:
    with pytest.raises(ConfigError, match=r"cannot sample 11 examples from dataset 'd' which has 10"):
        make_dataset(10).sample(11, seed=0)


# --- the dataset's own splits (dataset.split_column) -------------------------------------------------------------


def _split_rows(n_train: int, n_val: int, n_test: int) -> list[dict[str, str]]:
    parts = [("train", n_train), ("validation", n_val), ("test", n_test)]
    return [{"input": f"{part} {i}", "target": part, "split": part} for part, n in parts for i in range(n)]


def test_split_column_draws_each_part_from_its_own_rows(tmp_path: Path) -> None:
    data = load_dataset(jsonl(tmp_path / "s.jsonl", _split_rows(20, 10, 15)), metadata=["split"])
    splits = data.split_by_column(0, "split", 5, 4, 0.4)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (5, 4, 6)
    assert {e.target for e in splits.train} == {"train"}
    assert {e.target for e in splits.val} == {"validation"}
    assert {e.target for e in splits.test} == {"test"}
    again = data.split_by_column(0, "split", 5, 4, 0.4)
    assert [e.id for e in again.train] == [e.id for e in splits.train]
    other = data.split_by_column(1, "split", 5, 4, 0.4)
    assert [e.id for e in other.train] != [e.id for e in splits.train]


def test_a_part_in_draw_order_starts_with_what_the_split_drew(tmp_path: Path) -> None:
    """The online-stream benchmark serves the train part in the order the split draws it."""
    data = load_dataset(jsonl(tmp_path / "s.jsonl", _split_rows(20, 10, 15)), metadata=["split"])
    order = data.in_draw_order(3, "split", "train")
    assert len(order) == 20 and {e.target for e in order} == {"train"}
    drawn = data.split_by_column(3, "split", 7, 1, 1).train
    assert {e.id for e in order[:7]} == {e.id for e in drawn}
    assert [e.id for e in order] != sorted(e.id for e in order)  # shuffled, not file order


def test_split_column_errors_name_the_column_and_the_row(tmp_path: Path) -> None:
    rows = _split_rows(3, 3, 3) + [{"input": "x", "target": "y", "split": "holdout"}]
    data = load_dataset(jsonl(tmp_path / "s.jsonl", rows), metadata=["split"])
    with pytest.raises(ConfigError, match="split=.holdout."):
        data.split_by_column(0, "split", 1, 1, 1)
    fine = load_dataset(jsonl(tmp_path / "t.jsonl", _split_rows(3, 3, 3)), metadata=["split"])
    with pytest.raises(ConfigError, match="has 3 rows with split=train"):
        fine.split_by_column(0, "split", 4, 1, 1)
    with pytest.raises(ConfigError, match="split_column 'part' is missing"):
        fine.split_by_column(0, "part", 1, 1, 1)


def test_run_config_keeps_the_clinc150_splits() -> None:
    from promptlearn.config import validate
    from promptlearn.optimize.setup import load_run_data

    if not (REPO.parent / "shared" / "data" / "clinc150" / "banking.jsonl").is_file():
        pytest.skip("../shared/data/clinc150 is not beside the repository")
    config = validate({"dataset": {"path": "clinc150:banking", "split_column": "split", "train": 6, "val": 5,
                                   "test": 7}, "scorer": "exact"})
    _dataset, splits, _scorer = load_run_data(config)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (6, 5, 7)
    for name in ("train", "val", "test"):
        assert {e.metadata["split"] for e in getattr(splits, name)} == {name}
