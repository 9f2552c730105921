"""The run report: one self-contained HTML file showing how a run learned, and from what evidence."""

from __future__ import annotations

from pathlib import Path

from promptlearn.errors import PromptlearnError
from promptlearn.report.data import gather
from promptlearn.report.html import render
from promptlearn.store import Store


def write_report(store: Store, run_id: str, out_path: str | Path) -> Path:
    """Write the report of a stored run to `out_path` (parent folders are created) and return the path."""
    path = Path(out_path).expanduser()
    html = render(gather(store, run_id))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise PromptlearnError(f"cannot write the report to {path}: {exc.strerror}; choose another --out") from None
    return path


__all__ = ["gather", "render", "write_report"]
