"""Scorers: turn (model output, example) into a `Score` in [0, 1] with a short reason and the parsed answer.

A scorer never raises on an output: empty outputs, model errors and garbage all score 0 with a reason, because
one odd reply must not stop a run. Configuration mistakes (a bad regex, an unknown name) raise `ConfigError` early.
"""

from __future__ import annotations

import importlib
import inspect
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

from promptlearn.data.datasets import Dataset, Example
from promptlearn.errors import ConfigError

__all__ = [
    "SCORER_NAMES",
    "ExactLabel",
    "ExactMatch",
    "JsonSchema",
    "MultipleChoice",
    "NumericTolerance",
    "PythonFunction",
    "RegexMatch",
    "Score",
    "Scorer",
    "default_scorer_for",
    "make_scorer",
]

SCORER_NAMES = ("exact", "choice", "numeric", "regex:<pattern>", "label:A,B,C", "json", "python:module.path:function")


@dataclass(frozen=True)
class Score:
    """`parsed` is the normalized answer pulled from the output ("(B)", "yes", "42"), used for answer distributions."""

    value: float
    reason: str
    parsed: str | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.value <= 1.0:
            raise ValueError(f"Score.value must be in [0, 1], got {self.value!r}")


@runtime_checkable
class Scorer(Protocol):
    name: str

    def __call__(self, output: str, example: Example) -> Score: ...


def _clip(text: str, limit: int = 40) -> str:
    """A short one-line excerpt, so a reason stays one readable line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _show(text: str, limit: int = 40) -> str:
    return repr(_clip(text, limit))


class _SafeScorer:
    """Shared guard: empty output scores 0, and any failure inside a scorer becomes a 0 with the reason."""

    name = "scorer"

    def __call__(self, output: str, example: Example) -> Score:
        text = output if isinstance(output, str) else ("" if output is None else str(output))
        if not text.strip():
            return Score(0.0, "the output is empty (the model returned nothing or failed)")
        try:
            score = self.score(text, example)
        except Exception as exc:  # a crash in one scorer call must not end the run; the reason keeps it visible
            score = Score(0.0, f"scorer '{self.name}' failed on this output: {type(exc).__name__}: {exc}")
        # Reasons are shown one per line in reports, so keep them to one short line whatever the text held.
        return replace(score, reason=_clip(score.reason, 300))

    def score(self, output: str, example: Example) -> Score:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class ExactMatch(_SafeScorer):
    def __init__(self, strip: bool = True, case_sensitive: bool = False) -> None:
        self.strip = strip
        self.case_sensitive = case_sensitive
        self.name = "exact"

    def _normalize(self, text: str) -> str:
        text = text.strip() if self.strip else text
        return text if self.case_sensitive else text.casefold()

    def score(self, output: str, example: Example) -> Score:
        got = self._normalize(output)
        if got == self._normalize(example.target):
            return Score(1.0, "matches the target exactly", got)
        return Score(0.0, f"expected {_show(example.target)}, got {_show(output)}", got)


# ---- multiple choice and yes/no -------------------------------------------------------------------------------

_WORD_FAMILIES = (("yes", "no"), ("true", "false"), ("valid", "invalid"))
_LETTER_TARGET = re.compile(r"^\(?([A-Za-z])\)?\.?$")
_MARKER = r"(?i:\banswer\b(?:\s+is|\s+would\s+be|\s+should\s+be)?)\s*[:=\-]?\s*(?i:option\s+|choice\s+)?[*\"'“]*\s*"
_OPTION = r"(?:\(([A-Za-z])\)|([A-Za-z])\)|((?!I)[A-Z])(?![A-Za-z0-9'’])|([a-z])(?=\s*[.,;!]?\s*$))"
_MARKED_LETTER = re.compile(_MARKER + _OPTION)
_LONE_LETTER = re.compile(r"^\W*\(?([A-Za-z])\)?\W*$")
_BRACKETED_LETTER = re.compile(r"(?<![A-Za-z])\(?([A-Za-z])\)")
_BARE_LETTER = re.compile(r"(?<![A-Za-z'’])([A-Z])(?![A-Za-z0-9'’])")
_ARTICLE_AFTER = re.compile(r"\s+(?!is\b|was\b|seems\b)[a-z]")
_INPUT_OPTION = re.compile(r"^\s*\(([A-Z])\)", re.MULTILINE)


def _choice_target(target: str) -> tuple[str, tuple[str, ...]] | None:
    """("(B)", ()) for a letter target, ("yes", ("yes", "no")) for a word target, None for anything else."""
    text = target.strip()
    letter = _LETTER_TARGET.match(text)
    if letter:
        return f"({letter.group(1).upper()})", ()
    word = text.rstrip(".!").casefold()
    family = next((f for f in _WORD_FAMILIES if word in f), None)
    return (word, family) if family else None


def _marked_letters(output: str) -> list[str]:
    return [next(g for g in m.groups() if g) for m in _MARKED_LETTER.finditer(output)]


def _lone_letter(output: str) -> list[str]:
    match = _LONE_LETTER.match(output)
    return [match.group(1)] if match else []


def _bracketed_letters(output: str) -> list[str]:
    return [m.group(1) for m in _BRACKETED_LETTER.finditer(output)]


def _bare_letters(output: str) -> list[str]:
    # "I" is nearly always the pronoun and "A dog" the article, so neither counts as an option on its own.
    found = []
    for m in _BARE_LETTER.finditer(output):
        letter = m.group(1)
        if letter == "I" or (letter == "A" and _ARTICLE_AFTER.match(output, m.end())):
            continue
        found.append(letter)
    return found


def _extract_letter(output: str, allowed: set[str] | None) -> str | None:
    """The explicit "answer is" marker wins; else the last option-like letter, strongest pattern first."""
    for finder in (_marked_letters, _lone_letter, _bracketed_letters, _bare_letters):
        letters = [x.upper() for x in finder(output) if allowed is None or x.upper() in allowed]
        if letters:
            return f"({letters[-1]})"
    return None


def _extract_word(output: str, family: tuple[str, ...]) -> str | None:
    words = "|".join(family)
    marked = re.findall(_MARKER + rf"\b({words})\b", output, re.IGNORECASE)
    found = marked or re.findall(rf"\b({words})\b", output, re.IGNORECASE)
    return found[-1].casefold() if found else None


# Options joined by "or", "nor", "/" or "vs" ("valid or invalid", "yes/no", "(A), (B) or (C)") are the model
# restating the choice, not making it; a bare comma alone does not make a list ("Answer: C, B is out").
_LIST_SEP = r"\s*(?:,\s*(?:n?or\s+)?|/|\bn?or\b|\bvs\b\.?|\bversus\b)\s*"
_LIST_WORD = re.compile(r"/|\bn?or\b|\bvs\b|\bversus\b", re.IGNORECASE)
_EMPHASIS = r"[*_\"'`“”‘’]*"  # "**Yes** or **No**" is the same list in markdown
_LIST_PLACEHOLDER = " … "


def _option_list(item: str, flags: int = 0) -> re.Pattern[str]:
    item = f"{_EMPHASIS}{item}{_EMPHASIS}"
    return re.compile(rf"{item}(?:{_LIST_SEP}{item})+", flags)


def _word_lists(family: tuple[str, ...]) -> list[re.Pattern[str]]:
    item = rf"\b(?:{'|'.join(family)})\b"
    # "valid or not" offers the same choice as "valid or invalid" while naming only one option.
    return [_option_list(item, re.IGNORECASE), re.compile(rf"{item}\s+or\s+not\b", re.IGNORECASE)]


def _letter_lists(allowed: set[str] | None) -> list[re.Pattern[str]]:
    # Only the question's own letters, so "N/A" is not read as options N and A of an (A)-(E) question.
    letters = "".join(sorted(allowed)) if allowed else "A-Z"
    item = rf"(?:\([{letters}{letters.lower()}]\)|(?<![A-Za-z])[{letters}]\)?(?![A-Za-z0-9]|['’][a-z]))"
    return [_option_list(item)]


def _strip_option_lists(output: str, patterns: list[re.Pattern[str]]) -> tuple[str, list[str]]:
    """The output with every list of options blanked out, and the lists that were blanked."""
    found: list[str] = []

    def blank(match: re.Match[str]) -> str:
        if not _LIST_WORD.search(match.group(0)):  # commas alone: see _LIST_SEP
            return match.group(0)
        found.append(match.group(0))
        return _LIST_PLACEHOLDER

    for pattern in patterns:
        output = pattern.sub(blank, output)
    return output, found


def _allowed_letters(example: Example, target: str) -> set[str] | None:
    letters = set(_INPUT_OPTION.findall(example.input))
    return letters | {target[1]} if letters else None


class MultipleChoice(_SafeScorer):
    """Option letters ("(B)", "b)", "Answer: B") and yes/no, true/false, valid/invalid answers. An output that
    only lists the options ("valid or invalid", "(A) or (B)") chose none: it scores 0, unparsed."""

    def __init__(self) -> None:
        self.name = "choice"

    def score(self, output: str, example: Example) -> Score:
        kind = _choice_target(example.target)
        if kind is None:
            return self._as_text(output, example)
        want, family = kind
        allowed = None if family else _allowed_letters(example, want)
        # Options the model only listed are blanked first, so an answer found is one the model actually gave.
        text, listed = _strip_option_lists(output, _word_lists(family) if family else _letter_lists(allowed))
        got = _extract_word(text, family) if family else _extract_letter(text, allowed)
        if got is None and listed:
            return Score(0.0, f"named several options ({_show(listed[-1])}) without choosing one (expected {want})")
        if got is None:
            what = "/".join(family) if family else "option letter"
            return Score(0.0, f"no {what} answer found in the output (expected {want})")
        if got == want:
            return Score(1.0, f"answered {got}, which is correct", got)
        return Score(0.0, f"answered {got}, expected {want}", got)

    def _as_text(self, output: str, example: Example) -> Score:
        got = output.strip().rstrip(".").casefold()
        if got == example.target.strip().rstrip(".").casefold():
            return Score(1.0, "matches the target (not an option letter or yes/no, compared as text)", got)
        return Score(0.0, f"expected {_show(example.target)}, got {_show(output)} (compared as text)", got)


# ---- numbers --------------------------------------------------------------------------------------------------

_NUMBER_WORDS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
]  # fmt: skip
# A minus counts only when it is not a range dash ("3-5"); thousands separators need groups of exactly 3 digits.
_NUMBER = re.compile(
    r"(?:(?<![\w.\-−])[-−])?(?<![\w.])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?!\d)"
    r"|\b(?:" + "|".join(_NUMBER_WORDS) + r")\b",
    re.IGNORECASE,
)
_NUMBER_MARKER = re.compile(r"\banswer\b(?:\s+is)?\s*[:=]?", re.IGNORECASE)


def _to_float(token: str) -> float:
    word = token.casefold()
    if word in _NUMBER_WORDS:
        return float(_NUMBER_WORDS.index(word))
    return float(token.replace(",", "").replace("−", "-"))


def _parse_number(text: str) -> float | None:
    """The whole text as one number ("1,234", "-2.5", "seven"), or None."""
    match = _NUMBER.fullmatch(text.strip().rstrip("."))
    return _to_float(match.group(0)) if match else None


def _extract_number(output: str) -> float | None:
    """The first number after the last "answer is" marker, else the last number in the output."""
    markers = list(_NUMBER_MARKER.finditer(output))
    if markers:
        after = _NUMBER.search(output, markers[-1].end())
        if after:
            return _to_float(after.group(0))
    numbers = _NUMBER.findall(output)
    return _to_float(numbers[-1]) if numbers else None


def _format_number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


class NumericTolerance(_SafeScorer):
    def __init__(self, rel: float = 1e-6, abs: float = 1e-9) -> None:  # "abs" mirrors math.isclose's abs_tol
        if rel < 0 or abs < 0:
            raise ConfigError(f"numeric scorer: rel and abs tolerances must be >= 0, got rel={rel}, abs={abs}")
        self.rel = rel
        self.abs = abs
        self.name = "numeric"

    def score(self, output: str, example: Example) -> Score:
        want = _parse_number(example.target)
        if want is None:
            return Score(0.0, f"the target {_show(example.target)} is not a number; use another scorer")
        got = _extract_number(output)
        if got is None:
            return Score(0.0, f"no number found in the output (expected {_format_number(want)})")
        parsed = _format_number(got)
        if math.isclose(got, want, rel_tol=self.rel, abs_tol=self.abs):
            return Score(1.0, f"answered {parsed}, which is correct", parsed)
        return Score(0.0, f"answered {parsed}, expected {_format_number(want)}", parsed)


# ---- regex ----------------------------------------------------------------------------------------------------


class RegexMatch(_SafeScorer):
    """Scores 1 when `pattern` is found; `{target}` in the pattern stands for the escaped target text."""

    def __init__(self, pattern: str, ignore_case: bool = False) -> None:
        self.flags = re.IGNORECASE if ignore_case else 0
        try:
            re.compile(pattern.replace("{target}", "x"), self.flags)
        except re.error as exc:
            message = f"scorer 'regex:{pattern}': invalid regular expression ({exc}); fix the pattern"
            raise ConfigError(message) from None
        self.pattern = pattern
        self.name = f"regex:{pattern}"

    def score(self, output: str, example: Example) -> Score:
        # str.replace rather than str.format: regex quantifiers like \d{3} would break format().
        pattern = self.pattern.replace("{target}", re.escape(example.target.strip()))
        match = re.search(pattern, output, self.flags)
        if match:
            return Score(1.0, f"the output matches /{_clip(pattern, 60)}/", match.group(0))
        return Score(0.0, f"the output does not match /{_clip(pattern, 60)}/")


# ---- JSON -----------------------------------------------------------------------------------------------------

_JSON_TYPES = ("string", "number", "integer", "boolean", "object", "array", "null")
_SCHEMA_KEYS = {"type", "properties", "required", "enum", "items", "additionalProperties", "description", "title"}
_FENCE = re.compile(r"```[ \t]*(?:json)?[ \t]*\n?(.*?)```", re.DOTALL | re.IGNORECASE)
_NO_JSON = object()


def _check_schema(schema: Any, where: str) -> None:
    """Reject schema features we do not implement, so a typo is not silently ignored."""
    if not isinstance(schema, dict):
        raise ConfigError(f"json scorer schema at {where}: expected an object, got {type(schema).__name__}")
    unknown = set(schema) - _SCHEMA_KEYS
    if unknown:
        raise ConfigError(
            f"json scorer schema at {where}: unsupported keyword(s) {sorted(unknown)}; "
            f"supported: {sorted(_SCHEMA_KEYS)}"
        )
    for key, kind in (("properties", dict), ("required", list), ("enum", list)):
        if key in schema and not isinstance(schema[key], kind):
            raise ConfigError(f"json scorer schema at {where}.{key}: expected {kind.__name__}")
    types = schema.get("type", [])
    for name in [types] if isinstance(types, str) else types:
        if name not in _JSON_TYPES:
            raise ConfigError(f"json scorer schema at {where}.type: unknown type {name!r}; use one of {_JSON_TYPES}")
    for key, sub in schema.get("properties", {}).items():
        _check_schema(sub, f"{where}.properties.{key}")
    if "items" in schema:
        _check_schema(schema["items"], f"{where}.items")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "integer" if isinstance(value, int) else "number"
    names: dict[type, str] = {str: "string", dict: "object", list: "array"}
    return names.get(type(value), type(value).__name__)


def _type_ok(value: Any, name: str) -> bool:
    actual = _json_type(value)
    if name == "number":
        return actual in ("number", "integer")
    if name == "integer":
        return actual == "integer" or (actual == "number" and float(value).is_integer())
    return actual == name


def _validate(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    types = schema.get("type")
    types = [types] if isinstance(types, str) else types
    if types and not any(_type_ok(value, t) for t in types):
        return [f"{path}: expected {' or '.join(types)}, got {_json_type(value)}"]
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {json.dumps(value)[:40]} is not one of {json.dumps(schema['enum'])[:80]}")
    if isinstance(value, dict):
        errors += [f"{path}: missing required key '{k}'" for k in schema.get("required", []) if k not in value]
        properties = schema.get("properties", {})
        errors += [e for k, sub in properties.items() if k in value for e in _validate(value[k], sub, f"{path}.{k}")]
        if schema.get("additionalProperties") is False:
            errors += [f"{path}: unexpected key '{k}'" for k in value if k not in properties]
    if isinstance(value, list) and "items" in schema:
        errors += [e for i, item in enumerate(value) for e in _validate(item, schema["items"], f"{path}[{i}]")]
    return errors


def _load_json_output(output: str) -> Any:
    """The JSON in a ```json fence if there is one, else the whole output; `_NO_JSON` when neither parses."""
    for candidate in [m.group(1) for m in _FENCE.finditer(output)] + [output]:
        try:
            return json.loads(candidate.strip())
        except ValueError:
            continue
    return _NO_JSON


def _target_json(target: str) -> Any:
    try:
        return json.loads(target)
    except ValueError:
        return _NO_JSON


class JsonSchema(_SafeScorer):
    """Output must be JSON that fits `schema` (type, properties, required, enum, items); and equal a JSON target."""

    def __init__(self, schema: dict[str, Any] | None = None) -> None:
        self.schema = schema if schema is not None else {}
        _check_schema(self.schema, "$")
        self.name = "json"

    def score(self, output: str, example: Example) -> Score:
        value = _load_json_output(output)
        if value is _NO_JSON:
            return Score(0.0, f"the output is not valid JSON: {_show(output)}")
        parsed = json.dumps(value, sort_keys=True, ensure_ascii=False)
        errors = _validate(value, self.schema)
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            return Score(0.0, f"the JSON does not fit the schema: {errors[0]}{more}", parsed)
        expected = _target_json(example.target)
        if expected is not _NO_JSON and value != expected:
            return Score(0.0, "valid JSON that fits the schema, but it differs from the target JSON", parsed)
        return Score(1.0, "valid JSON that fits the schema", parsed)


# ---- user functions and bare labels ---------------------------------------------------------------------------


class PythonFunction(_SafeScorer):
    """Wraps `fn(output, example) -> float | bool | Score`; exceptions and bad return values score 0."""

    def __init__(self, fn: Callable[[str, Example], Any], name: str | None = None) -> None:
        if not callable(fn):
            raise ConfigError(f"scorer {name or fn!r}: expected a function (output, example) -> float, got {fn!r}")
        self.fn = fn
        qualname = getattr(fn, "__qualname__", type(fn).__name__)
        self.name = name or f"python:{getattr(fn, '__module__', '?')}:{qualname}"

    def score(self, output: str, example: Example) -> Score:
        result = self.fn(output, example)
        if isinstance(result, Score):
            return result
        if isinstance(result, bool):
            return Score(float(result), f"{self.name} returned {result}")
        if isinstance(result, int | float) and 0.0 <= result <= 1.0:
            return Score(float(result), f"{self.name} returned {result:g}")
        return Score(0.0, f"{self.name} returned {result!r:.40}; return a float in [0, 1], a bool or a Score")


_QUOTES = "\"'`“”‘’"


def _bare_label(text: str) -> str:
    """Strip whitespace, one pair of surrounding quotes and a trailing period, in either order."""
    text = text.strip()
    for _ in range(2):
        text = text.removesuffix(".").strip()
        if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
            text = text[1:-1].strip()
    return text


class ExactLabel(_SafeScorer):
    """Strict on purpose: only the bare label counts, which rewards prompts that make the model answer tersely."""

    def __init__(self, labels: list[str] | str) -> None:
        if isinstance(labels, str):
            labels = labels.split(",")
        cleaned = [label.strip() for label in labels if isinstance(label, str) and label.strip()]
        if not cleaned or len(cleaned) != len(labels):
            raise ConfigError(f"label scorer: labels must be non-empty strings, got {labels!r}; e.g. label:A,B,C")
        self.labels = cleaned
        self._canonical = {label.casefold(): label for label in cleaned}
        self.name = "label:" + ",".join(cleaned)

    def score(self, output: str, example: Example) -> Score:
        got = _bare_label(output)
        want = _bare_label(example.target)
        parsed = self._canonical.get(got.casefold())
        if got.casefold() == want.casefold():
            return Score(1.0, f"answered the bare label '{_clip(want)}'", parsed or got)
        words = len(got.split())
        shown = f"a {words}-word sentence" if words > 4 else _show(got)
        return Score(0.0, f"expected '{_clip(want)}', got {shown}", parsed)


# ---- building scorers from config -----------------------------------------------------------------------------

_FACTORIES: dict[str, Callable[..., Scorer]] = {
    "exact": ExactMatch,
    "choice": MultipleChoice,
    "numeric": NumericTolerance,
    "regex": RegexMatch,
    "label": ExactLabel,
    "json": JsonSchema,
}


def make_scorer(spec: str | dict[str, Any] | Scorer) -> Scorer:
    """Build a scorer from "exact", "regex:<pattern>", {"name": "numeric", "rel": 0.01}, or pass one through."""
    if isinstance(spec, str):
        return _from_string(spec.strip())
    if isinstance(spec, dict):
        return _from_dict(spec)
    if callable(spec) and isinstance(getattr(spec, "name", None), str):
        return spec  # type: ignore[return-value]
    if callable(spec):
        return PythonFunction(spec)
    raise ConfigError(f"scorer {spec!r}: expected a name such as {', '.join(SCORER_NAMES)}, a dict or a Scorer")


def _unknown(spec: object) -> ConfigError:
    return ConfigError(f"unknown scorer {spec!r}; known scorers: {', '.join(SCORER_NAMES)}")


def _from_string(spec: str) -> Scorer:
    kind, has_arg, arg = spec.partition(":")
    if kind == "python":
        return PythonFunction(_import_function(spec, arg), name=spec)
    if kind == "regex" and arg:
        return RegexMatch(arg)
    if kind == "label" and arg:
        return ExactLabel([part.strip() for part in arg.split(",")])
    if kind in ("regex", "label"):
        example = "regex:<pattern>" if kind == "regex" else "label:A,B,C"
        raise ConfigError(f"scorer {spec!r} needs an argument, e.g. {example}")
    if kind in _FACTORIES and not has_arg:
        return _FACTORIES[kind]()
    raise _unknown(spec)


def _from_dict(spec: dict[str, Any]) -> Scorer:
    options = dict(spec)
    name, type_ = options.pop("name", None), options.pop("type", None)
    kind = name or type_
    if kind == "python":
        target = str(options.pop("function", ""))
        if options:
            raise ConfigError(f"scorer {spec!r}: unknown option(s) {sorted(options)}; a python scorer takes 'function'")
        return PythonFunction(_import_function(f"python:{target}", target), name=f"python:{target}")
    factory = _FACTORIES.get(kind) if isinstance(kind, str) else None
    if factory is None:
        raise _unknown(spec)
    try:
        inspect.signature(factory).bind(**options)
    except TypeError as exc:
        allowed = ", ".join(inspect.signature(factory).parameters) or "none"
        raise ConfigError(f"scorer {spec!r}: {exc}; options for '{kind}' are: {allowed}") from None
    return factory(**options)


def _import_function(spec: str, target: str) -> Callable[..., Any]:
    module_name, _, attr = target.rpartition(":")
    if not module_name or not attr:
        raise ConfigError(f"scorer {spec!r}: write it as python:module.path:function")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any failure while importing is in the user's module, so report it as config
        raise ConfigError(
            f"scorer {spec!r}: cannot import module '{module_name}' ({type(exc).__name__}: {exc}); "
            "check it is installed or on PYTHONPATH"
        ) from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ConfigError(f"scorer {spec!r}: module '{module_name}' has no function '{attr}'")
    return fn


def default_scorer_for(dataset: Dataset) -> Scorer:
    """choice for "(X)" or yes/no/true/false targets, numeric when every target is a number, else exact."""
    targets = [example.target for example in dataset]
    if targets and all(_choice_target(t) is not None for t in targets):
        return MultipleChoice()
    if targets and all(_parse_number(t) is not None for t in targets):
        return NumericTolerance()
    return ExactMatch()
