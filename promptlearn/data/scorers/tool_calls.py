"""The `bfcl` scorer: the calls a reply made, judged by BFCL's AST checker (bfcl-eval, in its own virtualenv: see
promptlearn.data.bfcl), with the checker's error as feedback the judge and the rewriter read.

The reason starts with the kind of error, one of `ERROR_KINDS` (`wrong value: Invalid value for parameter 'base':
11. Expected one of [10].`), so the benchmark can count them. An output that is not a tool reply at all, or a call
whose arguments are not JSON, is a "malformed call": a score of 0 and a reason, like every other failure.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from promptlearn.data import bfcl
from promptlearn.data.datasets import Example
from promptlearn.data.scorers.base import SafeScorer, Score
from promptlearn.toolcalls import ToolReply, read_reply

Checker = Callable[[Sequence[dict[str, Any]]], list[dict[str, Any]]]
NO_CALL = "(no call)"
ERROR_KINDS = ("wrong function", "missing argument", "unexpected argument", "wrong type", "wrong value",
               "wrong number of calls", "no call", "call when none fits", "malformed call", "other")
# bfcl-eval's error types (the part before ":" first, then the whole) -> the kind of error named in the reason
_KINDS = {
    "simple_function_checker:wrong_func_name": "wrong function",
    "simple_function_checker:missing_required": "missing argument",
    "simple_function_checker:missing_optional": "missing argument",
    "simple_function_checker:unexpected_param": "unexpected argument",
    "type_error": "wrong type",
    "value_error": "wrong value",
    "irrelevance_error": "call when none fits",
    "ast_decoder": "malformed call",
}


def error_kind(error_type: str, reply: ToolReply) -> str:
    if error_type.endswith("wrong_count"):
        return "no call" if not reply.calls else "wrong number of calls"
    return _KINDS.get(error_type) or _KINDS.get(error_type.split(":", 1)[0]) or "other"


def kind_of(reason: str) -> str | None:
    """The error kind a `bfcl` reason starts with; None for a pass (or another scorer's reason)."""
    head = reason.split(":", 1)[0]
    return head if head in ERROR_KINDS else None


def calls_label(reply: ToolReply) -> str:
    """A failed answer as a label: the functions called, in order, or "(no call)". A passing answer's label is
    its target, so the gate's collapse and drift checks, which compare answer labels with the targets, see a
    right answer as the target it is: all-"no call" answers on irrelevance are not a collapse, on simple_python
    they are."""
    return "+".join(c.name or "?" for c in reply.calls) or NO_CALL


class BfclCalls(SafeScorer):
    """Scores a tool reply with bfcl-eval's checker; the example's metadata holds BFCL's `functions` and
    `category`, its target BFCL's possible answer (`[]` when no call is right). `checker` replaces the
    subprocess in tests."""

    explains_failures = True

    def __init__(self, checker: Checker | None = None) -> None:
        self._checker = checker or bfcl.check
        self.name = "bfcl"

    def score(self, output: str, example: Example) -> Score:
        reply = read_reply(output)
        if reply is None:
            return Score(0.0, "malformed call: the reply is not a tool-call reply (was the task model given tools?)")
        functions, category = example.metadata.get("functions"), example.metadata.get("category")
        if functions is None or category is None:
            return Score(0.0, "other: the bfcl scorer needs the metadata columns 'functions' and 'category'")
        calls = [c.as_dict() for c in reply.calls]
        verdict = self._checker([{"category": category, "functions": _loaded(functions), "calls": calls,
                                  "answer": example.target}])[0]
        if verdict.get("valid"):  # the reference answer, in the target's own form (see calls_label)
            return Score(1.0, "no call, as expected" if not reply.calls else "the calls pass BFCL's checker",
                         example.target.strip())
        label = calls_label(reply)
        kind = error_kind(str(verdict.get("error_type", "")), reply)
        errors = " ".join(str(e) for e in verdict.get("error") or []) or "the checker gave no detail"
        return Score(0.0, f"{kind}: {errors}", label)


def _loaded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
