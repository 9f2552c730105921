"""Prompts are files: Jinja2 templates rendered in a sandbox with StrictUndefined.

Names resolve to the bundled `judges/` folder (judge and rubric templates, YAML rubrics); a path to a user's own
file works the same way. Data (dataset inputs, model outputs) is passed as variables and fenced in the
templates, never spliced into template source, so it cannot change the template.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError
from jinja2 import TemplateError as JinjaError
from jinja2.sandbox import SandboxedEnvironment

from promptlearn.data.paths import bundled_dir
from promptlearn.errors import TemplateError
from promptlearn.yamlio import read_yaml


def judges_dir() -> Path:
    return bundled_dir("judges")


def fence(text: Any) -> str:
    """Delimit untrusted text so a model reads it as data: a fence the text itself cannot close."""
    body = str(text)
    ticks = "`" * max(3, _longest_run(body, "`") + 1)
    return f"{ticks}\n{body}\n{ticks}"


def _longest_run(text: str, char: str) -> int:
    best = run = 0
    for c in text:
        run = run + 1 if c == char else 0
        best = max(best, run)
    return best


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                               keep_trailing_newline=False, autoescape=False)
    env.filters["fence"] = fence
    return env


def resolve(name_or_path: str, suffix: str) -> Path:
    path = Path(name_or_path)
    if path.suffix and path.exists():
        return path
    candidate = judges_dir() / f"{name_or_path}{suffix}"
    if candidate.exists():
        return candidate
    known = sorted(p.stem for p in judges_dir().glob(f"*{suffix}"))
    raise TemplateError(f"template '{name_or_path}' not found (looked for {path} and {candidate}); "
                        f"bundled: {', '.join(known)}")


def render(name_or_path: str, **variables: Any) -> str:
    path = resolve(name_or_path, ".j2")
    try:
        template = environment().from_string(path.read_text(encoding="utf-8"))
    except TemplateSyntaxError as exc:
        raise TemplateError(f"{path} line {exc.lineno}: {exc.message}") from None
    except UnicodeDecodeError:
        raise TemplateError(f"{path}: not UTF-8 text; re-save it as UTF-8") from None
    except RecursionError:
        raise TemplateError(f"{path}: expressions nested too deeply") from None
    try:
        return template.render(**variables).strip() + "\n"
    except JinjaError as exc:
        raise TemplateError(f"{path}: {exc}; the template may only use: {', '.join(sorted(variables))}") from None
    except Exception as exc:  # the template's own code failed: 1/0, 'a' + 1, an {% include %} with no loader
        raise TemplateError(f"{path}: rendering failed: {type(exc).__name__}: {exc}") from None


def load_rubric(name_or_path: str) -> list[dict[str, str]]:
    """A rubric is a YAML list of criteria: `- id: ...\\n  description: ...`."""
    given = Path(name_or_path)
    path = given if given.exists() else resolve(f"rubrics/{name_or_path}", ".yaml")
    data = read_yaml(path, TemplateError)
    criteria = data.get("criteria") if isinstance(data, dict) else data
    if not isinstance(criteria, list) or not criteria:
        raise TemplateError(f"{path}: expected a non-empty list under 'criteria'")
    for index, item in enumerate(criteria, 1):
        if not isinstance(item, dict) or not item.get("id") or not item.get("description"):
            raise TemplateError(f"{path}: criterion {index} needs an 'id' and a 'description'")
    return [{"id": str(c["id"]), "description": str(c["description"])} for c in criteria]
