"""The `json` scorer: the output (or its ```json fence) must be JSON that fits a JSON Schema, and equal a JSON target.

Schemas are JSON Schema 2020-12, checked by `jsonschema`. A schema is checked once, when the scorer is built, against
the 2020-12 meta-schema made strict (`unevaluatedProperties: false` at every level), so a misspelt keyword such as
`requried` is refused rather than silently ignored. A failed output's reason names the first failure with its path
(`$.tags[1]: expected string, got integer`) and how many more there were.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from jsonschema.exceptions import best_match

from promptlearn.data.datasets import Example
from promptlearn.data.scorers.base import SafeScorer, Score, show
from promptlearn.errors import ConfigError

_FENCE = re.compile(r"```[ \t]*(?:json)?[ \t]*\n?(.*?)```", re.DOTALL | re.IGNORECASE)
_NO_JSON = object()
# The 2020-12 meta-schema refers to itself through `$dynamicRef: "#meta"`, so this extension applies at every level.
_STRICT_META = Draft202012Validator({
    "$id": "urn:promptlearn:strict-json-schema", "$dynamicAnchor": "meta",
    "$ref": Draft202012Validator.META_SCHEMA["$id"], "unevaluatedProperties": False,
})
# Keywords are applied in a schema's own order; these first, so the first failure reported is the outermost one.
_FIRST = ("type", "enum", "required", "properties", "additionalProperties", "items")


def _where(path: Iterable[str | int]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _check_schema(schema: Any) -> None:
    if not isinstance(schema, dict):
        raise ConfigError(f"json scorer schema at $: expected an object, got {type(schema).__name__}")
    # The deepest failure is the cause: an invalid subschema also leaves its parent keyword "unevaluated".
    errors = sorted(_STRICT_META.iter_errors(schema), key=lambda e: len(e.absolute_path), reverse=True)
    if errors:
        error = best_match([errors[0]])
        hint = " (not a JSON Schema keyword: a typo?)" if error.validator == "unevaluatedProperties" else ""
        if error.context:  # anyOf/oneOf: say what each alternative wanted
            hint = " (" + "; ".join(sorted({c.message for c in error.context})) + ")"
        raise ConfigError(f"json scorer schema at {_where(error.absolute_path)}: {error.message}{hint}")


def _ordered(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return schema
    out = {key: schema[key] for key in _FIRST if key in schema} | schema
    if isinstance(out.get("properties"), dict):
        out["properties"] = {key: _ordered(sub) for key, sub in out["properties"].items()}
    if "items" in out:
        out["items"] = _ordered(out["items"])
    return out


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "integer" if isinstance(value, int) else "number"
    names: dict[type, str] = {str: "string", dict: "object", list: "array"}
    return names.get(type(value), type(value).__name__)


def _messages(errors: Iterable[ValidationError]) -> list[str]:
    """One line per failure, `<path>: <what failed>`; nothing below a value whose type is already wrong."""
    out: list[str] = []
    wrong_type: list[Sequence[str | int]] = []
    missing_seen: dict[str, int] = {}
    for error in errors:
        path = tuple(error.absolute_path)
        if any(path[: len(p)] == p for p in wrong_type):
            continue
        where, value, expected = _where(path), error.instance, error.validator_value
        if error.validator == "type":
            wrong_type.append(path)
            names = [expected] if isinstance(expected, str) else list(expected)
            out.append(f"{where}: expected {' or '.join(names)}, got {_json_type(value)}")
        elif error.validator == "enum":
            out.append(f"{where}: {json.dumps(value)[:40]} is not one of {json.dumps(expected)[:80]}")
        elif error.validator == "required":  # one error per missing key, in the schema's order
            missing = [k for k in expected if k not in value]
            nth = missing_seen[where] = missing_seen.get(where, -1) + 1
            out.append(f"{where}: missing required key '{missing[nth]}'" if nth < len(missing) else
                       f"{where}: {error.message}")
        elif error.validator == "additionalProperties" and "patternProperties" not in error.schema:
            known = error.schema.get("properties", {})
            out += [f"{where}: unexpected key '{k}'" for k in value if k not in known]
        else:
            out.append(f"{where}: {error.message}")
    return out


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


class JsonSchema(SafeScorer):
    """Output must be JSON that fits `schema` (any JSON Schema 2020-12 keyword); and equal a JSON target."""

    explains_failures = True

    def __init__(self, schema: dict[str, Any] | None = None) -> None:
        self.schema = schema if schema is not None else {}
        _check_schema(self.schema)
        self._validator = Draft202012Validator(_ordered(self.schema))
        self.name = "json"

    def score(self, output: str, example: Example) -> Score:
        value = _load_json_output(output)
        if value is _NO_JSON:
            return Score(0.0, f"the output is not valid JSON: {show(output)}")
        parsed = json.dumps(value, sort_keys=True, ensure_ascii=False)
        errors = _messages(self._validator.iter_errors(value))
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            return Score(0.0, f"the JSON does not fit the schema: {errors[0]}{more}", parsed)
        expected = _target_json(example.target)
        if expected is not _NO_JSON and value != expected:
            return Score(0.0, "valid JSON that fits the schema, but it differs from the target JSON", parsed)
        return Score(1.0, "valid JSON that fits the schema", parsed)
