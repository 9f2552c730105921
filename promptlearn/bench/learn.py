"""The `learn` preset: tasks where a playbook can carry what the small model lacks, and the peers as users run them.

- `clinc-banking`, `clinc-credit_cards`: CLINC150 intent classification, 15 intents per domain, drawn from the
  dataset's own train / val / test splits (`../shared/data/clinc150/`, CC BY 3.0). The seed prompt names the task
  and lists the intents; what the model lacks is where one intent ends and the next begins (`bill_balance` vs
  `balance`), which the data's conventions decide.
- one BIG-Bench-Hard task, chosen on zero-shot train+val accuracy (never on test) as the one furthest below what
  its answer format allows (`benchmarks/choose_bbh.py` writes `benchmarks/results/bbh-choice.json`).
- `rules-json`: product notes to turn into a JSON record under 10 hidden rules (`promptlearn.bench.rules_json`);
  the scorer names the rules that failed, so feedback is specific.

Every arm gets 150 learning rollouts (task-model calls on train and val); test is scored apart.
"""

from __future__ import annotations

import json
from functools import cache

from promptlearn.bench.task import BenchTask
from promptlearn.config import ModelsConfig
from promptlearn.data.paths import shared_data_dir
from promptlearn.errors import DatasetError

LEARN_BUDGET = 150
LEARN_MODELS = ModelsConfig(task="local/qwen2.5-0.5b", judge="local/qwen2.5-1.5b", rewriter="local/qwen2.5-1.5b",
                            task_max_tokens=32)
# The BBH task the chooser picked (benchmarks/results/bbh-choice.json, `make bench-bbh-choice`): zero-shot 0.00 on
# train+val, every answer unparsed, where always answering the most common option scores 0.42, the largest gap of
# the nine. A constant so the preset does not depend on a results file at import time.
LEARN_BBH_TASK = "disambiguation_qa"
CLINC_DOMAINS = ("banking", "credit_cards")
# promptlearn's loop at this budget: the config's defaults (a batch of 10 per iteration, up to 8 worked examples
# per candidate in a 700-token playbook, candidates screened before the one validation pass an iteration can
# afford, close calls scored on up to 40 unsplit examples, no judge critiques), over six iterations. Without the
# judge's critiques (learn.explain off) the loop reached the same test accuracy or better on all four tasks on a
# third of the reflection tokens or less (the `judge` arm keeps them, for the ablation).
LEARN_PROMPTLEARN: dict[str, object] = {"budget.max_iterations": 6}


@cache
def clinc_intents(domain: str) -> tuple[str, ...]:
    """The 15 intents of a CLINC150 domain, in the order `domains.json` lists them."""
    root = shared_data_dir()
    path = root / "clinc150" / "domains.json" if root else None
    if path is None or not path.is_file():
        raise DatasetError("clinc150: ../shared/data/clinc150/domains.json not found; set PROMPTLEARN_SHARED_DATA")
    domains = json.loads(path.read_text(encoding="utf-8"))
    if domain not in domains:
        raise DatasetError(f"clinc150: unknown domain '{domain}' (known: {', '.join(sorted(domains))})")
    return tuple(domains[domain])


def clinc_seed_prompt(domain: str, intents: tuple[str, ...]) -> str:
    readable = domain.replace("_", " ")
    return (f"Classify the customer's {readable} message into one of these {len(intents)} intents: "
            f"{', '.join(intents)}. Reply with the intent only.")


def clinc_task(domain: str) -> BenchTask:
    intents = clinc_intents(domain)
    return BenchTask(dataset=f"clinc150:{domain}", label=f"clinc-{domain}", split_column="split",
                     system_prompt=clinc_seed_prompt(domain, intents), train=60, val=30, test=150,
                     scorer="label:" + ",".join(intents),
                     models=LEARN_MODELS.model_copy(update={"task_max_tokens": 16}),
                     promptlearn=dict(LEARN_PROMPTLEARN), reflection_max_tokens=512)


def bbh_task(name: str = LEARN_BBH_TASK) -> BenchTask:
    return BenchTask(dataset=f"bbh:{name}", system_prompt="Answer the question.", train=30, val=30, test=100,
                     models=LEARN_MODELS, promptlearn=dict(LEARN_PROMPTLEARN), reflection_max_tokens=512)


def rules_json_task() -> BenchTask:
    return BenchTask(dataset="rules_json", label="rules-json", train=40, val=30, test=100,
                     system_prompt="Turn the product note into a JSON record.",
                     scorer="python:promptlearn.bench.rules_json:score",
                     models=LEARN_MODELS.model_copy(update={"task_max_tokens": 100}),
                     promptlearn=dict(LEARN_PROMPTLEARN), reflection_max_tokens=512)


def learn_family_task(name: str) -> BenchTask | None:
    """Another task run the same way as the preset's own (`clinc-travel`, `bbh:navigate`), to check that what the
    loop learns on the four tasks holds on others; None for a name outside the family."""
    if name.startswith("clinc-"):
        return clinc_task(name.removeprefix("clinc-"))
    if name.startswith("bbh:"):
        return bbh_task(name.removeprefix("bbh:"))
    return None


def learn_tasks() -> tuple[BenchTask, ...]:
    return (*(clinc_task(d) for d in CLINC_DOMAINS), bbh_task(), rules_json_task())


# The `user` preset: the conditions of the check on tasks the developers never see (../shared/design/ANCHORS.md),
# run as a user would run the loop: the config's defaults (no loop setting changed), train 30 / val 30 /
# test 100, 150 learning rollouts, the embedded models. Tasks of the same kinds, chosen before any result: two
# six-intent customer-service subsets of CLINC150 whose intents border each other (a list vs its update, booking
# vs confirming vs cancelling), and two binary BBH tasks.
USER_INTENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "home-lists": ("home", ("todo_list", "todo_list_update", "shopping_list", "shopping_list_update", "reminder",
                            "reminder_update")),
    "kitchen-reservations": ("kitchen_and_dining", ("confirm_reservation", "restaurant_reservation",
                                                    "cancel_reservation", "accept_reservations", "how_busy",
                                                    "restaurant_reviews")),
}
USER_BBH = ("navigate", "web_of_lies")


def user_intent_task(name: str) -> BenchTask:
    domain, intents = USER_INTENTS[name]
    prompt = (f"Classify the user's message into one of these intents: {', '.join(intents)}. "
              "Reply with the intent only.")
    return BenchTask(dataset=f"clinc150:{domain}", label=f"clinc-{name}", split_column="split", system_prompt=prompt,
                     train=30, val=30, test=100, scorer="label:" + ",".join(intents),
                     models=LEARN_MODELS.model_copy(update={"task_max_tokens": 16}), columns={"targets": list(intents)})


def user_tasks() -> tuple[BenchTask, ...]:
    bbh = (BenchTask(dataset=f"bbh:{name}", train=30, val=30, test=100, models=LEARN_MODELS) for name in USER_BBH)
    return (*(user_intent_task(name) for name in USER_INTENTS), *bbh)
