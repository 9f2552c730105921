"""Deltas: the only way a playbook changes. A rewriter LM proposes them as JSON; we validate them here.

Small, itemised edits (ACE-style) rather than whole-prompt rewrites keep every change attributable to the
evidence that motivated it and stop a single bad rewrite from erasing what the playbook already learned.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

MAX_DELTA_TEXT = 400
# A worked example (input, answer, a short reason) is longer than a rule: it carries a whole task input.
EXAMPLES_SECTION = "examples"
MAX_EXAMPLE_TEXT = 1200
MAX_DELTAS = 8
DEFAULT_SECTION = "instructions"

DeltaOp = Literal["add", "update", "remove"]


class DeltaParseError(ValueError):
    """The rewriter's reply could not be read as a batch of valid deltas."""


def normalize_section(name: str) -> str:
    """Section slug: lowercase words joined by `_`, so `"Edge cases"` and `"edge-cases"` name one section."""
    words = re.findall(r"[a-z0-9]+", name.lower())
    return "_".join(words) or DEFAULT_SECTION


def collapse_whitespace(text: str) -> str:
    """One paragraph: each bullet renders as a single `- [id] text` line."""
    return " ".join(text.split())


class Delta(BaseModel):
    """One proposed edit. `add` ignores `bullet_id` (the playbook assigns ids); `update` keeps the section."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    op: DeltaOp
    section: str = DEFAULT_SECTION
    bullet_id: str | None = None
    text: str = ""
    reason: str = ""
    evidence: list[str] = Field(default_factory=list)

    @field_validator("section", mode="before")
    @classmethod
    def _slug_section(cls, value: Any) -> Any:
        return normalize_section(value) if isinstance(value, str) else value

    @field_validator("bullet_id", mode="before")
    @classmethod
    def _empty_id_is_none(cls, value: Any) -> Any:
        # The JSON schema has no nullable types (simpler grammars), so "" stands for "no id".
        if isinstance(value, str):
            value = value.strip().strip("[]").strip()
            return value or None
        return value

    @field_validator("text", "reason", mode="before")
    @classmethod
    def _collapse(cls, value: Any) -> Any:
        return collapse_whitespace(value) if isinstance(value, str) else value

    @field_validator("evidence")
    @classmethod
    def _clean_evidence(cls, value: list[str]) -> list[str]:
        return [v.strip() for v in value if v.strip()]

    @model_validator(mode="after")
    def _check_op(self) -> Delta:
        if self.op in ("add", "update"):
            if not self.text:
                raise ValueError(f"{self.op} needs non-empty text")
            limit = MAX_EXAMPLE_TEXT if self.section == EXAMPLES_SECTION else MAX_DELTA_TEXT
            if len(self.text) > limit:
                raise ValueError(f"{self.op} text is {len(self.text)} chars; the limit is {limit}")
        if self.op in ("update", "remove") and self.bullet_id is None:
            raise ValueError(f"{self.op} needs bullet_id")
        return self


class DeltaBatch(BaseModel):
    """What one rewriter call returns; capped so a single step cannot rewrite the whole playbook."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    deltas: list[Delta] = Field(default_factory=list, max_length=MAX_DELTAS)


# Flat on purpose: no $ref, anyOf or nullable types, so llama.cpp's schema-to-grammar converter compiles it.
# Text length is left to the validator; a 400-step repetition bloats the grammar.
DELTA_BATCH_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "deltas": {
            "type": "array",
            "maxItems": MAX_DELTAS,
            "items": {
                "type": "object",
                "properties": {
                    "op": {"type": "string", "enum": ["add", "update", "remove"]},
                    "section": {"type": "string"},
                    "bullet_id": {"type": "string"},
                    "text": {"type": "string"},
                    "reason": {"type": "string"},
                    "evidence": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["op", "text", "reason"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["deltas"],
    "additionalProperties": False,
}

_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)```", re.DOTALL)


def _first_json(text: str) -> Any:
    """The first JSON object or array in `text`, skipping prose and unparseable brackets before it."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[\[{]", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except (ValueError, RecursionError):  # not JSON, a number too long to convert, or nesting too deep
            continue
        return value
    raise DeltaParseError("no JSON object or array found")


def _extract_json(raw: str) -> Any:
    """Prefer the first fenced block (models often put prose with brackets around it), else the whole reply."""
    fenced = _FENCE.search(raw)
    if fenced:
        try:
            return _first_json(fenced.group(1))
        except DeltaParseError:
            pass
    return _first_json(raw)


def _as_batch_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        return {"deltas": value}
    if "deltas" in value:
        return value
    if "op" in value:
        # A lone delta object is a common small-model shortcut; accept it as a batch of one.
        return {"deltas": [value]}
    raise DeltaParseError("JSON object has no 'deltas' key")


def _short_reason(err: ValidationError) -> str:
    first = err.errors()[0]
    loc = ".".join(str(part) for part in first["loc"]) or "batch"
    return f"{loc}: {first['msg']} ({err.error_count()} error(s))"


def parse_delta_batch(raw: str) -> DeltaBatch:
    """Read a rewriter reply into a DeltaBatch: tolerates code fences, surrounding prose and a bare list."""
    value = _as_batch_dict(_extract_json(raw))
    try:
        return DeltaBatch.model_validate(value)
    except ValidationError as err:
        raise DeltaParseError(_short_reason(err)) from err


def parse_deltas_lenient(raw: str, limit: int = MAX_DELTAS) -> tuple[list[Delta], list[str]]:
    """Like `parse_delta_batch`, but one invalid delta does not sink the valid ones beside it: returns the valid
    deltas (at most `limit`) and a reason for each invalid one. Raises DeltaParseError only if there is no JSON."""
    items = _as_batch_dict(_extract_json(raw)).get("deltas")
    if not isinstance(items, list):
        raise DeltaParseError("'deltas' is not a list")
    valid, errors = [], []
    for index, item in enumerate(items):
        if isinstance(item, dict) and item.get("op") == "update" and not item.get("bullet_id") and item.get("text"):
            # Small rewriters say "update" with no id when they mean a new rule: keep it as an add.
            item = {**item, "op": "add", "reason": f"{item.get('reason', '')} (update without a bullet id)".strip()}
        try:
            valid.append(Delta.model_validate(item))
        except ValidationError as err:
            errors.append(f"delta {index}: {_short_reason(err)}")
    return valid[:limit], errors
