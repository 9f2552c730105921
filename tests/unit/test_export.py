"""Export, import, diff, rollback and --verify on a real stored run made with FakeLM."""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promptlearn import optimize, preset
from promptlearn.errors import ConfigError, PromptlearnError, TemplateError
from promptlearn.export import (
    FORMATS,
    ImportFileError,
    LostVariablesError,
    diff_versions,
    export_playbook,
    import_prompt,
    load_playbook,
    render_with,
    rollback,
    start_run_from_import,
    template_variables,
    verify_export,
)
from promptlearn.export.formats import dspy_instructions
from promptlearn.history import playbook_at
from promptlearn.lm import FakeLM, LMRequest
from promptlearn.playbook import Playbook
from promptlearn.store import Store
from tests.fakes_task import GOOD_RULE, world, write_dataset

SEED = ('Route the ticket for {{ customer_name }} (ticket {ticket_id}).\n'
        'Reply with one label; JSON like {"a": 1} is fine.')


def learning_world() -> FakeLM:
    """`tests.fakes_task.world` whose rewriter adds GOOD_RULE once, citing the first two failures it was shown."""
    base, replies = world([]), {"n": 0}

    def respond(request: LMRequest) -> str:
        if "deltas" not in (request.json_schema or {}).get("properties", {}) or replies["n"]:
            return base.complete(request).text
        replies["n"] += 1
        shown = re.findall(r"^### (f\d+)$", "\n".join(str(m[1]) for m in request.messages), re.MULTILINE)
        return json.dumps({"deltas": [{"op": "add", "section": "formatting", "text": GOOD_RULE,
                                       "reason": "answers were sentences", "evidence": shown[:2]}]})

    return FakeLM(respond)


@pytest.fixture(scope="module")
def stored_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One optimize run (v0 seed, v1 accepted with GOOD_RULE), made once; tests copy its database."""
    root = tmp_path_factory.mktemp("run")
    data = write_dataset(root / "tickets.jsonl")
    config = preset("quick", dataset={"path": str(data), "train": 20, "val": 20, "test": 20}, system_prompt=SEED,
                    scorer="label:BILLING,BUG,ACCOUNT,SHIPPING", budget={"max_iterations": 1},
                    learn={"explain": True, "worked_examples": 0},  # a playbook of rules: v1 is the rewriter's
                    models={"task": "fake/task", "judge": "fake/j", "rewriter": "fake/r"})
    store = Store(str(root / "db.sqlite"))
    result = optimize(config, store=store, lm=learning_world())
    store.engine.dispose()  # closing the last connection checkpoints the WAL into the file the tests copy
    assert result.final_version == 1 and [b.text for b in result.final.bullets] == [GOOD_RULE]
    return root / "db.sqlite", result.run_id


@pytest.fixture
def run(stored_run: tuple[Path, str], tmp_path: Path) -> tuple[Store, str]:
    db = tmp_path / "db.sqlite"
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{stored_run[0]}{suffix}").exists():
            shutil.copy(f"{stored_run[0]}{suffix}", f"{db}{suffix}")
    return Store(str(db)), stored_run[1]


# ---- formats ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_keeps_every_bullet_and_variable(run: tuple[Store, str], fmt: str) -> None:
    store, run_id = run
    text = export_playbook(store, run_id, fmt)
    final, _ = playbook_at(store, run_id)
    assert final.bullets
    for bullet in final.bullets:
        assert bullet.text in text
    assert {"customer_name", "ticket_id"} <= template_variables(text)


def test_prompt_export_is_the_rendered_prompt_and_version_refs_work(run: tuple[Store, str]) -> None:
    store, run_id = run
    final, _ = playbook_at(store, run_id)
    assert export_playbook(store, run_id, "prompt") == final.render() + "\n"
    assert GOOD_RULE not in export_playbook(store, f"{run_id}@0", "prompt")
    with pytest.raises(PromptlearnError, match="no version 9"):
        export_playbook(store, f"{run_id}@9", "prompt")
    with pytest.raises(ConfigError, match="RUN@VERSION"):
        export_playbook(store, f"{run_id}@latest", "prompt")


def test_unknown_format_lists_the_formats(run: tuple[Store, str]) -> None:
    with pytest.raises(ConfigError, match="agents-md.*cursorrules.*dspy"):
        export_playbook(run[0], run[1], "yaml")


def test_json_export_carries_scores_and_provenance(run: tuple[Store, str]) -> None:
    doc = json.loads(export_playbook(*run, "json"))
    assert doc["format"] == "promptlearn.playbook/v1" and doc["version"] == 1
    assert doc["scores"]["val"] == 1.0 and doc["scores"]["test"] == 1.0
    bullet = doc["playbook"]["bullets"][0]
    assert len(bullet["source"]) == 2 and [p["rollout"] for p in doc["provenance"][bullet["id"]]] == bullet["source"]
    assert all(p["critique"] for p in doc["provenance"][bullet["id"]])


def test_dspy_snippet_defines_a_signature_whose_instructions_are_the_prompt(run: tuple[Store, str]) -> None:
    store, run_id = run
    code = export_playbook(store, run_id, "dspy")
    final, _ = playbook_at(store, run_id)
    assert dspy_instructions(code) == final.render()
    namespace: dict = {}
    exec(compile(code, "export.py", "exec"), namespace)  # noqa: S102 - our own generated code
    assert namespace["PromptlearnSignature"].instructions.strip() == final.render().strip()


def test_dspy_snippet_stays_valid_python_for_awkward_text(run: tuple[Store, str], tmp_path: Path) -> None:
    tricky = Playbook(seed_prompt='Say """hi""" and a back\\slash to {ticket_id}"')
    path = tmp_path / "p.json"
    path.write_text(tricky.to_json())
    store = run[0]
    new_run = start_run_from_import(store, import_prompt(path), "tricky")
    code = export_playbook(store, new_run, "dspy")
    ast.parse(code)
    assert dspy_instructions(code) == tricky.render()


def test_an_export_that_lost_a_variable_is_refused(run: tuple[Store, str], monkeypatch: pytest.MonkeyPatch) -> None:
    original = Playbook.render
    monkeypatch.setattr(Playbook, "render", lambda self: original(self).replace("{ticket_id}", "T-1"))
    with pytest.raises(LostVariablesError, match="ticket_id") as caught:
        export_playbook(*run, "prompt")
    assert "customer_name" not in str(caught.value)


def test_template_variables_ignore_escapes_json_and_positional_braces() -> None:
    text = 'Hi {{ name }} {{- other|upper }} {ticket} {price:.2f} {{escaped_jinja}} {"json": 1} {0} {{ "{x" }}'
    assert template_variables(text) >= {"name", "other", "ticket", "price"}
    assert "json" not in template_variables(text) and "0" not in template_variables(text)
    assert template_variables("no placeholders {} {{}} { spaced }") == set()


# ---- runtime ----------------------------------------------------------------------------------------------------
def test_load_playbook_and_render_with_fill_both_placeholder_styles(run: tuple[Store, str], tmp_path: Path) -> None:
    path = tmp_path / "playbook.json"
    path.write_text(export_playbook(*run, "json"))
    playbook = load_playbook(path)
    text = render_with(playbook, customer_name="Ada", ticket_id="{{ not_a_template }}")
    assert "for Ada (ticket {{ not_a_template }})" in text and GOOD_RULE in text
    assert '{"a": 1}' in text
    with pytest.raises(TemplateError, match="customer_name"):
        render_with(playbook, ticket_id=7)
    assert render_with("{n:03d}/{{ n + 1 }}", n=7) == "007/8"


# ---- import -----------------------------------------------------------------------------------------------------
def test_json_export_import_round_trips_exactly(run: tuple[Store, str], tmp_path: Path) -> None:
    store, run_id = run
    path = tmp_path / "export.json"
    path.write_text(export_playbook(store, run_id, "json"))
    final, _ = playbook_at(store, run_id)
    imported = import_prompt(path)
    assert imported == final and imported.content_hash() == final.content_hash()
    assert imported.bullets[0].source == final.bullets[0].source and len(imported.bullets[0].source) == 2
    # Counters survive too: store a playbook with some, export it, import it back.
    counted = final.with_counters({final.bullets[0].id: 3}, {final.bullets[0].id: 1})
    new_run = start_run_from_import(store, counted, "counted")
    assert store.get_run(new_run).kind == "import" and playbook_at(store, new_run) == (counted, 0)
    path.write_text(export_playbook(store, new_run, "json"))
    again = import_prompt(path)
    assert again == counted and (again.bullets[0].helpful, again.bullets[0].harmful) == (3, 1)
    assert again.next_id == final.next_id


@pytest.mark.parametrize("fmt", ["agents-md", "claude-md", "cursorrules", "prompt"])
def test_text_exports_round_trip_bullets(run: tuple[Store, str], tmp_path: Path, fmt: str) -> None:
    store, run_id = run
    path = tmp_path / "AGENTS.md"
    path.write_text(export_playbook(store, run_id, fmt))
    final, _ = playbook_at(store, run_id)
    imported = import_prompt(path)
    assert [(b.id, b.section, b.text) for b in imported.bullets] == [(b.id, b.section, b.text) for b in final.bullets]
    assert imported.seed_prompt.strip() == final.seed_prompt.strip()
    assert imported.render() == final.render()
    if fmt != "prompt":
        assert imported.sections == final.sections and imported.next_id == final.next_id


def test_a_plain_prompt_becomes_the_seed(tmp_path: Path) -> None:
    path = tmp_path / "prompt.md"
    path.write_text("# Support\n\nYou route {ticket_id}.\n\n## Playbook\n\n- not ours\n")
    assert import_prompt(path) == Playbook(seed_prompt=path.read_text())


def test_a_dspy_saved_program_gives_its_instructions(tmp_path: Path) -> None:
    program = {"predict": {"traces": [], "train": [], "demos": [],
                           "signature": {"instructions": "Classify the ticket.", "fields": [{"prefix": "Input:"}]},
                           "lm": None}, "metadata": {"dependency_versions": {"dspy": "3.0"}}}
    path = tmp_path / "program.json"
    path.write_text(json.dumps(program))
    assert import_prompt(path).seed_prompt == "Classify the ticket."


@pytest.mark.parametrize(("name", "content", "problem"), [
    ("missing.txt", None, "file not found"),
    ("empty.md", b"  \n", "empty"),
    ("latin1.txt", "Caf\xe9".encode("latin-1"), "not valid UTF-8"),
    ("broken.json", b'{"format": "promptlearn.playbook/v1", ', "line 1: not valid JSON"),
    ("claims.txt", b'{"format": "promptlearn.playbook/v1" oops', "not valid JSON"),
    ("other.json", b'{"hello": "world"}', "without a promptlearn playbook"),
    ("badpb.json", b'{"seed_prompt": "x", "bullets": [{"id": "nope", "section": "a", "text": "t"}]}', "bullets"),
])
def test_broken_import_files_give_one_clear_error(tmp_path: Path, name: str, content: bytes | None,
                                                  problem: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImportFileError) as caught:
        import_prompt(path)
    message = str(caught.value)
    assert name in message and problem in message and "\n" not in message


# ---- diff and rollback ------------------------------------------------------------------------------------------
def test_diff_shows_the_added_bullet_with_its_reason_and_evidence(run: tuple[Store, str]) -> None:
    store, run_id = run
    diff = diff_versions(store, f"{run_id}@0", run_id)
    assert diff["removed"] == [] and diff["changed"] == []
    (added,) = diff["added"]
    assert added["text"] == GOOD_RULE and added["reason"] == "answers were sentences"
    assert len(added["evidence"]) == 2 and [c["rollout"] for c in added["critiques"]] == added["evidence"]
    assert added["version"] == 1 and diff["score_change"] > 0
    back = diff_versions(store, run_id, "@0")
    assert [r["id"] for r in back["removed"]] == [added["id"]] and back["added"] == []
    assert back["score_change"] == -diff["score_change"]


def test_rollback_adds_a_version_and_makes_the_old_content_current(run: tuple[Store, str]) -> None:
    store, run_id = run
    before = store.versions(run_id)
    seed, _ = playbook_at(store, run_id, 0)
    number = rollback(store, run_id, 0)
    after = store.versions(run_id)
    assert number == max(v.number for v in before) + 1 and len(after) == len(before) + 1
    new = after[-1]
    assert (new.parent_number, new.status, new.note) == (0, "accepted", "rollback to v0")
    current, current_no = playbook_at(store, run_id)
    assert current == seed and current_no == number and current.bullets == ()
    assert [v.content_json for v in after[:-1]] == [v.content_json for v in before]  # history kept
    diff = diff_versions(store, f"{run_id}@1", run_id)
    assert diff["removed"][0]["reason"] == "rollback to v0"
    with pytest.raises(ConfigError, match="already the current content"):
        rollback(store, run_id, 0)
    with pytest.raises(PromptlearnError, match="no version 42"):
        rollback(store, run_id, 42)


# ---- verify -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["prompt", "json", "dspy"])
def test_verify_reproduces_the_stored_val_accuracy(run: tuple[Store, str], fmt: str) -> None:
    store, run_id = run
    report = verify_export(store, run_id, fmt, lm=world([]))
    assert report["stored"] == 1.0 and report["exported"] == 1.0 and report["n"] == 20
    assert report["same_within_interval"] is True
    assert store.get_run(report["eval_run_id"]).kind == "eval"


def test_verify_catches_an_export_that_behaves_differently(run: tuple[Store, str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import promptlearn.export.verify as verify

    monkeypatch.setattr(verify, "sent_text", lambda text, fmt: text.replace(GOOD_RULE, "Be nice."))
    report = verify_export(*run, "prompt", lm=world([]))
    assert report["exported"] < 0.5 and report["same_within_interval"] is False


# ---- CLI --------------------------------------------------------------------------------------------------------
def cli(*args: str) -> object:
    from promptlearn.cli.main import app

    return CliRunner().invoke(app, list(args))


def test_cli_export_to_stdout_and_to_a_file(run: tuple[Store, str], tmp_path: Path) -> None:
    store, run_id = run
    db = store.url.removeprefix("sqlite:///")
    result = cli("export", run_id, "--format", "agents-md", "--db", db)
    assert result.exit_code == 0, result.output
    assert GOOD_RULE in result.stdout and "{{ customer_name }}" in result.stdout
    out = tmp_path / "prompt.txt"
    result = cli("export", f"{run_id}@1", "-f", "prompt", "--out", str(out), "--db", db)
    assert result.exit_code == 0 and out.read_text() == export_playbook(store, run_id, "prompt")
    bad = cli("export", run_id, "--format", "yaml", "--db", db)
    assert bad.exit_code == 2 and "choose from" in bad.stderr and "Traceback" not in bad.output


def test_cli_export_verify_reports_and_exits_nonzero_when_different(run: tuple[Store, str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import promptlearn.export as export

    report = {"ref": "x@1", "stored": 1.0, "exported": 0.2, "low": 0.1, "high": 0.4, "n": 20,
              "same_within_interval": False}
    monkeypatch.setattr(export, "verify_export", lambda *a, **k: report)
    db = run[0].url.removeprefix("sqlite:///")
    result = cli("export", run[1], "--verify", "--db", db)
    assert result.exit_code == 1 and "DIFFERENT" in result.stderr


def test_cli_diff_json_and_rollback(run: tuple[Store, str]) -> None:
    store, run_id = run
    db = store.url.removeprefix("sqlite:///")
    result = cli("diff", f"{run_id}@0", f"{run_id}@1", "--json", "--db", db)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["added"][0]["text"] == GOOD_RULE
    human = cli("diff", f"{run_id}@0", f"{run_id}@1", "--db", db)
    assert f"+ [{json.loads(result.stdout)['added'][0]['id']}] {GOOD_RULE}" in human.stdout
    result = cli("rollback", run_id, "0", "--db", db)
    assert result.exit_code == 0, result.output
    assert playbook_at(store, run_id)[0].bullets == ()


def test_cli_import(run: tuple[Store, str], tmp_path: Path) -> None:
    db = run[0].url.removeprefix("sqlite:///")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "promptlearn.playbook/v1",')
    result = cli("import", str(bad), "--db", db)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1 and "bad.json" in result.stderr
    good = tmp_path / "AGENTS.md"
    good.write_text(export_playbook(*run, "agents-md"))
    result = cli("import", str(good), "--name", "mine", "--json", "--db", db)
    assert result.exit_code == 0, result.output
    new_run = json.loads(result.stdout)["run_id"]
    assert run[0].get_run(new_run).name == "mine" and json.loads(result.stdout)["bullets"] == 1
