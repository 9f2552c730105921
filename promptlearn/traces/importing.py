"""Import a trace file into the store: read it, scrub every text, store what is new (by key), update the feedback of
traces stored already but not yet learned from (feedback given after the call was first imported), report the rest."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from promptlearn.config import PrivacyConfig, TracesConfig
from promptlearn.errors import DatasetError
from promptlearn.privacy import Scrubber
from promptlearn.store import Store
from promptlearn.traces.formats import Skipped, read_traces
from promptlearn.traces.model import Feedback, Malformed, Trace


@dataclass
class ImportReport:
    file: str
    stream: str
    added: int = 0
    duplicates: int = 0  # already stored under this stream as they are (an import run twice adds nothing)
    updated: int = 0  # already stored, not yet learned from: their feedback replaced by the new
    kept: int = 0  # already stored and learned from by an online run: new feedback not taken
    skipped: Counter[str] = field(default_factory=Counter)  # spans of kinds not imported, by kind
    malformed: list[Malformed] = field(default_factory=list)
    scrubbed: Counter[str] = field(default_factory=Counter)  # replacements by kind (never the values)
    with_feedback: int = 0
    corrections: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "stream": self.stream, "added": self.added, "duplicates": self.duplicates,
                "updated": self.updated, "kept_learned": self.kept,
                "skipped": dict(self.skipped), "malformed": [str(m) for m in self.malformed],
                "scrubbed": dict(self.scrubbed), "with_feedback": self.with_feedback,
                "corrections": self.corrections}


def scrubber(privacy: PrivacyConfig) -> Scrubber:
    return Scrubber(privacy.kinds, privacy.patterns, enabled=privacy.scrub)


def _clean(value: Any, scrub: Scrubber) -> Any:
    if isinstance(value, str):
        return scrub.scrub(value)
    if isinstance(value, dict):
        return {k: _clean(v, scrub) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, scrub) for v in value]
    return value


def scrub_trace(trace: Trace, scrub: Scrubber) -> Trace:
    """Every text of the trace (input, output, feedback, metadata) with secrets and personal data replaced."""
    f = trace.feedback
    feedback = Feedback(f.score, *(None if t is None else scrub.scrub(t) for t in (f.label, f.comment, f.correction)))
    return replace(trace, input=scrub.scrub(trace.input), output=scrub.scrub(trace.output), feedback=feedback,
                   metadata=_clean(trace.metadata, scrub))


def import_traces(store: Store, path: Path, cfg: TracesConfig, fmt: str = "auto",
                  annotations: Path | None = None, stream: str | None = None) -> ImportReport:
    """Import `path` under `stream` (default: the config's). Malformed records are counted and reported with their
    file and line; everything else is scrubbed and stored once."""
    if not path.exists():
        raise DatasetError(f"trace file not found: {path}")
    if annotations is not None and not annotations.exists():
        raise DatasetError(f"annotation file not found: {annotations}")
    return store_items(store, read_traces(path, cfg, fmt, annotations), cfg, ImportReport(str(path),
                                                                                          stream or cfg.stream))


def store_items(store: Store, items: Iterable[Trace | Malformed | Skipped], cfg: TracesConfig,
                report: ImportReport) -> ImportReport:
    """Scrub and store the traces among `items` (new ones by key; a stored one not yet learned from takes new
    feedback) and count the rest in `report`."""
    scrub = scrubber(cfg.privacy)
    clean: list[Trace] = []
    for item in items:
        if isinstance(item, Malformed):
            report.malformed.append(item)
        elif isinstance(item, Skipped):
            report.skipped[item.kind] += 1
        else:
            clean.append(scrub_trace(item, scrub))
    report.scrubbed = Counter(scrub.found)
    report.with_feedback = sum(not t.feedback.empty for t in clean)
    report.corrections = sum(t.feedback.correction is not None for t in clean)
    report.added, report.duplicates, report.updated, report.kept = store.add_traces(report.stream, clean)
    return report
