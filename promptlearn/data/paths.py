"""Where datasets live: bundled ones (`datasets/` in a checkout, `_bundled/` in a wheel) and shared benchmark data."""

from __future__ import annotations

import os
from pathlib import Path

from promptlearn.errors import DatasetError

SHARED_DATA_ENV = "PROMPTLEARN_SHARED_DATA"

# promptlearn/data/paths.py -> parents[2] is the repository root in a source checkout.
_REPO_ROOT = Path(__file__).resolve().parents[2]


def bundled_dir(kind: str) -> Path:
    """The folder of bundled `kind` files ("datasets", "judges"), in a source checkout or an installed wheel."""
    checkout = _REPO_ROOT / kind
    if checkout.is_dir():
        return checkout
    # The wheel force-includes the top-level folders under promptlearn/_bundled (see pyproject.toml).
    # parents[1] is the promptlearn package folder, i.e. Path(promptlearn.__file__).parent, without the import.
    return Path(__file__).resolve().parents[1] / "_bundled" / kind


def list_bundled_datasets() -> list[str]:
    folder = bundled_dir("datasets")
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.jsonl"))


def shared_data_dir() -> Path | None:
    """The shared benchmark data folder: $PROMPTLEARN_SHARED_DATA, else ../shared/data beside the repo or the cwd."""
    from_env = os.environ.get(SHARED_DATA_ENV)
    if from_env:
        return Path(from_env).expanduser()
    for candidate in (_REPO_ROOT / ".." / "shared" / "data", Path.cwd() / ".." / "shared" / "data"):
        if candidate.is_dir():
            return candidate.resolve()
    return None


def locate_dataset(path_or_name: str | os.PathLike[str]) -> tuple[Path, str]:
    """Turn a path, a `suite:task` name or a bundled name into (file path, dataset name)."""
    text = os.fspath(path_or_name)
    path = Path(text).expanduser()
    if path.exists() or isinstance(path_or_name, os.PathLike):
        return path, path.stem
    if ":" in text and "/" not in text and "\\" not in text:
        return _resolve_suite_task(text), text
    if not path.suffix and "/" not in text and "\\" not in text:
        return _resolve_bundled(text), text
    return path, path.stem


# Suites in the shared data folder: `bbh:<task>` (BIG-Bench-Hard), `clinc150:<domain>` (CLINC150 intents by domain,
# with the dataset's own train/val/test in a `split` column: use `dataset.split_column: split` to keep them).
SUITES = ("bbh", "clinc150")


def _resolve_suite_task(name: str) -> Path:
    suite, _, task = name.partition(":")
    if suite == "bfcl" and task:  # BFCL's categories, from bfcl-eval's own data (promptlearn.data.bfcl)
        from promptlearn.data import bfcl

        return bfcl.dataset_file(task)
    if suite not in SUITES or not task:
        known = " or ".join(f"'{s}:<task>'" for s in (*SUITES, "bfcl"))
        raise DatasetError(f"unknown dataset '{name}': only {known} names are known; or pass a .jsonl/.csv path")
    root = shared_data_dir()
    if root is None:
        raise DatasetError(
            f"dataset '{name}': cannot find the shared data folder; set {SHARED_DATA_ENV} to the folder holding "
            f"{'/, '.join(SUITES)}/"
        )
    path = root / suite / f"{task}.jsonl"
    if not path.is_file():
        tasks = sorted(p.stem for p in (root / suite).glob("*.jsonl"))
        raise DatasetError(f"dataset '{name}': {path} not found; known {suite} tasks: {', '.join(tasks) or 'none'}")
    return path


def _resolve_bundled(name: str) -> Path:
    path = bundled_dir("datasets") / f"{name}.jsonl"
    if not path.is_file():
        known = ", ".join(list_bundled_datasets()) or "none"
        raise DatasetError(
            f"unknown dataset '{name}': bundled datasets are {known}; or pass a .jsonl/.csv path or 'bbh:<task>'"
        )
    return path
