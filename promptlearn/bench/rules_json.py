"""The `rules-json` benchmark task: turn an informal product note into a JSON record that obeys 10 hidden rules.

In the style of Arize's "JSON generation with N hidden rules" benchmark. Each input is a one-sentence note such as
"new item: steel water bottle, 750 ml, blue and green, costs 24.5 dollars, made by Acme, in stock"; the answer is
one JSON object. Ten rules (`RULES`) decide what counts as correct: the keys, their formats, a length limit and
some wording. The seed prompt (`SEED_PROMPT`) states none of them on purpose: a model cannot guess `price_usd` or
an upper-case brand, so a prompt only scores well once it has learned the rules. That is learnable because the
scorer's reason names every failed rule and what was wrong, with the rule's one-line statement (as many as fit,
rotating across examples), which the rewriter can turn into playbook bullets. `oracle_prompt()` states all ten:
the prompt a perfect learner would reach.

The scorer checks the rules against the note's facts, which it reads back from the reference answer in
`example.target` (always present), so a correct record need not equal the target string: any summary that keeps
the summary rule passes. Regenerate the bundled dataset with
    python -m promptlearn.bench.rules_json --out datasets/rules_json.jsonl --n 250 --seed 0
"""

from __future__ import annotations

import argparse
import json
import random
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptlearn.data.datasets import Example
from promptlearn.data.scorers import Score

__all__ = ["KEYS", "RULES", "SEED_PROMPT", "Rule", "generate", "oracle_prompt", "score", "write_dataset"]

SEED_PROMPT = "Turn the product note into a JSON record."
KEYS = ("name", "brand", "price_usd", "volume_ml", "colors", "in_stock", "summary")
SUMMARY_MAX_WORDS = 12
# SafeScorer clips every reason to 300 characters; the reason is built to fit, so no failed rule is cut mid-way.
REASON_LIMIT = 300

# ---- the rules ------------------------------------------------------------------------------------------------

Check = Callable[[Any, dict[str, Any]], str | None]


@dataclass(frozen=True)
class Rule:
    """`check(value, facts)` says what is wrong, or None. A rule with a `key` is skipped when the key is absent,
    so a missing key fails R2 alone instead of every rule about it."""

    id: str
    statement: str
    key: str | None = None
    check: Check | None = None


def _show(value: Any, limit: int = 40) -> str:
    """JSON spelling, so a reason tells the string "24.50" from the number 24.5."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_keys(record: dict[str, Any], _facts: dict[str, Any]) -> str | None:
    missing = [key for key in KEYS if key not in record]
    extra = [key[:20] for key in record if key not in KEYS]
    extra = extra if len(extra) <= 4 else [*extra[:4], "…"]  # a runaway object must not crowd out other rules
    parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"extra {', '.join(extra)}"] if extra else [])
    return " and ".join(parts) or None  # not "; ", which separates the rules in a reason


def _words_without(text: str, brand: str) -> list[str]:
    return [w for w in text.split() if w.strip(",.:;-").removesuffix("'s").casefold() != brand.casefold()]


def _check_name_case(value: Any, facts: dict[str, Any]) -> str | None:
    # The brand is R4's business: judged without it, "Acme Steel Bottle" fails R4 only.
    if not isinstance(value, str):
        return f"got {_show(value)}"
    core = " ".join(_words_without(value, facts["brand"]))
    if core == facts["name"]:
        return None
    if core.casefold() == facts["name"].casefold():
        return f"got {_show(value)}, not Title Case"
    return f"got {_show(value)}, expected {_show(facts['name'])}"


def _check_name_brand(value: Any, facts: dict[str, Any]) -> str | None:
    if isinstance(value, str) and len(_words_without(value, facts["brand"])) < len(value.split()):
        return f"got {_show(value)}"
    return None


def _check_brand(value: Any, facts: dict[str, Any]) -> str | None:
    if value == facts["brand"]:
        return None
    if isinstance(value, str) and value.casefold() == facts["brand"].casefold():
        return f"got {_show(value)}, not upper case"
    return f"got {_show(value)}, expected {_show(facts['brand'])}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_price(value: Any, facts: dict[str, Any]) -> str | None:
    if not _is_number(value):
        return f"got {_show(value)}, not a number"
    return None if abs(value - facts["price_usd"]) < 1e-6 else f"got {_show(value)}, expected {facts['price_usd']}"


def _exact(value: Any, facts: dict[str, Any], key: str) -> str | None:
    # type() rather than ==: 750.0 == 750 and True == 1, but neither is the JSON type the rule asks for.
    want = facts[key]
    return None if type(value) is type(want) and value == want else f"got {_show(value)}, expected {_show(want)}"


def _check_summary(value: Any, _facts: dict[str, Any]) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f"got {_show(value)}"
    words = len(value.split())
    if words > SUMMARY_MAX_WORDS:
        return f"got {words} words"
    return 'starts with "This"' if re.match(r"\W*this\b", value, re.IGNORECASE) else None


RULES: tuple[Rule, ...] = (
    Rule("R1", "output only the JSON object: no markdown code fences, no text around it"),
    Rule("R2", "keys are exactly " + ", ".join(KEYS), check=_check_keys),
    Rule("R3", "name is the product name in Title Case (every word capitalized)", "name", _check_name_case),
    Rule("R4", "name must not contain the brand", "name", _check_name_brand),
    Rule("R5", "brand is the brand name in upper case", "brand", _check_brand),
    Rule("R6", "price_usd is a JSON number in dollars, not a string, no $ sign", "price_usd", _check_price),
    Rule("R7", "volume_ml is an integer in milliliters (convert liters: 1.5 L is 1500)", "volume_ml",
         lambda value, facts: _exact(value, facts, "volume_ml")),
    Rule("R8", "colors is a JSON list of lowercase color names sorted alphabetically", "colors",
         lambda value, facts: _exact(value, facts, "colors")),
    Rule("R9", "in_stock is a JSON boolean (true or false), not a string", "in_stock",
         lambda value, facts: _exact(value, facts, "in_stock")),
    Rule("R10", f'summary has at most {SUMMARY_MAX_WORDS} words and does not start with "This"', "summary",
         _check_summary),
)


def oracle_prompt() -> str:
    """The seed prompt with every rule stated: what a perfectly learned playbook would say."""
    return SEED_PROMPT + "\n" + "\n".join(f"- {rule.statement}" for rule in RULES)


# ---- the scorer -----------------------------------------------------------------------------------------------


def _embedded_object(text: str) -> dict[str, Any] | None:
    """The first JSON object inside fences or prose, so the other nine rules still get checked and reported."""
    decoder = json.JSONDecoder()
    for match in list(re.finditer(r"\{", text))[:50]:
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _read_output(output: str) -> tuple[dict[str, Any] | None, str | None]:
    """(the record, what breaks R1 or None); the record is None when there is no JSON object at all."""
    text = output.strip()
    try:
        whole = json.loads(text)
    except ValueError:
        found = _embedded_object(text)
        if found is None:
            return None, f"got {_show(text)}"
        return found, "got a markdown code fence" if "```" in text else "got text around the JSON"
    if isinstance(whole, dict):
        return whole, None
    return None, f"got a JSON {type(whole).__name__}, not an object"


def _failures(record: dict[str, Any], format_problem: str | None, facts: dict[str, Any]) -> list[tuple[Rule, str]]:
    failed = [(RULES[0], format_problem)] if format_problem else []
    for rule in RULES[1:]:
        if rule.check is None or (rule.key is not None and rule.key not in record):
            continue
        problem = rule.check(record if rule.key is None else record[rule.key], facts)
        if problem:
            failed.append((rule, problem))
    return failed


def _entry(rule: Rule, problem: str) -> str:
    return f"{rule.id} {rule.statement} ({problem})"


def _reason(failed: Sequence[tuple[Rule, str]], example_id: str) -> str:
    """Every failed rule by id; as many in full (statement and problem) as fit REASON_LIMIT, then with the problem.

    An untaught model breaks five or more rules at once and only two or three statements fit, so which ones get
    them rotates with the example id: across a batch the rewriter still sees every failed rule's statement."""
    head = f"failed {len(failed)} of {len(RULES)} rules: "
    forms: list[str | None] = [None] * len(failed)  # None: named by id only, at the end

    def render() -> str:
        rest = [rule.id for (rule, _), form in zip(failed, forms, strict=True) if form is None]
        return head + "; ".join([f for f in forms if f] + ([f"also failed {', '.join(rest)}"] if rest else []))

    def upgrade(i: int, form: str) -> None:
        before, forms[i] = forms[i], form
        if len(render()) > REASON_LIMIT:
            forms[i] = before

    start = zlib.crc32(example_id.encode("utf-8")) % len(failed)
    for i in [*range(start, len(failed)), *range(start)]:
        upgrade(i, _entry(*failed[i]))
    for i, (rule, problem) in enumerate(failed):
        if forms[i] is None:
            upgrade(i, f"{rule.id} ({problem})")
    return render()


def _facts(target: str) -> dict[str, Any]:
    facts = json.loads(target)
    if not isinstance(facts, dict) or any(key not in facts for key in KEYS):
        raise ValueError(f"the target is not a rules-json record: {target[:60]!r}")
    return facts


def score(output: str, example: Example) -> Score:
    """1.0 when all 10 rules pass, else 0.0 with the failed rules in the reason; `parsed` is the compact record.

    `parsed` is the record itself, not a fixed label like "json": the gate rejects a candidate whose parsed
    answers collapse onto one value, and a constant label would look like exactly that collapse."""
    facts = _facts(example.target)
    record, format_problem = _read_output(output)
    if record is None:
        problem = _entry(RULES[0], format_problem or "")
        return Score(0.0, f"the output is not a JSON object, so no other rule was checked: {problem}")
    parsed = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    failed = _failures(record, format_problem, facts)
    if failed:
        return Score(0.0, _reason(failed, example.id), parsed)
    return Score(1.0, f"passes all {len(RULES)} rules", parsed)


# ---- the generator --------------------------------------------------------------------------------------------

# Lower-case vocabularies with no word in common, so a brand is never mistaken for part of a name.
_MATERIALS = ("steel", "glass", "bamboo", "ceramic", "plastic", "copper", "insulated", "enamel", "aluminum", "clay")
_ITEMS = ("water bottle", "travel mug", "thermos", "lunch box", "storage jar", "tea kettle", "flask", "tumbler",
          "pitcher", "coffee carafe", "food container", "watering can", "mixing bowl", "soup jar")
_BRANDS = ("Acme", "Northwind", "Bluepeak", "Zenith", "Orbit", "Havn", "Kestrel", "Lumo", "Tidewell", "Corvo")
_COLORS = ("black", "blue", "brown", "green", "orange", "pink", "purple", "red", "silver", "teal", "white", "yellow")
_VOLUMES_ML = (250, 300, 330, 350, 400, 500, 600, 750, 800, 1000, 1200, 1500, 2000, 2500, 3000)
_CENTS = (0, 0, 25, 49, 50, 95, 99)
_STOCK = {True: ("in stock", "available now", "ready to ship", "currently stocked"),
          False: ("out of stock", "sold out", "currently unavailable", "back-ordered")}
_LEADS = ("new item: {name}", "Add the {name}", "Listing request: {name}", "Please list the {name}",
          "New product - {name}", "We now carry the {name}")


@dataclass(frozen=True)
class _Product:
    name: str  # lower case, as a note writes it
    brand: str
    price: float
    volume_ml: int
    colors: tuple[str, ...]  # in the order the note lists them
    in_stock: bool


def _and_list(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _product(rng: random.Random) -> _Product:
    count = rng.choices((1, 2, 3), weights=(4, 4, 2))[0]  # few long lists: sorting three is already hard at 0.5B
    return _Product(
        name=f"{rng.choice(_MATERIALS)} {rng.choice(_ITEMS)}", brand=rng.choice(_BRANDS),
        price=round(rng.randint(4, 129) + rng.choice(_CENTS) / 100, 2), volume_ml=rng.choice(_VOLUMES_ML),
        colors=tuple(rng.sample(_COLORS, count)), in_stock=rng.random() < 0.6)


def _summary(p: _Product, rng: random.Random) -> str:
    # Short on purpose: the target stays under ~60 tokens; any summary that keeps R10 passes anyway.
    colors = _and_list(p.colors)
    forms = (f"{colors.capitalize()} {p.name}, {p.volume_ml} ml.",
             f"{p.name.capitalize()} in {colors}, {p.volume_ml} ml.",
             f"A {p.volume_ml} ml {p.name} in {colors}.")
    return rng.choice(forms)


def _record(p: _Product, rng: random.Random) -> dict[str, Any]:
    return {"name": p.name.title(), "brand": p.brand.upper(), "price_usd": p.price, "volume_ml": p.volume_ml,
            "colors": sorted(p.colors), "in_stock": p.in_stock, "summary": _summary(p, rng)}


def _volume_text(ml: int, rng: random.Random) -> str:
    # Liters more often for big volumes, as people write them; the model must convert either way (R7).
    if rng.random() < (0.6 if ml >= 1000 else 0.25):
        liters = f"{ml / 1000:g}"
        unit = rng.choice(("liter" if liters == "1" else "liters", "L", "l", "litre" if liters == "1" else "litres"))
        return f"{liters} {unit}"
    return rng.choice((f"{ml} ml", f"{ml}ml", f"{ml} milliliters", f"{ml} mL"))


def _price_text(price: float, rng: random.Random) -> str:
    return rng.choice((f"${price:.2f}", f"{price:g} dollars", f"{price:.2f} USD", f"${price:g}", f"{price:.2f}"))


def _colors_text(p: _Product, rng: random.Random) -> str:
    words = [c.capitalize() if rng.random() < 0.25 else c for c in p.colors]
    return _and_list(words) if rng.random() < 0.7 else "/".join(words)


def _clauses(p: _Product, brand: str, brand_in_lead: bool, rng: random.Random) -> list[str]:
    price = _price_text(p.price, rng)
    clauses = [rng.choice(("{}", "holds {}", "capacity {}", "size {}")).format(_volume_text(p.volume_ml, rng)),
               rng.choice(("{}", "comes in {}", "colors: {}", "available in {}")).format(_colors_text(p, rng)),
               rng.choice((f"costs {price}", f"price {price}", f"sells for {price}", f"priced at {price}")),
               rng.choice(_STOCK[p.in_stock])]
    if not brand_in_lead:
        clauses.append(rng.choice(("made by {}", "brand {}", "from {}", "by {}")).format(brand))
    rng.shuffle(clauses)
    return clauses


def _note(p: _Product, rng: random.Random) -> str:
    brand = rng.choices((p.brand, p.brand.lower(), p.brand.upper()), weights=(7, 2, 1))[0]
    name = rng.choices((p.name, p.name.capitalize(), p.name.title()), weights=(7, 2, 1))[0]
    brand_in_lead = rng.random() < 0.35  # "the Acme steel flask": the brand sits right against the name (R4)
    lead = rng.choice(_LEADS).format(name=f"{brand} {name}" if brand_in_lead else name)
    separator = rng.choice((", ", ", ", "; "))
    return lead + separator + separator.join(_clauses(p, brand, brand_in_lead, rng)) + rng.choice(("", ".", "."))


def generate(n: int, seed: int) -> list[dict[str, str]]:
    """`n` rows {id, input, target}; the same `seed` always gives the same rows."""
    rng = random.Random(seed)
    rows = []
    for index in range(1, n + 1):
        product = _product(rng)
        note = _note(product, rng)
        target = json.dumps(_record(product, rng), ensure_ascii=False, separators=(",", ":"))
        rows.append({"id": f"rules-json-{index:04d}", "input": note, "target": target})
    return rows


def write_dataset(path: str | Path, n: int, seed: int) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in generate(n, seed)), encoding="utf-8")
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the rules-json benchmark dataset as JSONL.")
    parser.add_argument("--out", default="datasets/rules_json.jsonl")
    parser.add_argument("--n", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"wrote {args.n} rows to {write_dataset(args.out, args.n, args.seed)}")


if __name__ == "__main__":
    main()
