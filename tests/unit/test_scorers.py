"""Scorers: each on right and wrong outputs, their reasons, building them from config, and never raising."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptlearn.data import (
    Dataset,
    ExactLabel,
    ExactMatch,
    Example,
    JsonSchema,
    MultipleChoice,
    NumericTolerance,
    PythonFunction,
    RegexMatch,
    Score,
    Scorer,
    default_scorer_for,
    make_scorer,
)
from promptlearn.errors import ConfigError

LABELS = ["BILLING", "BUG", "ACCOUNT", "SHIPPING"]


def ex(target: str, input: str = "question") -> Example:
    return Example(id="t:1", input=input, target=target)


def dataset(*targets: str) -> Dataset:
    return Dataset("d", tuple(Example(id=f"d:{i}", input="q", target=t) for i, t in enumerate(targets)), "memory")


# --- Score ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [-0.1, 1.01, float("nan")])
def test_score_value_must_be_in_unit_interval(value: float) -> None:
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        Score(value, "x")


# --- exact ----------------------------------------------------------------------------------------------------


def test_exact_match_ignores_case_and_surrounding_space_by_default() -> None:
    assert ExactMatch()("  Paris \n", ex("paris")).value == 1.0
    wrong = ExactMatch()("Lyon", ex("Paris"))
    assert wrong.value == 0.0
    assert wrong.reason == "expected 'Paris', got 'Lyon'"


def test_exact_match_options() -> None:
    assert ExactMatch(case_sensitive=True)("paris", ex("Paris")).value == 0.0
    assert ExactMatch(strip=False)(" Paris", ex("Paris")).value == 0.0


# --- multiple choice --------------------------------------------------------------------------------------------

OPTIONS = "Which?\nOptions:\n(A) red\n(B) green\n(C) blue"


@pytest.mark.parametrize(
    "output",
    [
        "(B)",
        "B",
        "b",
        "b)",
        "B.",
        "The answer is (B).",
        "Answer: B",
        "answer: b",
        "So the answer is **(B)**",
        "(A) is tempting, but (B) fits better.",
        "A is wrong. The answer is B, not C.",
        "I think the answer is (B) because (C) says blue.",
        "A dog would say B",
        "Either (A) or (B). I choose (B).",
    ],
)
def test_choice_finds_the_letter(output: str) -> None:
    score = MultipleChoice()(output, ex("(B)", OPTIONS))
    assert (score.value, score.parsed) == (1.0, "(B)"), score.reason


@pytest.mark.parametrize(
    ("output", "parsed"),
    [
        ("(C)", "(C)"),
        ("The answer is (A).", "(A)"),
        ("B or C? I pick C", "(C)"),
        ("Answer: C, since (B) is out", "(C)"),
    ],
)
def test_choice_wrong_letter(output: str, parsed: str) -> None:
    score = MultipleChoice()(output, ex("(B)", OPTIONS))
    assert (score.value, score.parsed) == (0.0, parsed)
    assert score.reason == f"answered {parsed}, expected (B)"


def test_choice_without_any_letter() -> None:
    score = MultipleChoice()("the answer is a bit unclear to me", ex("(A)", OPTIONS))
    assert score.value == 0.0 and score.parsed is None
    assert "no option letter" in score.reason


def test_choice_ignores_letters_that_are_not_options() -> None:
    # "E" is not among (A)-(C) in the input, so the last real option wins.
    assert MultipleChoice()("(B), see appendix E", ex("(B)", OPTIONS)).parsed == "(B)"


@pytest.mark.parametrize(
    ("output", "target", "parsed", "value"),
    [
        ("Yes.", "Yes", "yes", 1.0),
        ("yes", "Yes", "yes", 1.0),
        ("No", "Yes", "no", 0.0),
        ("Let me think. Step 1 yes... so the answer is No.", "No", "no", 1.0),
        ("We go back, so no. Final: yes", "yes", "yes", 1.0),
        ("True", "True", "true", 1.0),
        ("That is false.", "True", "false", 0.0),
        ("The argument is invalid", "invalid", "invalid", 1.0),
        ("The argument is invalid", "valid", "invalid", 0.0),
    ],
)
def test_choice_word_answers(output: str, target: str, parsed: str, value: float) -> None:
    score = MultipleChoice()(output, ex(target))
    assert (score.value, score.parsed) == (value, parsed), score.reason


@pytest.mark.parametrize(
    ("output", "target"),
    [
        ("To determine if the argument is valid or invalid, we look at the premises.", "invalid"),
        ("To determine if the argument is valid or invalid, we look at the premises.", "valid"),
        ("yes or no", "yes"),
        ("Yes/No", "no"),
        ("Is it true or false? Hard to say.", "false"),
        ("Whether the argument is valid or not depends on premise 2.", "valid"),
        ("The answer is yes or no.", "no"),
        ("**Yes** or **No**", "yes"),
    ],
)
def test_choice_word_listing_both_options_is_unparsed(output: str, target: str) -> None:
    score = MultipleChoice()(output, ex(target))
    assert (score.value, score.parsed) == (0.0, None), score.reason
    assert score.reason.startswith("named several options") and "without choosing" in score.reason


@pytest.mark.parametrize(
    ("output", "target", "parsed"),
    [
        ("invalid. The argument affirms the consequent.", "invalid", "invalid"),
        ("The answer is No", "no", "no"),
        ("Valid or invalid? The premises force the conclusion, so it is valid.", "valid", "valid"),
        ("Yes or no: the answer is no.", "no", "no"),
        ("No. Whether yes or no matters less than why.", "no", "no"),
    ],
)
def test_choice_word_chosen_after_listing_the_options(output: str, target: str, parsed: str) -> None:
    score = MultipleChoice()(output, ex(target))
    assert (score.value, score.parsed) == (1.0, parsed), score.reason


@pytest.mark.parametrize("output", ["(A) or (B)", "The answer is (B) or (C).", "B/C", "(A), (B) or (C)?", "'A' or 'B'"])
def test_choice_letter_listing_several_options_is_unparsed(output: str) -> None:
    score = MultipleChoice()(output, ex("(B)", OPTIONS))
    assert (score.value, score.parsed) == (0.0, None), score.reason
    assert score.reason.startswith("named several options") and "without choosing" in score.reason


def test_choice_word_missing() -> None:
    score = MultipleChoice()("I cannot tell", ex("No"))
    assert score.value == 0.0 and score.reason == "no yes/no answer found in the output (expected no)"


def test_choice_falls_back_to_text_for_other_targets() -> None:
    assert MultipleChoice()("apple banana", ex("apple banana")).value == 1.0
    assert MultipleChoice()("apple", ex("apple banana")).value == 0.0


# --- numeric ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "target"),
    [
        ("42", "42"),
        ("There are 1,234 apples.", "1234"),
        ("It drops to -7 degrees", "-7"),
        ("between 3-5, so 5", "5"),
        ("pi is about 3.14159", "3.14159"),
        ("I count seven", "7"),
        ("First 2 + 3 = 5, then 5 + 4 = 9", "9"),
        ("The answer is 12 (3 apples + 9 pears)", "12"),
        ("12.0", "12"),
    ],
)
def test_numeric_extracts_the_answer(output: str, target: str) -> None:
    score = NumericTolerance()(output, ex(target))
    assert score.value == 1.0, score.reason


def test_numeric_wrong_and_reasons() -> None:
    wrong = NumericTolerance()("I think 8", ex("9"))
    assert (wrong.value, wrong.parsed, wrong.reason) == (0.0, "8", "answered 8, expected 9")
    none = NumericTolerance()("no idea", ex("9"))
    assert none.value == 0.0 and none.reason == "no number found in the output (expected 9)"
    not_number = NumericTolerance()("5", ex("five apples"))
    assert not_number.value == 0.0 and "is not a number" in not_number.reason


def test_numeric_tolerance() -> None:
    assert NumericTolerance()("100.001", ex("100")).value == 0.0
    assert NumericTolerance()("100.00001", ex("100")).value == 1.0
    assert NumericTolerance(rel=1e-3)("100.01", ex("100")).value == 1.0
    with pytest.raises(ConfigError, match="tolerances must be >= 0"):
        NumericTolerance(rel=-1)


# --- regex -----------------------------------------------------------------------------------------------------


def test_regex_substitutes_the_escaped_target() -> None:
    scorer = RegexMatch(r"\b{target}\b")
    assert scorer("so 1+1 it is", ex("1+1")).parsed == "1+1"
    # Escaping matters: unescaped "1+1" would match "11".
    assert scorer("11", ex("1+1")).value == 0.0
    assert RegexMatch(r"^\d{3}$")("123", ex("")).value == 1.0


def test_regex_ignore_case_and_invalid_pattern() -> None:
    assert RegexMatch("{target}", ignore_case=True)("PARIS", ex("paris")).value == 1.0
    with pytest.raises(ConfigError, match=r"scorer 'regex:\(unclosed': invalid regular expression"):
        RegexMatch("(unclosed")


# --- json -------------------------------------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {
        "label": {"type": "string", "enum": LABELS},
        "confidence": {"type": "number"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "count": {"type": "integer"},
    },
    "required": ["label"],
}


def test_json_valid_in_fence_and_equal_to_json_target() -> None:
    output = 'Here you go:\n```json\n{"label": "BUG", "confidence": 0.9}\n```'
    score = JsonSchema(SCHEMA)(output, ex('{"confidence": 0.9, "label": "BUG"}'))
    assert score.value == 1.0, score.reason
    assert score.parsed == '{"confidence": 0.9, "label": "BUG"}'


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("not json", "the output is not valid JSON"),
        ('{"confidence": 1}', "$: missing required key 'label'"),
        ('{"label": "OTHER"}', '$.label: "OTHER" is not one of'),
        ('{"label": "BUG", "tags": ["a", 2]}', "$.tags[1]: expected string, got integer"),
        ('{"label": "BUG", "count": true}', "$.count: expected integer, got boolean"),
        ('["BUG"]', "$: expected object, got array"),
    ],
)
def test_json_failures(output: str, reason: str) -> None:
    score = JsonSchema(SCHEMA)(output, ex("not json target"))
    assert score.value == 0.0
    assert reason in score.reason


def test_json_differs_from_target() -> None:
    score = JsonSchema(SCHEMA)('{"label": "BUG"}', ex('{"label": "BILLING"}'))
    assert score.value == 0.0 and "differs from the target" in score.reason


@pytest.mark.parametrize("schema", [{"type": "text"}, {"minLenght": 3}, {"properties": []}, "object",
                                    {"properties": {"a": {"tpye": "string"}}}, {"items": {"required": "a"}}])
def test_json_rejects_unsupported_schemas(schema: object) -> None:
    with pytest.raises(ConfigError, match="json scorer schema at \\$"):
        JsonSchema(schema)  # type: ignore[arg-type]


def test_json_schema_is_checked_where_the_typo_is() -> None:
    with pytest.raises(ConfigError, match=r"at \$\.properties\.a: .*'tpye' was unexpected.*typo"):
        JsonSchema({"properties": {"a": {"tpye": "string"}}})


def test_json_supports_every_json_schema_keyword() -> None:
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^[A-Z]{3}$"}},
              "minProperties": 1}
    assert JsonSchema(schema)('{"code": "ABC"}', ex("x")).value == 1.0
    score = JsonSchema(schema)('{"code": "abcd"}', ex("x"))
    assert score.value == 0.0 and "$.code: 'abcd' does not match" in score.reason


# --- python function -------------------------------------------------------------------------------------------


def test_python_function_return_types() -> None:
    assert PythonFunction(lambda o, e: o == e.target)("x", ex("x")).value == 1.0
    assert PythonFunction(lambda o, e: 0.25)("x", ex("x")).value == 0.25
    assert PythonFunction(lambda o, e: Score(0.5, "half", "h"))("x", ex("x")) == Score(0.5, "half", "h")


@pytest.mark.parametrize("result", [2.0, "yes", None, float("nan")])
def test_python_function_bad_return_scores_zero(result: object) -> None:
    score = PythonFunction(lambda o, e: result, name="mine")("x", ex("x"))
    assert score.value == 0.0 and score.reason.startswith("mine returned")


def test_python_function_exception_scores_zero_with_reason() -> None:
    def broken(output: str, example: Example) -> float:
        raise KeyError("missing")

    score = PythonFunction(broken)("x", ex("x"))
    assert score.value == 0.0
    assert "KeyError" in score.reason and "broken" in score.reason


# --- exact label ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["BILLING", "billing", ' "Billing". ', "'BILLING'", "BILLING.", "`billing`\n"])
def test_label_accepts_the_bare_label(output: str) -> None:
    score = ExactLabel(LABELS)(output, ex("BILLING"))
    assert (score.value, score.parsed) == (1.0, "BILLING"), score.reason


def test_label_reasons() -> None:
    scorer = ExactLabel(LABELS)
    other = scorer("ACCOUNT", ex("BILLING"))
    assert (other.value, other.reason, other.parsed) == (0.0, "expected 'BILLING', got 'ACCOUNT'", "ACCOUNT")
    sentence = "This message is about a billing problem because the customer was charged twice for it."
    long = scorer(sentence, ex("BILLING"))
    assert (long.value, long.reason, long.parsed) == (0.0, "expected 'BILLING', got a 15-word sentence", None)
    assert scorer("Label: BILLING", ex("BILLING")).value == 0.0


def test_label_needs_labels() -> None:
    with pytest.raises(ConfigError, match="labels must be non-empty"):
        ExactLabel([])
    with pytest.raises(ConfigError, match="labels must be non-empty"):
        ExactLabel(["A", " "])


# --- make_scorer and defaults ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "kind", "name"),
    [
        ("exact", ExactMatch, "exact"),
        ("choice", MultipleChoice, "choice"),
        ("numeric", NumericTolerance, "numeric"),
        ("json", JsonSchema, "json"),
        ("regex:^{target}$", RegexMatch, "regex:^{target}$"),
        ("label:A, B,C", ExactLabel, "label:A,B,C"),
        ({"name": "numeric", "rel": 0.01}, NumericTolerance, "numeric"),
        ({"type": "label", "labels": ["X", "Y"]}, ExactLabel, "label:X,Y"),
        ({"name": "json", "schema": {"type": "object"}}, JsonSchema, "json"),
    ],
)
def test_make_scorer_builds(spec: str | dict[str, object], kind: type, name: str) -> None:
    scorer = make_scorer(spec)
    assert isinstance(scorer, kind) and isinstance(scorer, Scorer)
    assert scorer.name == name


def test_make_scorer_passes_scorers_through_and_wraps_functions() -> None:
    scorer = ExactMatch()
    assert make_scorer(scorer) is scorer
    wrapped = make_scorer(lambda o, e: True)
    assert isinstance(wrapped, PythonFunction) and wrapped("x", ex("y")).value == 1.0


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "my_scoring.py").write_text(
        "def contains(output, example):\n    return example.target in output\n\nNOT_A_FUNCTION = 3\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "my_scoring"
    sys.modules.pop("my_scoring", None)


def test_make_scorer_imports_python_functions(user_module: str) -> None:
    scorer = make_scorer(f"python:{user_module}:contains")
    assert scorer.name == "python:my_scoring:contains"
    assert scorer("it is 42", ex("42")).value == 1.0
    assert scorer("it is 41", ex("42")).value == 0.0
    assert make_scorer({"name": "python", "function": f"{user_module}:contains"})("42", ex("42")).value == 1.0


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "python:no_such_module_xyz:f",
            "scorer 'python:no_such_module_xyz:f': cannot import module 'no_such_module_xyz'",
        ),
        (
            "python:my_scoring:missing",
            "scorer 'python:my_scoring:missing': module 'my_scoring' has no function 'missing'",
        ),
        ("python:my_scoring:NOT_A_FUNCTION", "has no function 'NOT_A_FUNCTION'"),
        ("python:contains", "write it as python:module.path:function"),
    ],
)
def test_make_scorer_python_errors(user_module: str, spec: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        make_scorer(spec)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("fuzzy", "unknown scorer 'fuzzy'; known scorers: exact, choice, numeric, regex:<pattern>"),
        ("exact:yes", "unknown scorer 'exact:yes'"),
        ("regex:", "scorer 'regex:' needs an argument, e.g. regex:<pattern>"),
        ("label", "needs an argument, e.g. label:A,B,C"),
        ({"name": "fuzzy"}, "unknown scorer"),
        ({"name": "numeric", "tolerance": 1}, "options for 'numeric' are: rel, abs"),
        (42, "expected a name such as exact"),
    ],
)
def test_make_scorer_config_errors(spec: object, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        make_scorer(spec)  # type: ignore[arg-type]
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("targets", "kind"),
    [
        (("(A)", "(B)", "(C)"), MultipleChoice),
        (("Yes", "No", "yes"), MultipleChoice),
        (("True", "False"), MultipleChoice),
        (("3", "-2.5", "1,000"), NumericTolerance),
        (("BILLING", "BUG"), ExactMatch),
        (("(A)", "12"), ExactMatch),
        ((), ExactMatch),
    ],
)
def test_default_scorer_for(targets: tuple[str, ...], kind: type) -> None:
    assert type(default_scorer_for(dataset(*targets))) is kind


# --- never raising ------------------------------------------------------------------------------------------------


def all_scorers() -> list[Scorer]:
    return [
        ExactMatch(),
        MultipleChoice(),
        NumericTolerance(),
        RegexMatch(r"\b{target}\b"),
        JsonSchema(SCHEMA),
        PythonFunction(lambda o, e: 1 / len(o.strip().split()[0]) if o.strip() else 0),
        PythonFunction(lambda o, e: int(o)),
        ExactLabel(LABELS),
    ]


@pytest.mark.parametrize("scorer", all_scorers(), ids=lambda s: s.name)
def test_empty_output_scores_zero(scorer: Scorer) -> None:
    for output in ("", "   \n", None):
        score = scorer(output, ex("BILLING"))  # type: ignore[arg-type]
        assert score.value == 0.0 and "empty" in score.reason


@settings(max_examples=300, deadline=None)
@given(
    output=st.text() | st.sampled_from(["(B)", "Answer: 7", '{"label": "BUG"}', "1,234.5", "```json\n[1\n```"]),
    target=st.text() | st.sampled_from(["(B)", "Yes", "7", "BUG", '{"label": "BUG"}']),
    options=st.text(),
)
def test_no_scorer_raises_on_any_text(output: str, target: str, options: str) -> None:
    example = Example(id="h:1", input=options, target=target)
    for scorer in all_scorers():
        score = scorer(output, example)
        assert isinstance(score, Score)
        assert 0.0 <= score.value <= 1.0
        assert isinstance(score.reason, str) and score.reason.strip() and "\n" not in score.reason
