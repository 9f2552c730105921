"""The meta-prompt rewriter: a batch of critiques in, a few validated playbook deltas out.

An unparseable or invalid reply is retried once with another seed, then recorded as a failed proposal; it
never stops the run. The `full_rewrite` mode (the published Arize recipe) exists for the ablation benchmark.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from promptlearn import templates
from promptlearn.config import LearnConfig, ModelsConfig
from promptlearn.judging.judge import parse_json_object
from promptlearn.lm.base import LM, LMRequest
from promptlearn.playbook import DELTA_BATCH_JSON_SCHEMA, Delta, DeltaParseError, Playbook
from promptlearn.playbook.deltas import parse_deltas_lenient
from promptlearn.seeding import stream_seed

FULL_REWRITE_SCHEMA: dict[str, Any] = {
    "type": "object", "properties": {"prompt": {"type": "string"}}, "required": ["prompt"],
}


@dataclass(frozen=True)
class Evidence:
    """One failed (or successful) rollout as the rewriter sees it."""

    rollout_id: str
    input: str
    output: str
    target: str
    critique: str = ""
    suggested_rule: str = ""
    contrast_input: str = ""  # a training example whose correct answer is the one the model wrongly gave
    contrast_target: str = ""
    check: str = ""  # what a code scorer found (a tool call's checker error, the rules broken); "" when nothing to add
    tool_call: bool = False  # the check is about function calls


@dataclass(frozen=True)
class Proposal:
    deltas: tuple[Delta, ...] = ()
    prompt: str | None = None  # full_rewrite mode only
    error: str | None = None
    attempts: int = 1
    lm_call_keys: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.error is None


_LEARN = LearnConfig.model_fields  # the run's defaults, for callers outside a run (tests, scripts)


class Rewriter:
    def __init__(self, lm: LM, model: str, template: str = _LEARN["rewriter_template"].default, max_deltas: int = 3,
                 temperature: float = _LEARN["temperature"].default,
                 max_tokens: int = ModelsConfig.model_fields["rewriter_max_tokens"].default,
                 mode: str = _LEARN["mode"].default):
        self.lm, self.model, self.template = lm, model, template
        self.max_deltas, self.temperature, self.max_tokens, self.mode = max_deltas, temperature, max_tokens, mode

    def prompt(self, playbook: Playbook, failures: Sequence[Evidence], successes: Sequence[Evidence],
               patterns: Sequence[str] = (), tried: Sequence[str] = (), retry_note: str = "") -> str:
        if self.mode == "full_rewrite":
            return templates.render("full_rewrite", prompt=playbook.render(), failures=failures,
                                    patterns=list(patterns))
        return templates.render(
            self.template, seed_prompt=playbook.seed_prompt, bullets=list(playbook.bullets), failures=failures,
            successes=successes, sections=[s for s in playbook.sections if s != "examples"],
            max_deltas=self.max_deltas, mode=self.mode, patterns=list(patterns), tried=list(tried)[-8:],
            retry_note=retry_note)

    def propose(self, playbook: Playbook, failures: Sequence[Evidence], successes: Sequence[Evidence],
                seed: int, patterns: Sequence[str] = (), tried: Sequence[str] = (), retry_note: str = "") -> Proposal:
        """Deltas for these failures. `tried`: rules proposed before and rejected (not to repeat); `retry_note`:
        why the previous reply to the same evidence was dropped."""
        failures, successes, refs = _stable_labels(failures, successes)
        proposal = self._propose(playbook, failures, successes, seed, patterns, tried, retry_note)
        deltas = tuple(d.model_copy(update={"evidence": [refs.get(e, e) for e in d.evidence]}) for d in proposal.deltas)
        return replace(proposal, deltas=deltas)

    def _propose(self, playbook: Playbook, failures: Sequence[Evidence], successes: Sequence[Evidence],
                 seed: int, patterns: Sequence[str], tried: Sequence[str], retry_note: str) -> Proposal:
        text = self.prompt(playbook, failures, successes, patterns, tried, retry_note)
        schema = FULL_REWRITE_SCHEMA if self.mode == "full_rewrite" else self.delta_schema(playbook)
        keys: list[str] = []
        error = "no reply"
        for attempt in (0, 1):
            request = LMRequest.chat(self.model, [{"role": "user", "content": text}], temperature=self.temperature,
                                     max_tokens=self.max_tokens, seed=stream_seed(seed, "rewrite_attempt", attempt),
                                     json_schema=schema)
            keys.append(request.key)
            reply = self.lm.complete(request)
            if reply.error:
                error = f"model error: {reply.error}"
                continue
            proposal, error = self._parse(reply.text)
            if proposal is not None:
                return Proposal(proposal.deltas, proposal.prompt, None, attempt + 1, tuple(keys))
        return Proposal(error=error, attempts=2, lm_call_keys=tuple(keys))

    def delta_schema(self, playbook: Playbook) -> dict[str, Any]:
        """The delta schema narrowed to this playbook: constrained decoding then cannot invent a bullet id, and
        cannot propose update/remove when there is nothing to update (small rewriters try both)."""
        ids = [b.id for b in playbook.bullets]
        ops = ["add"] if not ids or self.mode == "add_only" else ["add", "update", "remove"]
        schema = copy.deepcopy(DELTA_BATCH_JSON_SCHEMA)
        props = schema["properties"]["deltas"]["items"]["properties"]
        props["op"]["enum"] = ops
        props["bullet_id"] = {"type": "string", "enum": ["", *ids]}
        schema["properties"]["deltas"]["maxItems"] = self.max_deltas
        return schema

    def _parse(self, raw: str) -> tuple[Proposal | None, str]:
        if self.mode == "full_rewrite":
            data = parse_json_object(raw)
            prompt = str((data or {}).get("prompt", "")).strip()
            return (Proposal(prompt=prompt), "") if prompt else (None, "no 'prompt' field in the reply")
        try:
            valid, errors = parse_deltas_lenient(raw, self.max_deltas)
        except DeltaParseError as exc:
            return None, f"invalid deltas: {exc}"
        deltas = tuple(d for d in valid if self.mode != "add_only" or d.op == "add")
        if not deltas:
            return None, "invalid deltas: " + ("; ".join(errors) if errors else "the reply proposed no usable delta")
        return Proposal(deltas=deltas), ""


def _stable_labels(failures: Sequence[Evidence], successes: Sequence[Evidence]
                   ) -> tuple[list[Evidence], list[Evidence], dict[str, str]]:
    """Show the rewriter f1, f2, ... and s1, ... instead of database rollout ids, so the same batch in a rerun
    (new rows, new ids) makes the same request and is answered from the cache; cited labels map back to ids."""
    refs: dict[str, str] = {}
    shown: list[list[Evidence]] = [[], []]
    for prefix, group, out in (("f", failures, shown[0]), ("s", successes, shown[1])):
        for number, item in enumerate(group, 1):
            label = f"{prefix}{number}"
            refs[label] = item.rollout_id
            out.append(replace(item, rollout_id=label))
    return shown[0], shown[1], refs
