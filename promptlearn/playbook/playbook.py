"""The playbook: the user's seed prompt plus itemised, id-tagged bullets grouped in sections.

Immutable on purpose: `apply` returns a new playbook, so every version the optimizer tries can be stored,
compared and rolled back without defensive copies.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from promptlearn.playbook.deltas import Delta, collapse_whitespace, normalize_section

DEFAULT_SECTIONS = ("instructions", "strategies", "pitfalls", "formatting")
BULLET_ID_PATTERN = r"[a-z]{3}-\d{5,}"
_BULLET_ID = re.compile(rf"^{BULLET_ID_PATTERN}$")
_BRACKETS = re.compile(r"\[([^\[\]\n]{1,200})\]")
_CITED_ID = re.compile(rf"(?<![a-z0-9]){BULLET_ID_PATTERN}(?![0-9])")


# A worked example as `render()` writes it: `- [exa-00001] Input: "<input>" -> Answer: <answer>`.
_EXAMPLE_LINE = re.compile(r'^- \[[a-z]{3}-\d{5,}\] Input: "(.*)" -> Answer: (.*)$')
_EXAMPLES_HEADING = "### Examples"


def split_worked_examples(prompt: str) -> tuple[str, list[tuple[str, str]]]:
    """A rendered prompt without its `### Examples` block, and that block's (input, answer) pairs.

    The task model is shown worked examples as conversation turns (user input, assistant answer) before the real
    input, as DSPy shows demos: a 0.5B model learned far more from 15 examples as turns than from the same
    examples listed in its system prompt (CLINC150 banking val: 0.67 vs 0.53, seed 0.33). A prompt without the
    block comes back unchanged with no pairs."""
    if _EXAMPLES_HEADING not in prompt:
        return prompt, []
    kept: list[str] = []
    pairs: list[tuple[str, str]] = []
    inside = False
    for line in prompt.split("\n"):
        if line.strip() == _EXAMPLES_HEADING:
            inside = True
            continue
        if inside and line.startswith("#"):
            inside = False
        match = _EXAMPLE_LINE.match(line) if inside else None
        if match:
            pairs.append((match.group(1), match.group(2).strip()))
        elif not (inside and not line.strip()):
            kept.append(line)
    text = "\n".join(kept).rstrip()
    if text.endswith("## Playbook"):  # only examples were learned: no empty heading left behind
        text = text[: -len("## Playbook")].rstrip()
    return text, pairs


def token_count(text: str) -> int:
    """Approximate tokens as ceil(chars / 4): tokenizer-free and stable across models, fine for budgets."""
    return math.ceil(len(text) / 4)


def section_prefix(section: str) -> str:
    """Three-letter id prefix from the section slug, padded with `x` (`"qa"` -> `"qax"`)."""
    letters = re.sub(r"[^a-z]", "", normalize_section(section))
    return (letters[:3] or "sec").ljust(3, "x")


def make_bullet_id(section: str, number: int) -> str:
    return f"{section_prefix(section)}-{number:05d}"


def bullet_number(bullet_id: str) -> int:
    """The global counter part of an id; lower means older."""
    return int(bullet_id.rsplit("-", 1)[1])


def section_title(section: str) -> str:
    return " ".join(word.capitalize() for word in section.replace("_", " ").split())


def cited_bullet_ids(text: str) -> list[str]:
    """Bullet ids a model cited as `[ins-00012]` (or `[ins-00012, pit-00003]`), unique, in order of first use."""
    seen: dict[str, None] = {}
    for group in _BRACKETS.findall(text):
        for bullet_id in _CITED_ID.findall(group.lower()):
            seen.setdefault(bullet_id, None)
    return list(seen)


class Bullet(BaseModel):
    """One learned rule. `source` records provenance: ids of the rollouts/critiques/deltas behind it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    section: str
    text: str
    helpful: int = Field(default=0, ge=0)
    harmful: int = Field(default=0, ge=0)
    source: list[str] = Field(default_factory=list)
    created_version: int = Field(default=0, ge=0)

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _BULLET_ID.match(value):
            raise ValueError(f"bullet id {value!r} is not of the form 'ins-00012'")
        return value

    @field_validator("section")
    @classmethod
    def _slug(cls, value: str) -> str:
        return normalize_section(value)

    @field_validator("text")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return collapse_whitespace(value)

    def render(self) -> str:
        return f"- [{self.id}] {self.text}"


class DeltaOutcome(NamedTuple):
    delta: Delta
    applied: bool
    reason: str


@dataclass(frozen=True)
class ApplyResult:
    """The new playbook and, for each delta in order, whether it applied and why (or why not)."""

    playbook: Playbook
    outcomes: list[DeltaOutcome] = field(default_factory=list)

    @property
    def applied(self) -> list[Delta]:
        return [o.delta for o in self.outcomes if o.applied]

    @property
    def rejected(self) -> list[DeltaOutcome]:
        return [o for o in self.outcomes if not o.applied]


def _merge_sources(old: Sequence[str], new: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*old, *new]))


class Playbook(BaseModel):
    """The seed prompt (never edited by deltas) plus bullets in ordered sections."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed_prompt: str
    sections: tuple[str, ...] = DEFAULT_SECTIONS
    bullets: tuple[Bullet, ...] = ()
    next_id: int = Field(default=1, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _default_next_id(cls, data: Any) -> Any:
        # A hand-built playbook need not track the counter; start after the highest id it holds.
        if isinstance(data, dict) and "next_id" not in data and data.get("bullets"):
            ids = [b.id if isinstance(b, Bullet) else b.get("id", "") for b in data["bullets"]]
            numbers = [bullet_number(i) for i in ids if isinstance(i, str) and _BULLET_ID.match(i)]
            if numbers:
                data = {**data, "next_id": max(numbers) + 1}
        return data

    @field_validator("sections")
    @classmethod
    def _slug_sections(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(normalize_section(s) for s in value))

    @model_validator(mode="after")
    def _check_consistency(self) -> Playbook:
        ids = [b.id for b in self.bullets]
        if len(set(ids)) != len(ids):
            raise ValueError("bullet ids must be unique")
        unknown = {b.section for b in self.bullets} - set(self.sections)
        if unknown:
            raise ValueError(f"bullets use sections not in `sections`: {sorted(unknown)}")
        if ids and max(bullet_number(i) for i in ids) >= self.next_id:
            raise ValueError("next_id must be greater than every bullet id number")
        return self

    def get(self, bullet_id: str) -> Bullet | None:
        return next((b for b in self.bullets if b.id == bullet_id), None)

    def by_section(self) -> dict[str, list[Bullet]]:
        """Every section in order (empty ones included) mapped to its bullets in playbook order."""
        groups: dict[str, list[Bullet]] = {s: [] for s in self.sections}
        for bullet in self.bullets:
            groups[bullet.section].append(bullet)
        return groups

    def apply(self, deltas: Sequence[Delta], version: int = 0) -> ApplyResult:
        """Apply deltas in order; returns a new playbook. Bad ids are reported in the outcomes, never raised."""
        state = _Draft(self)
        outcomes = [state.apply(delta, version) for delta in deltas]
        return ApplyResult(playbook=state.build(), outcomes=outcomes)

    def render_bullets(self) -> str:
        """The `## Playbook` block alone (empty string when there are no bullets)."""
        if not self.bullets:
            return ""
        blocks = ["## Playbook"]
        for section, bullets in self.by_section().items():
            if bullets:
                lines = [f"### {section_title(section)}", *(b.render() for b in bullets)]
                blocks.append("\n".join(lines))
        return "\n\n".join(blocks)

    def render(self) -> str:
        """The system prompt the task model sees: seed prompt, then the bullets by section."""
        parts = [self.seed_prompt.rstrip(), self.render_bullets()]
        return "\n\n".join(p for p in parts if p)

    def bullet_tokens(self) -> int:
        """Approximate tokens the bullets add on top of the seed prompt (see `token_count`)."""
        return token_count(self.render_bullets())

    def with_counters(
        self, helpful: Mapping[str, int] | None = None, harmful: Mapping[str, int] | None = None
    ) -> Playbook:
        """Add helpful/harmful counts per bullet id; ids not in the playbook (hallucinated citations) are ignored."""
        helpful, harmful = helpful or {}, harmful or {}
        # Rebuilt through the constructor so a negative total fails validation instead of slipping through.
        bullets = tuple(
            Bullet(
                **b.model_dump(exclude={"helpful", "harmful"}),
                helpful=b.helpful + helpful.get(b.id, 0),
                harmful=b.harmful + harmful.get(b.id, 0),
            )
            for b in self.bullets
        )
        return self.model_copy(update={"bullets": bullets})

    def without(self, bullet_ids: Sequence[str]) -> Playbook:
        drop = set(bullet_ids)
        return self.model_copy(update={"bullets": tuple(b for b in self.bullets if b.id not in drop)})

    def replace_bullet(self, bullet: Bullet) -> Playbook:
        bullets = tuple(bullet if b.id == bullet.id else b for b in self.bullets)
        return self.model_copy(update={"bullets": bullets})

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str) -> Playbook:
        return cls.model_validate_json(text)

    def content_hash(self) -> str:
        """sha256 of the canonical JSON of the full state (bullets, counters, provenance, counter)."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class _Draft:
    """Mutable scratch state for one `apply` call; never escapes it."""

    def __init__(self, base: Playbook) -> None:
        self.base = base
        self.sections = list(base.sections)
        self.bullets = list(base.bullets)
        self.next_id = base.next_id

    def _index(self, bullet_id: str | None) -> int | None:
        return next((i for i, b in enumerate(self.bullets) if b.id == bullet_id), None)

    def apply(self, delta: Delta, version: int) -> DeltaOutcome:
        if delta.op == "add":
            return self._add(delta, version)
        index = self._index(delta.bullet_id)
        if index is None:
            return DeltaOutcome(delta, False, f"unknown bullet id {delta.bullet_id}")
        if delta.op == "remove":
            del self.bullets[index]
            return DeltaOutcome(delta, True, f"removed {delta.bullet_id}")
        return self._update(delta, index)

    def _add(self, delta: Delta, version: int) -> DeltaOutcome:
        if delta.section not in self.sections:
            self.sections.append(delta.section)
        bullet_id = make_bullet_id(delta.section, self.next_id)
        self.next_id += 1
        bullet = Bullet(
            id=bullet_id, section=delta.section, text=delta.text, source=list(delta.evidence), created_version=version
        )
        self.bullets.append(bullet)
        return DeltaOutcome(delta, True, f"added {bullet_id}")

    def _update(self, delta: Delta, index: int) -> DeltaOutcome:
        old = self.bullets[index]
        if old.text == delta.text:
            return DeltaOutcome(delta, False, f"text of {old.id} unchanged")
        # The bullet keeps its id, section and counters: an update refines a rule, it does not replace it.
        self.bullets[index] = old.model_copy(
            update={"text": delta.text, "source": _merge_sources(old.source, delta.evidence)}
        )
        return DeltaOutcome(delta, True, f"updated {old.id}")

    def build(self) -> Playbook:
        # The constructor re-runs the playbook checks (unique ids, known sections) on the result.
        return Playbook(
            seed_prompt=self.base.seed_prompt,
            sections=tuple(self.sections),
            bullets=tuple(self.bullets),
            next_id=self.next_id,
        )
