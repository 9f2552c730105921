"""Runs inside bfcl-eval's own virtualenv (promptlearn.data.bfcl builds it and starts this file there); promptlearn
never imports it. It only calls bfcl-eval: its data loaders, its tool converter and its AST checker.

    python bfcl_runner.py dataset <category>   one JSON line per entry: id, input, target, tools, functions, category
    python bfcl_runner.py check                 stdin: a JSON list of {"category", "functions", "calls", "answer"};
                                                stdout: a JSON list of {"valid", "error", "error_type"}

The checker reads one field of bfcl-eval's model registry (whether function names had their dots written as
underscores, as OpenAI-style tools require). That registry imports every provider's SDK (and their pins, numpy
1.x among them), so one entry stands in for it below; everything else is bfcl-eval's code, unchanged.
"""

from __future__ import annotations

import json
import sys
import types
from typing import Any

MODEL = "promptlearn"


class _ModelConfig:
    underscore_to_dot = True  # the tools offered have "_" for "." in names, as BFCL's OpenAI-style handlers do


def _stand_in_registry() -> None:
    module = types.ModuleType("bfcl_eval.constants.model_config")
    module.MODEL_CONFIG_MAPPING = {MODEL: _ModelConfig()}  # type: ignore[attr-defined]
    sys.modules["bfcl_eval.constants.model_config"] = module


def dataset(category: str) -> None:
    from bfcl_eval.constants.enums import ModelStyle  # type: ignore[import-not-found]
    from bfcl_eval.constants.type_mappings import GORILLA_TO_OPENAPI  # type: ignore[import-not-found]
    from bfcl_eval.model_handler.utils import convert_to_tool  # type: ignore[import-not-found]
    from bfcl_eval.utils import load_dataset_entry, load_ground_truth_entry  # type: ignore[import-not-found]

    entries = load_dataset_entry(category)
    answers = {}
    if "irrelevance" not in category:  # irrelevance ships no answers: the right one is no call
        answers = {a["id"]: a["ground_truth"] for a in load_ground_truth_entry(category)}
    for entry in entries:
        turn = entry["question"][0]
        text = "\n".join(m["content"] for m in turn if m.get("role") == "user")
        tools = convert_to_tool(entry["function"], GORILLA_TO_OPENAPI, ModelStyle.OPENAI_COMPLETIONS)
        row = {"id": entry["id"], "input": text, "target": json.dumps(answers.get(entry["id"], []), ensure_ascii=False),
               "tools": tools, "functions": entry["function"], "category": category}
        print(json.dumps(row, ensure_ascii=False))


def check_one(item: dict[str, Any]) -> dict[str, Any]:
    from bfcl_eval.constants.enums import Language  # type: ignore[import-not-found]
    from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker  # type: ignore[import-not-found]
    from bfcl_eval.utils import is_empty_output, is_function_calling_format_output  # type: ignore[import-not-found]

    category = item["category"]
    decoded = [{call.get("name") or "": call.get("arguments")} for call in item["calls"]]
    if "irrelevance" in category:  # bfcl-eval's relevance rule: right when the output holds no function call
        if is_empty_output(decoded):
            return {"valid": True, "error": [], "error_type": ""}
        return {"valid": False, "error": ["Valid syntax. Successfully decode AST when it should not."],
                "error_type": "irrelevance_error:decoder_success"}
    if not is_function_calling_format_output(decoded) or any(not next(iter(d)) for d in decoded):
        return {"valid": False, "error": ["Did not output in the specified format."],
                "error_type": "ast_decoder:decoder_wrong_output_format"}
    result = ast_checker(item["functions"], decoded, json.loads(item["answer"]), Language.PYTHON, category, MODEL)
    return {"valid": bool(result["valid"]), "error": [str(e) for e in result.get("error", [])],
            "error_type": str(result.get("error_type", "")) if not result["valid"] else ""}


def main(argv: list[str]) -> int:
    _stand_in_registry()
    if argv[:1] == ["dataset"] and len(argv) == 2:
        dataset(argv[1])
        return 0
    if argv == ["check"]:
        items = json.load(sys.stdin)
        out = []
        for item in items:
            try:
                out.append(check_one(item))
            except Exception as exc:  # the checker's crash on one odd output is that output's failure
                out.append({"valid": False, "error": [f"checker failed: {type(exc).__name__}: {exc}"],
                            "error_type": "checker_crash"})
        json.dump(out, sys.stdout)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
