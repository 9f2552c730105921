"""A running Arize Phoenix server as a trace source and a prompt sink (the `phoenix` extra: `arize-phoenix-client`).

`pull_traces` reads a project's spans and their annotations through Phoenix's REST API and imports them exactly as a
span file is imported (formats.py reads each span, importing.py scrubs and stores it once, by span id), so pulling
again adds only the spans that are new, and annotations added since update the spans not yet learned from.
`push_prompt` writes a playbook back as a version of a Phoenix prompt (one system message), unless the prompt's
latest version already says the same.

The client is imported inside the functions: promptlearn works without the extra, and says what to install when a
Phoenix command is used without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from promptlearn.config import TracesConfig
from promptlearn.errors import ConfigError, DatasetError
from promptlearn.store import Store
from promptlearn.traces.formats import Bad, Item, from_phoenix_span
from promptlearn.traces.importing import ImportReport, store_items
from promptlearn.traces.model import Malformed

INSTALL = "pip install 'promptlearn[phoenix]' (arize-phoenix-client)"
DEFAULT_LIMIT = 10_000


def connect(url: str, api_key: str | None = None) -> Any:
    """A `phoenix.client.Client` for the server at `url` (`PHOENIX_API_KEY` is read when `api_key` is None)."""
    try:
        from phoenix.client import Client
    except ImportError:
        raise ConfigError(f"reading from or writing to Phoenix needs the phoenix extra: {INSTALL}") from None
    with reaching(url):
        return Client(base_url=url.rstrip("/"), api_key=api_key)


@contextmanager
def reaching(url: str, what: str = "") -> Iterator[None]:
    """Phoenix's HTTP errors as one-line errors that name the server and what to do."""
    import httpx

    try:
        yield
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        body = exc.response.text.strip().replace("\n", " ")[:300]
        if status in (401, 403):
            raise ConfigError(f"Phoenix at {url} refused the request ({status}): set PHOENIX_API_KEY to a key "
                              "the server accepts") from None
        if status == 404 and what:
            raise DatasetError(f"Phoenix at {url} has no {what}") from None
        raise ConfigError(f"Phoenix at {url} answered {status}{f' for {what}' if what else ''}: {body}") from None
    except httpx.HTTPError as exc:
        raise ConfigError(f"cannot reach Phoenix at {url} ({type(exc).__name__}: {exc}); start the server "
                          "(`phoenix serve`) or pass its URL with --phoenix") from None


# ---- reading spans ------------------------------------------------------------------------------------------
def pull_items(client: Any, url: str, project: str, cfg: TracesConfig, limit: int = DEFAULT_LIMIT) -> Iterator[Item]:
    """Every span of `project` (up to `limit`) as a trace, a skipped span or a malformed one, with feedback from its
    annotations."""
    with reaching(url, f"project '{project}'"):
        spans = list(client.spans.get_spans(project_identifier=project, limit=limit))
        notes: dict[str, list[dict[str, Any]]] = {}
        if spans:
            for note in client.spans.get_span_annotations(spans=spans, project_identifier=project):
                if isinstance(note, dict) and isinstance(note.get("span_id"), str):
                    notes.setdefault(note["span_id"], []).append(dict(note))
    where = f"phoenix {url.rstrip('/')} project {project}"
    for number, span in enumerate(spans, 1):
        span_id = span.get("context", {}).get("span_id") if isinstance(span, dict) else None
        try:
            yield from_phoenix_span(span, f"{where} span {span_id}", cfg,
                                    notes.get(span_id, []) if isinstance(span_id, str) else [])
        except Bad as exc:
            yield Malformed(where, number, str(exc))


def pull_traces(store: Store, url: str, project: str, cfg: TracesConfig, stream: str | None = None,
                limit: int = DEFAULT_LIMIT, client: Any = None) -> ImportReport:
    """Import the spans of a Phoenix project and their annotations into `stream` (default: the config's): new
    spans only, scrubbed first, a malformed span reported by its number in the listing and its id."""
    client = client if client is not None else connect(url)
    items = list(pull_items(client, url, project, cfg, limit))
    report = ImportReport(f"phoenix {url.rstrip('/')} project {project}", stream or cfg.stream)
    return store_items(store, items, cfg, report)


# ---- writing a prompt version -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pushed:
    prompt: str
    version_id: str | None
    created: bool  # False: the latest version already held this text and model, nothing was written


def _openai_form(version: Any) -> dict[str, Any]:
    """{messages, model, ...} of a prompt version; template_format NONE: the text comes back as stored."""
    return dict(version.format(sdk="openai"))


def _messages(version: Any) -> list[dict[str, Any]]:
    return list(_openai_form(version).get("messages", []))


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def system_text(version: Any) -> str:
    """The system message of a Phoenix prompt version (what `push_prompt` wrote)."""
    return "\n".join(_text(m.get("content")) for m in _messages(version) if m.get("role") in ("system", "developer"))


def latest_version(client: Any, url: str, name: str) -> Any | None:
    """The newest version of prompt `name`, or None when there is no such prompt."""
    with reaching(url, f"prompt '{name}'"):
        try:
            return client.prompts.get(prompt_identifier=name)
        except ValueError:  # the client's "Prompt not found"
            return None


def prompt_text(url: str, name: str, client: Any = None) -> str:
    """The system text of prompt `name`'s newest version."""
    client = client if client is not None else connect(url)
    version = latest_version(client, url, name)
    if version is None:
        raise DatasetError(f"Phoenix at {url} has no prompt '{name}'")
    return system_text(version)


def push_prompt(url: str, name: str, text: str, model_name: str, description: str = "",
                metadata: dict[str, Any] | None = None, client: Any = None,
                version_factory: Callable[..., Any] | None = None) -> Pushed:
    """Write `text` as a new version of Phoenix prompt `name` (created if new): one system message, no template
    variables, for `model_name` (provider OPENAI, the chat format every OpenAI-compatible server speaks). Nothing is
    written when the newest version already holds the same text for the same model."""
    if not name or not name[0].isalnum() or not all(c.isalnum() or c in "-_" for c in name):
        raise ConfigError(f"Phoenix prompt name '{name}': use letters, digits, '-' and '_', starting with a letter "
                          "or digit")
    client = client if client is not None else connect(url)
    latest = latest_version(client, url, name)
    if latest is not None and system_text(latest) == text and _openai_form(latest).get("model") == model_name:
        return Pushed(name, latest.id, created=False)
    if version_factory is None:
        from phoenix.client.types import PromptVersion

        version_factory = PromptVersion
    version = version_factory([{"role": "system", "content": text}], model_name=model_name,
                              description=description or None, model_provider="OPENAI", template_format="NONE")
    with reaching(url, f"prompt '{name}'"):
        created = client.prompts.create(version=version, name=name, prompt_description=description or None,
                                        prompt_metadata=metadata or None)
    return Pushed(name, created.id, created=True)
