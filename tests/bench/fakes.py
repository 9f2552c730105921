"""A scripted world that speaks both promptlearn's plain messages and DSPy's ChatAdapter format.

The task model ("fake/task") answers with the bare label only when its instructions hold GOOD_RULE, else with a
sentence (wrong under the label scorer). The reflection model ("fake/reflect") serves promptlearn's judge and
rewriter, GEPA's reflection prompt and MIPROv2's proposer signatures, always proposing GOOD_RULE.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from promptlearn.bench import BenchTask
from promptlearn.config import ModelsConfig
from promptlearn.lm import FakeLM, LMRequest
from tests.fakes_task import GOOD_RULE, add, judge_reply, write_dataset

TASK, REFLECT = "fake/task", "fake/reflect"
SEED_PROMPT = "Route the ticket."
BETTER = f"{SEED_PROMPT} {GOOD_RULE}"
MODELS = ModelsConfig(task=TASK, judge=REFLECT, rewriter=REFLECT)
SCORER = "label:BILLING,BUG,ACCOUNT,SHIPPING"
_FIELD = re.compile(r"^\d+\. `(\w+)`", re.MULTILINE)


def dspy_fields(system: str) -> list[str]:
    """The output field names a DSPy ChatAdapter system message asks for."""
    if "Your output fields are:" not in system:
        return []
    block = system.split("Your output fields are:", 1)[1].split("All interactions will be structured", 1)[0]
    return _FIELD.findall(block)


def dspy_reply(values: dict[str, str], system: str = "") -> str:
    if "Outputs will be a JSON object" in system:  # DSPy's JSONAdapter (GEPA's instruction proposer)
        return json.dumps(values)
    return "".join(f"[[ ## {k} ## ]]\n{v}\n\n" for k, v in values.items()) + "[[ ## completed ## ]]"


def label_for(ticket: str, instructions: str) -> str:
    label = ticket.strip().split(" about ")[-1].upper()
    if GOOD_RULE in instructions:
        return label
    number = int(ticket.split()[1])
    return label if number % 8 == 0 else f"I think this ticket is about {label.lower()}."


def task_reply(request: LMRequest) -> str:
    system, user = request.messages[0][1], request.messages[-1][1]
    if not dspy_fields(system):
        return label_for(user, system)
    instructions = system.split("your objective is:", 1)[-1]
    ticket = user.split("[[ ## input ## ]]", 1)[1].split("\n\n", 1)[0].strip()
    return dspy_reply({"answer": label_for(ticket, instructions)})


def reflect_reply(request: LMRequest) -> str:
    props = (request.json_schema or {}).get("properties", {})
    if "failure_mode" in props:
        return judge_reply(request)
    if "prompt" in props:
        return json.dumps({"prompt": BETTER})
    if "deltas" in props:
        return add(GOOD_RULE)
    system = request.messages[0][1]
    fields = dspy_fields(system)  # GEPA's instruction proposer, MIPROv2's proposer and dataset summarizer
    return dspy_reply({f: BETTER if "instruction" in f else "Short support tickets, one label each." for f in fields},
                      system)


def world() -> FakeLM:
    def respond(request: LMRequest) -> str:
        return task_reply(request) if request.model == TASK else reflect_reply(request)

    return FakeLM(respond)


def make_task(tmp_path: Path, name: str = "tickets", **fields: Any) -> BenchTask:
    """A small ticket-routing task (train 8, val 6, test 10) on its own dataset file, in the test's database."""
    data = write_dataset(tmp_path / f"{name}.jsonl")
    base = {"dataset": str(data), "system_prompt": SEED_PROMPT, "train": 8, "val": 6, "test": 10, "scorer": SCORER,
            "models": MODELS, "db": str(tmp_path / "bench.db")}
    return BenchTask(**{**base, **fields})
