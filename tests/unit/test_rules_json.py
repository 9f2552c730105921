"""The rules-json task: a seeded generator, a scorer that names each failed hidden rule, and its bundled dataset."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from promptlearn.bench import rules_json
from promptlearn.bench.rules_json import KEYS, RULES, generate, score
from promptlearn.data import Example, load_dataset, make_scorer

DATASET = Path(__file__).resolve().parents[2] / "datasets" / "rules_json.jsonl"

# A hand-checked row: brand in the lead, liters to convert, colors out of order and capitalized in the note.
NOTE = "Please list the Acme steel water bottle, 0.75 liters, Green and blue, costs $24.50, in stock"
TARGET = {"name": "Steel Water Bottle", "brand": "ACME", "price_usd": 24.5, "volume_ml": 750,
          "colors": ["blue", "green"], "in_stock": True, "summary": "Blue and green steel water bottle, 750 ml."}


def example(target: dict[str, Any] = TARGET) -> Example:
    return Example(id="rules-json-0001", input=NOTE, target=json.dumps(target, separators=(",", ":")))


def answer(**changes: Any) -> str:
    return json.dumps({**TARGET, **changes})


def failed_ids(reason: str) -> set[str]:
    return set(re.findall(r"\bR\d+\b", reason))


# ---- the generator --------------------------------------------------------------------------------------------


def test_generate_is_deterministic_for_a_seed() -> None:
    assert generate(40, 3) == generate(40, 3)
    assert generate(40, 3) != generate(40, 4)
    assert generate(5, 3) == generate(40, 3)[:5]  # a longer run only appends rows


def test_rows_have_ids_and_compact_json_targets() -> None:
    rows = generate(12, 0)
    assert [row["id"] for row in rows[:2]] == ["rules-json-0001", "rules-json-0002"]
    for row in rows:
        assert set(row) == {"id", "input", "target"}
        assert list(json.loads(row["target"])) == list(KEYS)
        assert ": " not in row["target"] and ", " not in row["target"].split('"summary"')[0]


def test_inputs_and_targets_stay_short_and_varied() -> None:
    rows = generate(250, 0)
    assert max(len(row["input"].split()) for row in rows) < 50
    # ~3.3 characters a token for compact JSON: about 60 tokens at most.
    assert max(len(row["target"]) for row in rows) <= 220
    assert len({row["input"] for row in rows}) == len(rows)
    notes = " ".join(row["input"] for row in rows)
    for phrase in ("liters", " ml", "$", "dollars", "sold out", "in stock", "made by"):
        assert phrase in notes


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_every_generated_target_passes_all_rules(seed: int) -> None:
    for row in generate(250, seed):
        result = score(row["target"], Example(id=row["id"], input=row["input"], target=row["target"]))
        assert result.value == 1.0, (row, result.reason)
        assert result.reason == "passes all 10 rules"


def test_generated_facts_appear_in_the_note() -> None:
    for row in generate(100, 2):
        record, note = json.loads(row["target"]), row["input"].casefold()
        assert record["name"].casefold() in note and record["brand"].casefold() in note
        assert all(color in note for color in record["colors"])


# ---- the scorer, rule by rule ---------------------------------------------------------------------------------

MUTATIONS: dict[str, Callable[[], str]] = {
    "R1": lambda: f"```json\n{answer()}\n```",
    "R2": lambda: json.dumps({k: v for k, v in TARGET.items() if k != "summary"}),
    "R3": lambda: answer(name="steel water bottle"),
    "R4": lambda: answer(name="Acme Steel Water Bottle"),
    "R5": lambda: answer(brand="Acme"),
    "R6": lambda: answer(price_usd="$24.50"),
    "R7": lambda: answer(volume_ml=0.75),
    "R8": lambda: answer(colors=["green", "blue"]),
    "R9": lambda: answer(in_stock="yes"),
    "R10": lambda: answer(summary="This bottle keeps drinks cold."),
}


def test_the_reference_answer_passes() -> None:
    result = score(answer(), example())
    assert (result.value, result.reason) == (1.0, "passes all 10 rules")
    assert json.loads(result.parsed or "") == TARGET


def test_there_is_one_mutation_per_rule() -> None:
    assert list(MUTATIONS) == [rule.id for rule in RULES] == [f"R{i}" for i in range(1, 11)]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_breaking_one_rule_fails_exactly_that_rule(rule: rules_json.Rule) -> None:
    result = score(MUTATIONS[rule.id](), example())
    assert result.value == 0.0
    assert failed_ids(result.reason) == {rule.id}, result.reason
    assert result.reason.startswith(f"failed 1 of 10 rules: {rule.id} {rule.statement} (")


@pytest.mark.parametrize(("changes", "says"), [
    ({"name": "Acme's Steel Water Bottle"}, {"R4"}),
    ({"name": "Steel Bottle"}, {"R3"}),
    ({"brand": "NORTHWIND"}, {"R5"}),
    ({"price_usd": 24.49}, {"R6"}),
    ({"price_usd": "24.50"}, {"R6"}),
    ({"volume_ml": 750.0}, {"R7"}),
    ({"colors": ["Blue", "green"]}, {"R8"}),
    ({"colors": ["blue"]}, {"R8"}),
    ({"in_stock": 1}, {"R9"}),
    ({"summary": "A very long summary that keeps going well past the twelve word limit set by the rule."}, {"R10"}),
    ({"summary": ""}, {"R10"}),
    ({"price": 24.5}, {"R2"}),
])
def test_other_ways_to_break_a_rule(changes: dict[str, Any], says: set[str]) -> None:
    result = score(answer(**changes), example())
    assert result.value == 0.0 and failed_ids(result.reason) == says, result.reason


def test_the_reason_says_what_was_wrong() -> None:
    assert "(got \"$24.50\", not a number)" in score(answer(price_usd="$24.50"), example()).reason
    assert "(got [\"green\", \"blue\"], expected [\"blue\", \"green\"])" in score(MUTATIONS["R8"](), example()).reason
    assert "(missing summary)" in score(MUTATIONS["R2"](), example()).reason
    assert "(got 0.75, expected 750)" in score(MUTATIONS["R7"](), example()).reason
    assert '(starts with "This")' in score(MUTATIONS["R10"](), example()).reason


def test_renamed_keys_fail_the_key_rule_once_not_every_value_rule() -> None:
    record = {"product": "Steel Water Bottle", **{k: v for k, v in TARGET.items() if k != "name"}}
    result = score(json.dumps(record), example())
    assert failed_ids(result.reason) == {"R2"}
    assert "missing name and extra product" in result.reason


BAD = {"Name": "acme bottle", "brand": "acme", "price_usd": "$1", "volume_ml": "1 L", "colors": "Blue",
       "in_stock": "no", "summary": "This is " + "word " * 20}


def test_many_failures_stay_within_the_limit_and_all_are_named() -> None:
    result = score("Here you go: " + json.dumps(BAD), example())
    assert result.reason.startswith("failed 8 of 10 rules: R1 ")
    # name is missing, so R3 and R4 are not checked: R2 reports it once.
    assert failed_ids(result.reason) == {"R1", "R2", "R5", "R6", "R7", "R8", "R9", "R10"}
    assert len(result.reason) <= rules_json.REASON_LIMIT
    assert "(got 22 words)" in result.reason and "(missing name and extra Name)" in result.reason
    assert any(rule.statement in result.reason for rule in RULES)


def test_full_statements_rotate_across_examples() -> None:
    # Only two or three statements fit one reason; over a batch every failed rule is shown in full somewhere.
    output = "Here you go: " + json.dumps(BAD)
    reasons = [score(output, Example(f"rules_json:{i}", NOTE, example().target)).reason for i in range(40)]
    for rule_id in ("R1", "R2", "R5", "R6", "R7", "R8", "R9", "R10"):
        statement = next(rule.statement for rule in RULES if rule.id == rule_id)
        assert any(f"{rule_id} {statement} (" in reason for reason in reasons), rule_id


def test_a_runaway_object_still_names_every_failed_rule() -> None:
    record = {**TARGET, **{f"extra_key_number_{i}_with_a_long_name": i for i in range(30)}, "brand": "Acme"}
    result = score("```" + json.dumps(record) + "```", example())
    assert failed_ids(result.reason) == {"R1", "R2", "R5"} and len(result.reason) <= rules_json.REASON_LIMIT


# ---- output format --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["Sure! What is the product?", "{name: Steel Water Bottle}", '["a", "b"]'])
def test_an_output_without_a_json_object_fails_naming_the_format_rule(output: str) -> None:
    result = score(output, example())
    assert result.value == 0.0 and result.parsed is None
    assert result.reason.startswith("the output is not a JSON object, so no other rule was checked: R1 output only")
    assert failed_ids(result.reason) == {"R1"}


def test_fenced_and_prose_wrapped_answers_fail_r1_only_with_a_clear_reason() -> None:
    fenced = score(MUTATIONS["R1"](), example())
    assert "got a markdown code fence" in fenced.reason
    prose = score(f"Here is the JSON record:\n{answer()}\nLet me know if you need more.", example())
    assert failed_ids(prose.reason) == {"R1"} and "got text around the JSON" in prose.reason
    assert json.loads(prose.parsed or "") == TARGET  # the other nine rules were still checked on it


def test_whitespace_around_the_object_is_fine() -> None:
    assert score(f"\n  {json.dumps(TARGET, indent=2)}\n", example()).value == 1.0


def test_parsed_is_the_record_so_answers_never_look_collapsed() -> None:
    # The gate rejects candidates whose parsed answers share one value, so a constant label would block learning.
    rows = generate(20, 0)
    parsed = {score(r["target"], Example(id=r["id"], input=r["input"], target=r["target"])).parsed for r in rows}
    assert len(parsed) == len(rows)


# ---- the bundled dataset and the scorer string ----------------------------------------------------------------


def test_the_committed_dataset_is_generate_250_seed_0() -> None:
    rows = [json.loads(line) for line in DATASET.read_text(encoding="utf-8").splitlines()]
    assert rows == generate(250, 0)


def test_write_dataset_round_trips(tmp_path: Path) -> None:
    path = rules_json.write_dataset(tmp_path / "sub" / "rules.jsonl", 5, 0)
    assert path.read_text(encoding="utf-8") == "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in generate(5, 0))
    rules_json.main(["--out", str(tmp_path / "cli.jsonl"), "--n", "5", "--seed", "0"])
    assert (tmp_path / "cli.jsonl").read_bytes() == path.read_bytes()


def test_the_bundled_dataset_loads_by_name() -> None:
    dataset = load_dataset("rules_json", id="id")
    assert len(dataset) == 250 and dataset.examples[0].id == "rules-json-0001"


def test_the_scorer_works_as_a_python_scorer_string() -> None:
    scorer = make_scorer("python:promptlearn.bench.rules_json:score")
    assert scorer.name == "python:promptlearn.bench.rules_json:score"
    assert scorer(answer(), example()).value == 1.0
    wrong = scorer(answer(brand="Acme"), example())
    assert wrong.value == 0.0 and failed_ids(wrong.reason) == {"R5"}
    assert scorer("", example()).value == 0.0


def test_the_oracle_prompt_states_every_rule() -> None:
    prompt = rules_json.oracle_prompt()
    assert prompt.startswith(rules_json.SEED_PROMPT)
    assert all(rule.statement in prompt for rule in RULES)
