"""Execution flags shared by commands (`--concurrency`, `--executor`, `--rate-limit`, ...), validated like a
run file's `models:` section so a bad flag fails before any work, naming the field."""

from __future__ import annotations

from typing import Any

from promptlearn.config import ModelsConfig, validate
from promptlearn.errors import ConfigError


def parse_rate_limits(values: list[str] | None) -> dict[str, Any]:
    """`openai=5` (requests/second) per flag; a bad number is left to the config's validation."""
    limits: dict[str, Any] = {}
    for value in values or []:
        provider, sep, rate = value.partition("=")
        if not sep or not provider.strip():
            raise ConfigError(f"--rate-limit {value!r}: expected PROVIDER=REQUESTS_PER_SECOND, e.g. openai=5")
        limits[provider.strip()] = rate.strip()
    return limits


def models_fields(task: str, concurrency: int, executor: str, api_base: str | None, ray_address: str | None,
                  rate_limits: list[str] | None) -> dict[str, Any]:
    """The flags as a run file's `models:` section, not yet validated."""
    return {"task": task, "concurrency": concurrency, "executor": executor, "api_base": api_base,
            "ray_address": ray_address, "rate_limits": parse_rate_limits(rate_limits)}


def models_from_flags(task: str, concurrency: int, executor: str, api_base: str | None, ray_address: str | None,
                      rate_limits: list[str] | None) -> ModelsConfig:
    fields = models_fields(task, concurrency, executor, api_base, ray_address, rate_limits)
    return validate({"models": fields}, source="command line").models
