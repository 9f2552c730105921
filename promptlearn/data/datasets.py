"""Datasets: load JSONL or CSV into immutable `Example`s, then split or sample them deterministically.

Every problem a user can fix raises `DatasetError` naming the file and line, so a bad row never becomes a traceback.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptlearn.data.paths import list_bundled_datasets, locate_dataset
from promptlearn.errors import ConfigError, DatasetError
from promptlearn.seeding import part_rng, rng
from promptlearn.toolcalls import Tools, normalize_tools

__all__ = ["Dataset", "Example", "Splits", "list_bundled_datasets", "load_dataset"]

TOOLS_COLUMN = "tools"  # a metadata column by this name holds each example's tools (a list of tool schemas)


@dataclass(frozen=True, eq=True)
class Example:
    """One row. `id` is stable across runs: the mapped id column, else `<dataset name>:<line number>`."""

    id: str
    input: str
    target: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:
        # The generated hash would fail on the metadata dict; equal examples share these three fields anyway.
        return hash((self.id, self.input, self.target))

    @property
    def tools(self) -> Tools | None:
        """The tools the task model may call on this example (OpenAI tool schema): the metadata column `tools`
        (checked when the dataset is loaded); None when the example has none."""
        value = self.metadata.get(TOOLS_COLUMN)
        return None if value is None else normalize_tools(value)


@dataclass(frozen=True)
class Dataset:
    name: str
    examples: tuple[Example, ...]
    source: str

    def __len__(self) -> int:
        return len(self.examples)

    def __iter__(self) -> Iterator[Example]:
        return iter(self.examples)

    def split(self, seed: int, train: float, val: float, test: float) -> Splits:
        """Shuffle once with `seed`, then cut train/val/test. Ints are counts, floats are fractions of the dataset."""
        sizes = _split_sizes(len(self), {"train": train, "val": val, "test": test})
        if sum(sizes.values()) > len(self):
            asked = ", ".join(f"{k}={v}" for k, v in sizes.items())
            raise ConfigError(
                f"split asks for {sum(sizes.values())} examples ({asked}) but dataset '{self.name}' has {len(self)}; "
                "ask for fewer"
            )
        order = list(range(len(self)))
        rng(seed, "splits").shuffle(order)
        parts: dict[str, Dataset] = {}
        start = 0
        for part, size in sizes.items():
            parts[part] = self._subset(order[start : start + size], part)
            start += size
        return Splits(**parts)

    def split_by_column(self, seed: int, column: str, train: float, val: float, test: float) -> Splits:
        """Keep the dataset's own splits: each part is drawn (shuffled with `seed`) from the rows whose `column`
        says so (`train`; `val`, `validation` or `dev`; `test`). Ints are counts, floats fractions of that part."""
        groups = self._column_parts(column)
        parts: dict[str, Dataset] = {}
        for part, asked in (("train", train), ("val", val), ("test", test)):
            pool = groups[part]
            size = _split_sizes(len(pool), {part: asked})[part]
            if size > len(pool):
                raise ConfigError(f"split {part}={asked} but dataset '{self.name}' has {len(pool)} rows with "
                                  f"{column}={part}; ask for fewer")
            parts[part] = self._subset(sorted(_drawn(pool, seed, part)[:size]), part)
        return Splits(**parts)

    def in_draw_order(self, seed: int, column: str, part: str) -> list[Example]:
        """A part's rows in the order `split_by_column` draws them (it takes the first n, then keeps file order)."""
        return [self.examples[i] for i in _drawn(self._column_parts(column)[part], seed, part)]

    def _column_parts(self, column: str) -> dict[str, list[int]]:
        groups: dict[str, list[int]] = {"train": [], "val": [], "test": []}
        for index, example in enumerate(self.examples):
            if column not in example.metadata:
                raise ConfigError(f"dataset '{self.name}': split_column '{column}' is missing on {example.id}")
            value = str(example.metadata[column]).strip().lower()
            part = _SPLIT_NAMES.get(value)
            if part is None:
                raise ConfigError(f"dataset '{self.name}': {example.id} has {column}={value!r}; use one of "
                                  f"{', '.join(sorted(_SPLIT_NAMES))}")
            groups[part].append(index)
        return groups

    def sample(self, n: int, seed: int) -> Dataset:
        """`n` examples chosen by `seed`, kept in file order so samples are easy to read side by side."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ConfigError(f"sample size must be a non-negative integer, got {n!r}")
        if n > len(self):
            raise ConfigError(f"cannot sample {n} examples from dataset '{self.name}' which has {len(self)}")
        chosen = sorted(rng(seed, "sample").sample(range(len(self)), n))
        return self._subset(chosen, f"sample{n}@{seed}")

    def with_targets(self, targets: Sequence[str]) -> Dataset:
        """The rows whose target is one of `targets`, in file order; a target no row has is a config error."""
        known = sorted({e.target for e in self.examples})
        missing = sorted(set(targets) - set(known))
        if missing:
            raise ConfigError(f"dataset.targets: no row of '{self.name}' has the target(s) {', '.join(missing)} "
                              f"(known: {', '.join(known[:30])}{' ...' if len(known) > 30 else ''})")
        wanted = set(targets)
        return self._subset((i for i, e in enumerate(self.examples) if e.target in wanted), "targets")

    def _subset(self, indices: Iterable[int], label: str) -> Dataset:
        return Dataset(f"{self.name}[{label}]", tuple(self.examples[i] for i in indices), self.source)


_SPLIT_NAMES = {"train": "train", "val": "val", "validation": "val", "dev": "val", "test": "test"}


@dataclass(frozen=True)
class Splits:
    train: Dataset
    val: Dataset
    test: Dataset


def _drawn(pool: list[int], seed: int, part: str) -> list[int]:
    """The row indices of one part in the seeded order a split draws them."""
    order = list(pool)
    part_rng(seed, part).shuffle(order)
    return order


def _split_sizes(total: int, asked: dict[str, float]) -> dict[str, int]:
    for part, value in asked.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or math.isnan(value):
            raise ConfigError(f"split {part}={value!r}: give a count (int) or a fraction (float between 0 and 1)")
        if isinstance(value, float) and value > 1:
            raise ConfigError(f"split {part}={value!r}: a float is a fraction and must be at most 1; use an int count")
    fractions = {k: v for k, v in asked.items() if isinstance(v, float)}
    if sum(fractions.values()) > 1 + 1e-9:
        raise ConfigError(f"split fractions add up to {sum(fractions.values()):g}, more than 1; lower them")
    # The epsilon keeps 0.7 * 10 == 7.000000000000001 from becoming 7 by luck and 6.9999 from becoming 6.
    sizes = {k: int(v) if isinstance(v, int) else math.floor(v * total + 1e-9) for k, v in asked.items()}
    if len(fractions) == len(asked) and math.isclose(sum(fractions.values()), 1.0):
        # Fractions meant to cover everything: rounding leftovers go to train rather than being dropped.
        sizes["train"] = total - sizes["val"] - sizes["test"]
    return sizes


def load_dataset(
    path_or_name: str | os.PathLike[str],
    *,
    input: str = "input",
    target: str = "target",
    metadata: list[str] | None = None,
    id: str | None = None,
    limit: int | None = None,
    name: str | None = None,
) -> Dataset:
    """Load a .jsonl/.csv file, a bundled dataset by name ("support_triage") or a shared task ("bbh:navigate")."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0):
        raise ConfigError(f"limit must be a positive integer, got {limit!r}")
    if isinstance(path_or_name, str) and path_or_name.startswith("bfcl:"):
        # A BFCL category is useless without its tools and checker columns: they come with it unless asked otherwise.
        from promptlearn.data.bfcl import METADATA

        metadata, id = metadata or list(METADATA), id or "id"
    path, default_name = locate_dataset(path_or_name)
    if not path.is_file():
        raise DatasetError(f"dataset file not found: {path}")
    mapping = _Mapping(input=input, target=target, metadata=tuple(metadata or ()), id=id)
    dataset_name = name or default_name
    examples: list[Example] = []
    seen_ids: dict[str, int] = {}
    for line_no, row in _read_rows(path):
        example = mapping.to_example(row, path, line_no, dataset_name)
        if example.id in seen_ids:
            raise DatasetError(
                f"{path} line {line_no}: duplicate id '{example.id}' (first on line {seen_ids[example.id]}); "
                "ids must be unique"
            )
        seen_ids[example.id] = line_no
        examples.append(example)
        if limit is not None and len(examples) >= limit:
            break
    if not examples:
        raise DatasetError(f"{path}: no examples (the file has no data rows); add at least one row")
    return Dataset(name=dataset_name, examples=tuple(examples), source=str(path))


@dataclass(frozen=True)
class _Mapping:
    """Which file columns become which Example fields."""

    input: str
    target: str
    metadata: tuple[str, ...]
    id: str | None

    def to_example(self, row: dict[str, Any], path: Path, line_no: int, dataset_name: str) -> Example:
        def cell(column: str, option: str) -> str:
            return _cell(row, column, option, path, line_no)

        example_id = cell(self.id, "id") if self.id else f"{dataset_name}:{line_no}"
        meta = {column: row[column] for column in self.metadata if _has_column(row, column, "metadata", path, line_no)}
        if TOOLS_COLUMN in meta:
            try:
                meta[TOOLS_COLUMN] = [dict(tool) for tool in normalize_tools(meta[TOOLS_COLUMN])]
            except ValueError as exc:
                raise DatasetError(f"{path} line {line_no}: column '{TOOLS_COLUMN}': {exc}") from None
        text, target = cell(self.input, "input"), cell(self.target, "target")
        return Example(id=example_id, input=text, target=target, metadata=meta)


def _has_column(row: dict[str, Any], column: str, option: str, path: Path, line_no: int) -> bool:
    if column in row:
        return True
    columns = ", ".join(str(c) for c in row) or "none"
    hint = f"remove it from {option}=[...]" if option == "metadata" else f"map it with {option}=..."
    raise DatasetError(f"{path} line {line_no}: missing column '{column}' (columns: {columns}); {hint}")


def _cell(row: dict[str, Any], column: str, option: str, path: Path, line_no: int) -> str:
    _has_column(row, column, option, path, line_no)
    value = row[column]
    if value is None:
        raise DatasetError(f"{path} line {line_no}: column '{column}' has no value; fill it in")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    # Numbers (a numeric target is common) and booleans become their plain text.
    return value if isinstance(value, str) else str(value)


def _read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    readers = {".jsonl": _jsonl_rows, ".csv": _csv_rows}
    suffix = path.suffix.lower()
    if suffix not in readers:
        raise DatasetError(f"{path}: unsupported file type '{suffix or '(none)'}'; use .jsonl or .csv")
    text = _read_text(path)
    if not text.strip():
        raise DatasetError(f"{path}: the file is empty; add one example per line")
    return readers[suffix](text, path)


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        # utf-8-sig also accepts the byte-order mark that spreadsheet programs put at the start of CSV exports.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_no = data[: exc.start].count(b"\n") + 1
        raise DatasetError(
            f"{path} line {line_no}: not valid UTF-8 (byte 0x{data[exc.start]:02x}); re-save the file as UTF-8"
        ) from None


def _jsonl_rows(text: str, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    # Only \n ends a JSONL line: splitlines() would also split inside strings at U+2028, U+0085 and the like.
    for line_no, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path} line {line_no}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        except (ValueError, RecursionError) as exc:  # a number too long to convert, or nesting too deep
            raise DatasetError(f"{path} line {line_no}: not usable JSON ({type(exc).__name__}: "
                               f"{str(exc)[:120]})") from None
        if not isinstance(row, dict):
            raise DatasetError(
                f'{path} line {line_no}: expected a JSON object like {{"input": ..., "target": ...}}, '
                f"got {type(row).__name__}"
            )
        yield line_no, row


_MAX_CSV_CELL = 2**31 - 1  # the largest limit every platform's C long accepts


def _csv_rows(text: str, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    # The csv module's default cell limit (128 KiB) would reject a long document as "malformed".
    csv.field_size_limit(max(csv.field_size_limit(), _MAX_CSV_CELL))
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            if not any(value.strip() for value in row.values() if isinstance(value, str)):
                continue
            if None in row:
                raise DatasetError(
                    f"{path} line {reader.line_num}: more cells than the {len(reader.fieldnames or [])} header "
                    "columns; quote cells that contain commas"
                )
            # reader.line_num is the physical line where this record ends, which is what an editor shows.
            yield reader.line_num, {k.strip(): v for k, v in row.items() if k is not None}
    except csv.Error as exc:
        raise DatasetError(f"{path} line {reader.line_num}: malformed CSV ({exc}); check the quoting") from None
