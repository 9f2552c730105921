"""Import a prompt from a file: plain text or Markdown, an instruction file or prompt we exported, our JSON export
or a raw Playbook JSON, or a DSPy saved program (its `instructions`). Every problem is one `ImportFileError`
naming the file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from promptlearn.export.errors import ImportFileError
from promptlearn.export.formats import HEADER, SEED_CLOSE, SEED_OPEN
from promptlearn.export.runtime import EXPORT_FORMAT, playbook_from_document, read_text
from promptlearn.playbook import DEFAULT_SECTIONS, Bullet, Playbook
from promptlearn.playbook.deltas import normalize_section
from promptlearn.playbook.playbook import BULLET_ID_PATTERN
from promptlearn.store import Store

_HEADER = re.compile(re.escape(HEADER).replace(r"\{run\}", r"(?P<run>\S+)").replace(r"\{version\}", r"\d+")
                     .replace(r"\{sections\}", r"(?P<sections>\S*)").replace(r"\{next_id\}", r"(?P<next_id>\d+)"))
_SECTION = re.compile(r"^<!-- promptlearn:section (\S+) -->$")
_FILE_BULLET = re.compile(rf"^- (.+) <!-- ({BULLET_ID_PATTERN}) -->$")
_PROMPT_BULLET = re.compile(rf"^- \[({BULLET_ID_PATTERN})\] (.+)$")


def import_prompt(path: str | Path) -> Playbook:
    """A playbook from `path`; see the module docstring for what is recognised."""
    path = Path(path)
    text = read_text(path)
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("{", "[")):
        data = _json_or_none(text, path)
        if data is not None:
            return _from_json(data, path)
    if SEED_OPEN in text and SEED_CLOSE in text:
        return _from_instruction_file(text, path)
    return _from_rendered_prompt(text) or Playbook(seed_prompt=text)


def _json_or_none(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if path.suffix.lower() == ".json" or EXPORT_FORMAT in text or '"seed_prompt"' in text:
            raise ImportFileError(f"{path} line {exc.lineno}: not valid JSON ({exc.msg})") from None
        return None  # a plain prompt that happens to start with a brace


def _from_json(data: Any, path: Path) -> Playbook:
    if isinstance(data, dict) and (data.get("format") == EXPORT_FORMAT or "seed_prompt" in data):
        return playbook_from_document(data, str(path))
    if isinstance(data, dict) and isinstance(data.get("format"), str) and data["format"].startswith("promptlearn"):
        raise ImportFileError(f"{path}: unsupported export format '{data['format']}' (expected {EXPORT_FORMAT})")
    found = list(dict.fromkeys(_instructions(data)))
    if not found:
        raise ImportFileError(f"{path}: JSON without a promptlearn playbook or DSPy 'instructions'; "
                              "export with `promptlearn export --format json` or save a DSPy program")
    return Playbook(seed_prompt="\n\n".join(found))


def _instructions(data: Any) -> list[str]:
    """Every non-empty string under an `instructions` key (DSPy: `<predictor>.signature.instructions`), in order."""
    if isinstance(data, dict):
        out = []
        for key, value in data.items():
            if key == "instructions" and isinstance(value, str) and value.strip():
                out.append(value.strip())
            else:
                out += _instructions(value)
        return out
    if isinstance(data, list):
        return [text for item in data for text in _instructions(item)]
    return []


def _from_instruction_file(text: str, path: Path) -> Playbook:
    seed = text.split(SEED_OPEN, 1)[1].split(SEED_CLOSE, 1)[0].strip("\n")
    header = _HEADER.search(text)
    section, bullets = "instructions", []
    for line in text.split(SEED_CLOSE, 1)[1].splitlines():
        if match := _SECTION.match(line.strip()):
            section = match.group(1)
        elif match := _FILE_BULLET.match(line.strip()):
            bullets.append(Bullet(id=match.group(2), section=section, text=match.group(1)))
    return _build(seed, bullets, header.group("sections").split(",") if header else [],
                  int(header.group("next_id")) if header else None, path)


def _from_rendered_prompt(text: str) -> Playbook | None:
    """Bullets back from a `--format prompt` export, only when its `## Playbook` block is exactly ours."""
    seed, sep, block = text.rstrip().rpartition("\n\n## Playbook\n\n")
    if not sep:
        return None
    section, bullets = "", []
    for line in block.splitlines():
        if line.startswith("### "):
            section = normalize_section(line[4:])
        elif (match := _PROMPT_BULLET.match(line)) and section:
            bullets.append(Bullet(id=match.group(1), section=section, text=match.group(2)))
        elif line.strip():
            return None
    return _build(seed, bullets, [], None, None) if bullets else None


def _build(seed: str, bullets: list[Bullet], sections: list[str], next_id: int | None,
           path: Path | None) -> Playbook:
    used = [b.section for b in bullets]
    data: dict[str, Any] = {"seed_prompt": seed, "bullets": bullets}
    known = [s for s in sections if s] or list(DEFAULT_SECTIONS)
    data["sections"] = tuple(dict.fromkeys([*known, *used]))
    if next_id is not None:
        data["next_id"] = next_id
    try:
        return Playbook.model_validate(data)
    except ValueError as exc:
        where = f"{path}: " if path else ""
        raise ImportFileError(f"{where}cannot rebuild the playbook: {str(exc).splitlines()[-1]}") from None


def start_run_from_import(store: Store, playbook: Playbook, name: str, source: str = "") -> str:
    """A run of kind `import` whose version 0 is `playbook`: export, diff and evaluate it like any run."""
    run_id = store.create_run("import", name, {"source": source, "system_prompt": playbook.seed_prompt})
    store.commit_version(run_id, 0, playbook, status="seed", note=f"imported {source}")
    store.finish_run(run_id, "completed", {"bullets": len(playbook.bullets), "final_version": 0})
    return run_id
