"""Reading YAML and describing validation errors the same way everywhere: the file, the line or field, the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from promptlearn.errors import PromptlearnError


def read_yaml(path: Path, error: type[PromptlearnError]) -> Any:
    """Parse a YAML file; any problem becomes `error` naming the file (and the line where YAML knows it)."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text; re-save it as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise error(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    except (ValueError, RecursionError) as exc:  # e.g. a date like 2001-13-01, or nesting thousands deep
        raise error(f"{path}: not valid YAML ({type(exc).__name__}: {exc})") from None


def first_field_error(exc: ValidationError) -> str:
    """`field 'a.b': message (and N more)` for the first of a pydantic error's problems."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "(top level)"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"field '{field}': {first['msg']}{more}"
