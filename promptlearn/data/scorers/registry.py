"""Building scorers from config: names ("exact", "regex:<pattern>"), dicts ({"name": "numeric", "rel": 0.01}),
functions; and the default scorer for a dataset."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from promptlearn.data.datasets import Dataset
from promptlearn.data.scorers.base import Scorer
from promptlearn.data.scorers.choice import MultipleChoice, choice_target
from promptlearn.data.scorers.json_schema import JsonSchema
from promptlearn.data.scorers.numeric import NumericTolerance, parse_number
from promptlearn.data.scorers.text import ExactLabel, ExactMatch, PythonFunction, RegexMatch
from promptlearn.data.scorers.tool_calls import BfclCalls
from promptlearn.errors import ConfigError

SCORER_NAMES = ("exact", "choice", "numeric", "regex:<pattern>", "label:A,B,C", "json", "bfcl",
                "python:module.path:function")

_FACTORIES: dict[str, Callable[..., Scorer]] = {
    "exact": ExactMatch,
    "choice": MultipleChoice,
    "numeric": NumericTolerance,
    "regex": RegexMatch,
    "label": ExactLabel,
    "json": JsonSchema,
    "bfcl": BfclCalls,
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
    """bfcl when every example carries tools and BFCL's checker columns; choice for "(X)" or yes/no/true/false
    targets, numeric when every target is a number, else exact."""
    targets = [example.target for example in dataset]
    if targets and all(e.tools is not None and {"functions", "category"} <= set(e.metadata) for e in dataset):
        return BfclCalls()
    if targets and all(choice_target(t) is not None for t in targets):
        return MultipleChoice()
    if targets and all(parse_number(t) is not None for t in targets):
        return NumericTolerance()
    return ExactMatch()
