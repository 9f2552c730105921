"""BFCL (the Berkeley Function Calling Leaderboard) through `bfcl-eval` from PyPI, run in its own virtualenv.

Why a virtualenv of its own: bfcl-eval pins numpy==1.26.4 (our lock has numpy 2), exact versions of several
provider SDKs (mistralai, cohere, ...) and pulls sentence-transformers and faiss (torch) for its agentic
categories. Its data loaders, tool converter and AST checker need none of that, so the virtualenv holds bfcl-eval
installed without its dependencies plus the five small packages those modules import (tenacity, filelock,
tree-sitter and its Java and JavaScript grammars), every one pinned to a version and a sha256 (`--require-hashes`).
It is made on first use under the user's cache folder (`make bfcl` makes it ahead of time) and `bfcl_runner.py`
runs there as a subprocess: bfcl-eval's code is called, never copied.

`bfcl:<category>` datasets (`simple_python`, `multiple`, `irrelevance`, ...) are the category's entries as bfcl-eval
ships them, written once to a JSONL file beside the virtualenv: the user turn as input, the possible answer as
target (`[]` for irrelevance: the right answer is no call), the tools in the OpenAI schema bfcl-eval's converter
gives (a "." in a name becomes "_"), and BFCL's own function docs and category as metadata for the checker.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from platformdirs import user_cache_dir

from promptlearn.errors import ConfigError, ModelError

BFCL_VERSION = "2026.3.23"
# Single-turn Python categories the AST checker (or, for irrelevance, bfcl-eval's relevance rule) decides.
CATEGORIES = ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance", "live_simple",
              "live_multiple", "live_parallel", "live_parallel_multiple", "live_irrelevance")
METADATA = ["tools", "functions", "category"]  # the dataset columns a bfcl: task keeps (see DatasetConfig)
RUNNER = Path(__file__).with_name("bfcl_runner.py")
_building = threading.Lock()
_TREE_SITTER_WHEELS = {  # tree-sitter 0.21.3 has one wheel per CPython version (x86-64 manylinux)
    "cp310": "84eedb06615461b9e2847be7c47b9c5f2195d7d66d31b33c0a227eff4e0a0199",
    "cp311": "fabc7182f6083269ce3cfcad202fe01516aa80df64573b390af6cd853e8444a1",
    "cp312": "af992dfe08b4fefcfcdb40548d0d26d5d2e0a0f2d833487372f3728cd0772b48",
}
REQUIREMENTS = {
    f"bfcl-eval=={BFCL_VERSION}": ["3bb6dfa5f0c68ad403c9ec50b00db2bb3b4cc9b38ab1ff33f48fe30d853d3a0a"],
    "tenacity==9.1.2": ["f77bf36710d8b73a50b2dd155c97b870017ad21afe6ab300326b0371b3b05138"],
    "filelock==3.20.0": ["339b4732ffda5cd79b13f4e2711a31b0365ce445d95d243bb996273d072546a2"],
    "tree-sitter==0.21.3": sorted(_TREE_SITTER_WHEELS.values()),
    "tree-sitter-java==0.21.0": ["f9c01f48ec3a3d4b55fb2c56b7cad6ebf94dba568d690b45d966731859485dd4"],
    "tree-sitter-javascript==0.21.4": ["00ff426e9bb552abb49ce3234b083edb1a6aa73bfeea7d9bf0f6bb3d0256c4cd"],
}


def home() -> Path:
    """`$PROMPTLEARN_BFCL_HOME`, else `<user cache>/promptlearn/bfcl-<version>`: the virtualenv and the datasets."""
    override = os.environ.get("PROMPTLEARN_BFCL_HOME")
    return Path(override) if override else Path(user_cache_dir("promptlearn")) / f"bfcl-{BFCL_VERSION}"


def venv_python() -> Path:
    return home() / "venv" / "bin" / "python"


def requirements_text() -> str:
    return "".join(f"{req} " + " ".join(f"--hash=sha256:{h}" for h in hashes) + "\n"
                   for req, hashes in REQUIREMENTS.items())


def ensure_venv() -> Path:
    """The virtualenv's python, made (once) if missing: built aside and moved into place, so an interrupted
    install is never mistaken for a finished one."""
    python = venv_python()
    if python.exists():
        return python
    with _building:  # threads of one process wait for one build; other processes build aside, first one wins
        if python.exists():
            return python
        root = home()
        root.mkdir(parents=True, exist_ok=True)
        building = root / f"venv.building-{os.getpid()}"
        shutil.rmtree(building, ignore_errors=True)
        try:
            _run([sys.executable, "-m", "venv", str(building)], "create bfcl-eval's virtualenv")
            reqs = building / "requirements.txt"
            reqs.write_text(requirements_text())
            _run([str(building / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                  "--no-deps", "--only-binary=:all:", "--require-hashes", "-r", str(reqs)], "install bfcl-eval")
            try:
                building.rename(root / "venv")
            except OSError:
                if not python.exists():  # not another process's finished build: a real failure
                    raise
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return python


def _run(cmd: list[str], what: str, stdin: str | None = None) -> str:
    result = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise ModelError(f"could not {what}: {detail}")
    return result.stdout


def runner(args: Sequence[str], stdin: str | None = None) -> str:
    return _run([str(ensure_venv()), str(RUNNER), *args], f"run bfcl-eval ({' '.join(args)})", stdin)


def dataset_file(category: str) -> Path:
    """The JSONL file of `bfcl:<category>`, written from bfcl-eval's data on first use."""
    if category not in CATEGORIES:
        raise ConfigError(f"unknown BFCL category '{category}'; use bfcl:<category> with one of "
                          f"{', '.join(CATEGORIES)}")
    path = home() / "datasets" / f"{category}.jsonl"
    if not path.exists():
        text = runner(["dataset", category])
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".partial-{os.getpid()}-{threading.get_ident()}")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    return path


def check(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """bfcl-eval's verdict on each `{"category", "functions", "calls", "answer"}`: `{"valid", "error",
    "error_type"}` (the AST checker's, or the relevance rule's for irrelevance)."""
    out = json.loads(runner(["check"], json.dumps(list(items), ensure_ascii=False)))
    if not isinstance(out, list) or len(out) != len(items):
        raise ModelError("bfcl-eval's checker returned an unexpected reply")
    return out
