"""Explanatory judges: the critique comes before the verdict, in a JSON reply enforced by a schema.

Where a code scorer knows the truth it decides correctness; the judge still writes its own verdict, so the run
can measure how far the judge agrees with the code (the judge-trust table).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from promptlearn import templates
from promptlearn.config import ModelsConfig
from promptlearn.data import Example
from promptlearn.lm.base import LM, LMRequest

FAILURE_MODES = ("wrong_format", "wrong_answer", "missing_knowledge", "reasoning_error", "verbose", "refusal",
                 "none", "other")

EXPLAIN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "comparison": {"type": "string"},  # the two answers side by side first: a small judge then grades facts
        "critique": {"type": "string"},
        "failure_mode": {"type": "string", "enum": list(FAILURE_MODES)},
        "suggested_rule": {"type": "string"},
        "verdict": {"type": "string", "enum": ["pass", "fail"]},
        "confidence": {"type": "number"},
    },
    "required": ["comparison", "critique", "failure_mode", "suggested_rule", "verdict", "confidence"],
}

RUBRIC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "criteria": {"type": "array", "items": {
            "type": "object",
            "properties": {"id": {"type": "string"}, "reason": {"type": "string"}, "met": {"type": "boolean"}},
            "required": ["id", "reason", "met"]}},
        "critique": {"type": "string"},
        "verdict": {"type": "string", "enum": ["pass", "fail"]},
    },
    "required": ["criteria", "critique", "verdict"],
}


@dataclass(frozen=True)
class Verdict:
    critique: str
    failure_mode: str
    suggested_rule: str
    verdict: str  # pass | fail | unparseable
    confidence: float | None
    raw: str = ""
    lm_call_key: str | None = None
    criteria: tuple[dict[str, Any], ...] = ()

    @property
    def parsed(self) -> bool:
        return self.verdict != "unparseable"


def parse_json_object(raw: str) -> dict[str, Any] | None:
    """The first JSON object in a reply (models wrap JSON in fences or prose); None if there is none."""
    text = re.sub(r"^```(?:json)?|```$", "", raw.strip(), flags=re.MULTILINE).strip()
    start = text.find("{")
    while start != -1:
        try:
            value, _end = json.JSONDecoder().raw_decode(text[start:])
            if isinstance(value, dict):
                return value
        except (ValueError, RecursionError):  # not JSON, a number too long to convert, or nesting too deep
            pass
        start = text.find("{", start + 1)
    return None


def _unparseable(raw: str, key: str | None, why: str) -> Verdict:
    return Verdict(critique=f"judge reply unparseable ({why}): {raw[:200]}", failure_mode="other",
                   suggested_rule="", verdict="unparseable", confidence=None, raw=raw, lm_call_key=key)


def _confidence(value: Any) -> float | None:
    try:
        return min(1.0, max(0.0, float(value)))
    except (TypeError, ValueError, OverflowError):
        return None


class ExplanatoryJudge:
    def __init__(self, lm: LM, model: str, template: str = "explain",
                 max_tokens: int = ModelsConfig.model_fields["judge_max_tokens"].default):
        self.lm, self.model, self.template, self.max_tokens = lm, model, template, max_tokens
        self.name = f"{template}@{model}"

    def prompt(self, system_prompt: str, example: Example, output: str, check: str = "") -> str:
        """`check`: what a code scorer found (a tool call's wrong argument, say), shown to the judge as fact."""
        tools = example.tools
        return templates.render(self.template, system_prompt=system_prompt, input=example.input, output=output,
                                target=example.target, failure_modes=FAILURE_MODES, check=check,
                                tools=json.dumps(list(tools), ensure_ascii=False) if tools is not None else "")

    def judge(self, system_prompt: str, example: Example, output: str, check: str = "") -> Verdict:
        text = self.prompt(system_prompt, example, output, check)
        request = LMRequest.chat(self.model, [{"role": "user", "content": text}],
                                 max_tokens=self.max_tokens, json_schema=EXPLAIN_SCHEMA)
        reply = self.lm.complete(request)
        if reply.error:
            return _unparseable("", request.key, f"model error: {reply.error}")
        data = parse_json_object(reply.text)
        if data is None or str(data.get("verdict", "")).lower() not in ("pass", "fail"):
            return _unparseable(reply.text, request.key, "no JSON object with a pass/fail verdict")
        mode = str(data.get("failure_mode", "other"))
        return Verdict(
            critique=str(data.get("critique", "")).strip()[:1000],
            failure_mode=mode if mode in FAILURE_MODES else "other",
            suggested_rule=str(data.get("suggested_rule", "")).strip()[:400],
            verdict=str(data["verdict"]).lower(),
            confidence=_confidence(data.get("confidence")),
            raw=reply.text,
            lm_call_key=request.key,
        )


class RubricJudge:
    """Scores each YAML criterion with its reason; passes only when every criterion is met."""

    def __init__(self, lm: LM, model: str, rubric: str, template: str = "rubric", max_tokens: int = 400):
        self.lm, self.model, self.template, self.max_tokens = lm, model, template, max_tokens
        self.criteria = templates.load_rubric(rubric)
        self.name = f"rubric:{rubric}@{model}"

    def judge(self, system_prompt: str, example: Example, output: str) -> Verdict:
        text = templates.render(self.template, input=example.input, output=output, target=example.target,
                                criteria=self.criteria)
        request = LMRequest.chat(self.model, [{"role": "user", "content": text}], max_tokens=self.max_tokens,
                                 json_schema=RUBRIC_SCHEMA)
        reply = self.lm.complete(request)
        data = parse_json_object(reply.text) if not reply.error else None
        if data is None or not isinstance(data.get("criteria"), list):
            return _unparseable(reply.text, request.key, reply.error or "no criteria list")
        scored = tuple(c for c in data["criteria"] if isinstance(c, dict))
        unmet = [str(c.get("id")) for c in scored if not c.get("met")]
        all_met = not unmet and len(scored) >= len(self.criteria)
        return Verdict(
            critique=str(data.get("critique", "")).strip()[:1000],
            failure_mode="none" if all_met else "other",
            suggested_rule="",
            verdict="pass" if all_met else "fail",
            confidence=sum(bool(c.get("met")) for c in scored) / max(1, len(self.criteria)),
            raw=reply.text,
            lm_call_key=request.key,
            criteria=scored,
        )
