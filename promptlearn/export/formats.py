"""Export a stored playbook version as a prompt, a JSON document, Markdown, an instruction file or DSPy code.

Formats:
- `prompt`: the system prompt exactly as the task model saw it (`Playbook.render()`).
- `json`: `{"format": "promptlearn.playbook/v1", run_id, version, playbook, provenance, scores}`; read it back
  with `promptlearn.export.load_playbook` (exact round trip: ids, counters, provenance). A prompt tuned for tool
  calls also carries `tools`, the tool list its run offered the model (`load_tools` reads it); Markdown lists
  them and the DSPy snippet defines `TOOLS`.
- `markdown`: a human-readable report: the prompt, then each rule with its id, counters and evidence.
- `agents-md`, `claude-md`, `cursorrules`: instruction files (AGENTS.md, CLAUDE.md, .cursorrules): the seed prompt,
  then one Markdown list per section, each bullet's id in a trailing HTML comment; `import` recovers the bullets.
- `dspy`: a Python snippet defining a `dspy.Signature` subclass whose docstring is the rendered prompt (DSPy reads
  a signature's instructions from its docstring); use `dspy.Predict(PromptlearnSignature)`, or pass
  `PromptlearnSignature.instructions` to `dspy.Predict(...).signature.with_instructions(...)`.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from promptlearn.errors import ConfigError
from promptlearn.export.errors import ExportError, LostVariablesError
from promptlearn.export.refs import Resolved, resolve, run_tools, version_scores
from promptlearn.export.runtime import EXPORT_FORMAT, playbook_from_document, template_variables
from promptlearn.history import provenance
from promptlearn.playbook import Playbook
from promptlearn.playbook.playbook import section_title
from promptlearn.store import Store

SEED_OPEN, SEED_CLOSE = "<!-- promptlearn:seed -->", "<!-- /promptlearn:seed -->"
HEADER = "<!-- promptlearn export: run={run} version={version} sections={sections} next_id={next_id} -->"


@dataclass(frozen=True)
class ExportContext:
    playbook: Playbook
    run_id: str
    version: int
    name: str
    scores: dict[str, Any]
    provenance: dict[str, list[dict[str, Any]]]
    tools: tuple[dict[str, Any], ...] = ()  # the tools the prompt was tuned with (OpenAI schema); () for none


def _prompt(ctx: ExportContext) -> str:
    return ctx.playbook.render() + "\n"


def _json(ctx: ExportContext) -> str:
    doc = {"format": EXPORT_FORMAT, "run_id": ctx.run_id, "version": ctx.version,
           "playbook": ctx.playbook.model_dump(mode="json"), "provenance": ctx.provenance, "scores": ctx.scores}
    if ctx.tools:  # only for a tool task: other exports stay as they were
        doc["tools"] = list(ctx.tools)
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _markdown(ctx: ExportContext) -> str:
    pb = ctx.playbook
    scores = ", ".join(f"{k} {v:.3f}" for k, v in ctx.scores.items() if isinstance(v, int | float))
    lines = [f"# Prompt: {ctx.name} (run {ctx.run_id}, version {ctx.version})", ""]
    lines += [f"Scores: {scores}", ""] if scores else []
    lines += ["## Prompt", "", pb.seed_prompt.rstrip(), ""]
    if pb.bullets:
        lines += ["## Rules", ""]
    for section, bullets in pb.by_section().items():
        if not bullets:
            continue
        lines += [f"### {section_title(section)}", ""]
        for b in bullets:
            lines.append(f"- {b.text} (`{b.id}`; helpful {b.helpful}, harmful {b.harmful})")
            lines += [f"  - evidence {e['rollout']}: {e['critique']}" for e in ctx.provenance.get(b.id, [])]
        lines.append("")
    if ctx.tools:
        names = ", ".join(f"`{t['function']['name']}`" for t in ctx.tools)
        lines += ["## Tools", "", f"Tuned with these tools offered to the model: {names}.", "", "```json",
                  json.dumps(list(ctx.tools), indent=2, ensure_ascii=False), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def instruction_file(pb: Playbook, title: str, run_id: str = "", version: int = 0) -> str:
    """AGENTS.md-style text: the seed prompt between markers, then a list per section with ids in comments."""
    header = HEADER.format(run=run_id or "-", version=version, sections=",".join(pb.sections), next_id=pb.next_id)
    lines = [f"# {title}", "", header, "", SEED_OPEN, pb.seed_prompt.rstrip(), SEED_CLOSE, ""]
    for section, bullets in pb.by_section().items():
        if bullets:
            lines += [f"## {section_title(section)}", f"<!-- promptlearn:section {section} -->", ""]
            lines += [f"- {b.text} <!-- {b.id} -->" for b in bullets]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _instructions(title: str) -> Callable[[ExportContext], str]:
    return lambda ctx: instruction_file(ctx.playbook, title, ctx.run_id, ctx.version)


def _dspy(ctx: ExportContext) -> str:
    text = ctx.playbook.render()
    safe = '"""' not in text and "\\" not in text and not text.endswith('"') and not text.startswith('"')
    doc = f'    """{text}"""' if safe else f"    __doc__ = {text!r}"
    return "\n".join([
        f'"""promptlearn export of run {ctx.run_id}, version {ctx.version}, for DSPy.',
        "",
        "The signature's docstring is the tuned prompt; DSPy uses it as the signature's instructions.",
        "Use `dspy.Predict(PromptlearnSignature)`, renaming the fields to your program's, or keep your own",
        "signature: `dspy.Predict(MySignature).signature.with_instructions(PromptlearnSignature.instructions)`.",
        '"""', "", *(["import json", ""] if ctx.tools else []), "import dspy", "", "",
        "class PromptlearnSignature(dspy.Signature):", doc, "",
        "    input: str = dspy.InputField()", "    output: str = dspy.OutputField()", "",
        *_dspy_tools(ctx.tools)])


def _dspy_tools(tools: tuple[dict[str, Any], ...]) -> list[str]:
    if not tools:
        return []
    return ["", "# The tools the prompt was tuned with (OpenAI tool schema): pass them to your model with it.",
            f"TOOLS = json.loads({json.dumps(list(tools), ensure_ascii=False)!r})", ""]


FORMATS: dict[str, Callable[[ExportContext], str]] = {
    "prompt": _prompt, "json": _json, "markdown": _markdown, "agents-md": _instructions("AGENTS.md"),
    "claude-md": _instructions("CLAUDE.md"), "cursorrules": _instructions("Cursor rules"), "dspy": _dspy,
}


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format '{fmt}'; choose from: {', '.join(FORMATS)}")


def dspy_instructions(code: str) -> str:
    """The instructions (class docstring or `__doc__ = ...`) of the first class in a DSPy snippet."""
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise ExportError(f"DSPy snippet line {exc.lineno}: not valid Python ({exc.msg})") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            doc = ast.get_docstring(node, clean=False)
            if doc is not None:
                return doc
            for stmt in node.body:
                if isinstance(stmt, ast.Assign) and any(getattr(t, "id", "") == "__doc__" for t in stmt.targets):
                    return str(ast.literal_eval(stmt.value))
    raise ExportError("DSPy snippet has no class with instructions (a docstring or `__doc__ = ...`)")


def sent_text(text: str, fmt: str) -> str:
    """The system prompt an application would send when it uses this export."""
    check_format(fmt)
    if fmt == "prompt":
        return text.rstrip("\n")
    if fmt == "json":
        return playbook_from_document(json.loads(text), "export").render()
    if fmt == "dspy":
        return dspy_instructions(text)
    return text


def check_faithful(playbook: Playbook, text: str, fmt: str) -> None:
    """Refuse an export whose prompt lost a template variable of the seed prompt or a bullet's text."""
    sent = sent_text(text, fmt)
    lost = sorted(template_variables(playbook.seed_prompt) - template_variables(sent))
    if lost:
        raise LostVariablesError(f"the {fmt} export lost template variable(s) {', '.join(lost)} of the seed "
                                 "prompt; the application could not fill them. Export --format json or prompt")
    missing = [b.id for b in playbook.bullets if b.text not in sent]
    if missing:
        raise ExportError(f"the {fmt} export lost bullet(s) {', '.join(missing)}; export --format json instead")


def context(store: Store, resolved: Resolved) -> ExportContext:
    return ExportContext(resolved.playbook, resolved.run.id, resolved.version.number, resolved.run.name,
                         version_scores(store, resolved), provenance(store, resolved.run.id, resolved.playbook),
                         tuple(run_tools(store, resolved.run.id)))


def export_playbook(store: Store, run_ref: str, fmt: str) -> str:
    """The version `run_ref` (`RUN` = its final playbook, or `RUN@VERSION`) as text in format `fmt`."""
    check_format(fmt)
    resolved = resolve(store, run_ref)
    text = FORMATS[fmt](context(store, resolved))
    check_faithful(resolved.playbook, text, fmt)
    return text
