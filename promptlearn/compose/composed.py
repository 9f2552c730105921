"""Composable playbooks: several domain playbooks behind a router, or merged into one labelled prompt.

A `ComposedPlaybook` holds one `Playbook` per domain and a `RouterConfig`. `route(text)` picks the domain whose
playbook should answer (by keyword hits, or by asking a model to name one domain); `system_prompt_for(text)` is that
playbook's prompt; `as_single_prompt()` is every domain in one prompt, each under `## Domain: <name>`.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from promptlearn.errors import ConfigError
from promptlearn.lm.base import LM, LMRequest
from promptlearn.playbook import Playbook
from promptlearn.yamlio import first_field_error

COMPOSED_FORMAT = "promptlearn.composed/v1"
ROUTER_SYSTEM = ("You route requests to the right specialist. Reply with exactly one domain name from this list "
                 "and nothing else: {names}.")


class RouterConfig(BaseModel):
    """`keyword`: most keyword hits wins (ties and no hits go to `default`). `llm`: `model` names the domain."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["keyword", "llm"] = "keyword"
    keywords: dict[str, list[str]] = Field(default_factory=dict)
    model: str | None = None
    default: str


class ComposedPlaybook(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    domains: dict[str, Playbook]
    router: RouterConfig

    @model_validator(mode="after")
    def _check(self) -> ComposedPlaybook:
        if not self.domains:
            raise ValueError("a composed playbook needs at least one domain")
        names = set(self.domains)
        if self.router.default not in names:
            raise ValueError(f"router default '{self.router.default}' is not one of the domains {sorted(names)}")
        unknown = sorted(set(self.router.keywords) - names)
        if unknown:
            raise ValueError(f"keywords name unknown domain(s) {unknown}; domains are {sorted(names)}")
        if self.router.kind == "llm" and not self.router.model:
            raise ValueError("an llm router needs a model")
        return self

    def _patterns(self) -> dict[str, list[re.Pattern[str]]]:
        return {domain: [re.compile(rf"(?<!\w){re.escape(w.strip())}(?!\w)", re.IGNORECASE) for w in words
                         if w.strip()] for domain, words in self.router.keywords.items()}

    # ---- routing -----------------------------------------------------------------------------------------------
    def route(self, text: str, lm: LM | None = None) -> str:
        """The domain for `text`; any unusable router reply falls back to `router.default`."""
        if self.router.kind == "llm":
            return self._route_llm(text, lm)
        hits = {d: sum(len(p.findall(text)) for p in pats) for d, pats in self._patterns().items()}
        best = max(hits.values(), default=0)
        winners = [d for d, n in hits.items() if n == best]
        return winners[0] if best > 0 and len(winners) == 1 else self.router.default

    def router_request(self, text: str) -> LMRequest:
        names = list(self.domains)
        schema = {"type": "object", "properties": {"domain": {"type": "string", "enum": names}},
                  "required": ["domain"], "additionalProperties": False}
        messages = [{"role": "system", "content": ROUTER_SYSTEM.format(names=", ".join(names))},
                    {"role": "user", "content": text}]
        return LMRequest.chat(str(self.router.model), messages, max_tokens=32, json_schema=schema)

    def _route_llm(self, text: str, lm: LM | None) -> str:
        if lm is None:
            from promptlearn.lm import build_lm

            lm = build_lm()
        reply = lm.complete(self.router_request(text))
        return self.parse_route(reply.text) if reply.ok else self.router.default

    def parse_route(self, reply: str) -> str:
        """`{"domain": "billing"}`, `"billing"` or a bare `billing` (any case); anything else is the default."""
        by_lower = {name.lower(): name for name in self.domains}
        value: Any = reply.strip()
        with contextlib.suppress(ValueError):  # JSONDecodeError is a ValueError
            value = json.loads(value)
        if isinstance(value, dict):
            value = value.get("domain")
        if isinstance(value, str):
            return by_lower.get(value.strip().strip("'\"`.").strip().lower(), self.router.default)
        return self.router.default

    def system_prompt_for(self, text: str, lm: LM | None = None) -> str:
        return self.domains[self.route(text, lm)].render()

    # ---- export ------------------------------------------------------------------------------------------------
    def as_single_prompt(self) -> str:
        """Every domain's prompt, bullets included, under a `## Domain: <name>` heading."""
        intro = ("You handle requests from several domains. Use the section whose domain matches the request: "
                 + ", ".join(self.domains) + ".")
        blocks = [f"## Domain: {name}\n\n{playbook.render()}" for name, playbook in self.domains.items()]
        return "\n\n".join([intro, *blocks])

    def to_json(self) -> str:
        body = {"format": COMPOSED_FORMAT, "router": self.router.model_dump(mode="json"),
                "domains": {name: pb.model_dump(mode="json") for name, pb in self.domains.items()}}
        return json.dumps(body, ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str, source: str = "composed playbook") -> ComposedPlaybook:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{source} line {exc.lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(data, dict) or data.get("format") != COMPOSED_FORMAT:
            raise ConfigError(f"{source}: not a composed playbook (expected format '{COMPOSED_FORMAT}')")
        try:
            return cls.model_validate({"domains": data.get("domains"), "router": data.get("router")})
        except ValidationError as exc:
            raise ConfigError(f"{source}: invalid composed playbook: {first_field_error(exc)}") from None


def load_composed(path: str | Path) -> ComposedPlaybook:
    """Read a file written by `promptlearn export-composed --format router` (or `ComposedPlaybook.to_json()`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    return ComposedPlaybook.from_json(text, str(path))


def parse_keywords(spec: str) -> dict[str, list[str]]:
    """`"billing:refund,charge;shipping:parcel"` -> {"billing": ["refund", "charge"], "shipping": ["parcel"]}."""
    out: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        domain, sep, words = part.partition(":")
        if not sep or not domain.strip():
            raise ConfigError(f"bad keywords '{part}': use DOMAIN:word,word;DOMAIN:word")
        out.setdefault(domain.strip(), []).extend(w.strip() for w in words.split(",") if w.strip())
    return out

