"""What an application needs at run time: load an exported playbook and fill its template variables.

Two placeholder styles are recognised in a prompt: Jinja `{{ name }}` (filled by a sandboxed Jinja environment
with StrictUndefined) and `str.format` `{name}` (filled by a plain replace of identifiers only, so JSON examples
and `{{`/`}}` escapes in the prompt are left alone).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError
from jinja2 import TemplateError as JinjaError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import ValidationError

from promptlearn.errors import TemplateError
from promptlearn.export.errors import ImportFileError
from promptlearn.playbook import Playbook
from promptlearn.yamlio import first_field_error

EXPORT_FORMAT = "promptlearn.playbook/v1"
_JINJA = re.compile(r"\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)\b[^{}]*?-?\}\}")
# `{name}`, `{name.attr}`, `{name[key]}`, `{name!r}`, `{name:>10}`; not `{{`, not `{"json": 1}`, not `{0}`.
_FORMAT = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z_]\w*|\[\w+\])*(?:![rsa])?(?::[^{}]*)?)\}(?!\})")
_ESCAPED = re.compile(r"\{\{|\}\}")
_SENTINEL = "\x00{}\x00"


def jinja_variables(text: str) -> set[str]:
    return set(_JINJA.findall(text))


def format_variables(text: str) -> set[str]:
    return {name for name, _rest in _FORMAT.findall(_ESCAPED.sub("", _JINJA.sub("", text)))}


def template_variables(text: str) -> set[str]:
    """Names of the `{{ name }}` and `{name}` placeholders in `text`."""
    return jinja_variables(text) | format_variables(text)


def render_with(playbook: Playbook | str, **variables: Any) -> str:
    """The playbook's prompt with every placeholder filled; a missing variable raises `TemplateError` naming it."""
    text = playbook.render() if isinstance(playbook, Playbook) else playbook
    missing = sorted(template_variables(text) - set(variables))
    if missing:
        raise TemplateError(f"missing template variable(s): {', '.join(missing)}; pass them to render_with(...)")
    # Single-brace placeholders become sentinels first, so a value Jinja inserts is never re-read as a placeholder.
    values: list[str] = []

    def stash(match: re.Match[str]) -> str:
        values.append(str(variables[match.group(1)]) if not match.group(2) else _format_one(match, variables))
        return _SENTINEL.format(len(values) - 1)

    protected = _FORMAT.sub(stash, text)
    rendered = _render_jinja(protected, variables) if ("{{" in text or "{%" in text) else protected
    return re.sub(r"\x00(\d+)\x00", lambda m: values[int(m.group(1))], rendered)


def messages_for(playbook: Playbook | str, user_input: str, **variables: Any) -> list[dict[str, str]]:
    """The chat messages the task model saw while the playbook was learned and scored: the filled system prompt,
    its worked examples as user/assistant turns, then `user_input`. Use this rather than the bare prompt string
    when the playbook has an `examples` section, or the examples reach the model as text, not as turns."""
    from promptlearn.data import Example
    from promptlearn.rollouts import task_messages

    return task_messages(render_with(playbook, **variables), Example(id="", input=user_input, target=""))


def _format_one(match: re.Match[str], variables: dict[str, Any]) -> str:
    try:
        return ("{" + match.group(1) + match.group(2) + "}").format(**variables)
    except (AttributeError, KeyError, IndexError, ValueError, TypeError) as exc:
        raise TemplateError(f"cannot fill {match.group(0)}: {type(exc).__name__}: {exc}") from None


@lru_cache(maxsize=1)
def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def _render_jinja(text: str, variables: dict[str, Any]) -> str:
    try:
        return _environment().from_string(text).render(**variables)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"prompt line {exc.lineno}: invalid Jinja template: {exc.message}") from None
    except JinjaError as exc:
        raise TemplateError(f"cannot fill the prompt: {exc}; pass the variable to render_with(...)") from None


def playbook_from_document(data: Any, source: str) -> Playbook:
    """A `Playbook` from our JSON export document or a raw `Playbook.to_json()` object."""
    body = data.get("playbook") if isinstance(data, dict) and data.get("format") == EXPORT_FORMAT else data
    if not isinstance(body, dict) or "seed_prompt" not in body:
        raise ImportFileError(f"{source}: not a promptlearn playbook (expected a 'seed_prompt' field or a "
                              f"'{EXPORT_FORMAT}' export)")
    try:
        return Playbook.model_validate(body)
    except ValidationError as exc:
        raise ImportFileError(f"{source}: invalid playbook: {first_field_error(exc)}") from None


def read_text(path: Path) -> str:
    if not path.is_file():
        raise ImportFileError(f"file not found: {path}")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFileError(f"{path} line {line}: not valid UTF-8 (byte 0x{data[exc.start]:02x}); "
                              "re-save the file as UTF-8") from None
    if not text.strip():
        raise ImportFileError(f"{path}: the file is empty; it should hold a prompt")
    return text


def load_playbook(path: str | Path) -> Playbook:
    """Read a `promptlearn export --format json` file (or a raw Playbook JSON) for use in an application."""
    path = Path(path)
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"{path} line {exc.lineno}: not valid JSON ({exc.msg})") from None
    return playbook_from_document(data, str(path))


def load_tools(path: str | Path) -> list[dict[str, Any]]:
    """The tools a `--format json` export was tuned with (OpenAI tool schema), to send with its prompt; [] when
    it was tuned without tools."""
    path = Path(path)
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"{path} line {exc.lineno}: not valid JSON ({exc.msg})") from None
    tools = data.get("tools", []) if isinstance(data, dict) else []
    if not isinstance(tools, list):
        raise ImportFileError(f"{path}: 'tools' must be a list of tool schemas")
    return tools
