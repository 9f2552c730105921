"""Concurrent writers: separate processes optimizing into one database at the same moment (a fresh database,
so they also race to create the schema) finish without "database is locked" and without mixing their runs up.
Each run must equal the same run made alone (on SQLite). Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from promptlearn import optimize
from promptlearn.store import Store
from tests.fakes_task import write_dataset
from tests.reliability import checks
from tests.reliability.worker import run_config, steady_world

pytestmark = pytest.mark.reliability

REPO = Path(__file__).resolve().parents[2]


def solo_fingerprint(data: Path, folder: Path, name: str) -> dict:  # type: ignore[type-arg]
    db = folder / f"solo-{name}.sqlite"
    result = optimize(run_config(data, name=name), store=Store(str(db)), lm=steady_world())
    return checks.fingerprint(db, result.run_id)


def race(db: str, datasets: dict[str, Path], folder: Path) -> dict[str, str]:
    """Start one worker per dataset at once; return {name: run id}."""
    procs = {}
    for name, data in datasets.items():
        log = (folder / f"race-{name}.log").open("w")
        procs[name] = (subprocess.Popen([sys.executable, "-m", "tests.reliability.worker", db, str(data),
                                         "--sleep-ms", "1", "--name", name],
                                        cwd=REPO, stdout=subprocess.PIPE, stderr=log, text=True), log.name)
    run_ids = {}
    for name, (proc, log_name) in procs.items():
        out, _ = proc.communicate(timeout=180)
        errors = Path(log_name).read_text()
        assert proc.returncode == 0, f"writer {name} failed:\n{errors}"
        assert "locked" not in errors and "Traceback" not in errors
        run_ids[name] = json.loads(out.split("DONE ", 1)[1])["run_id"]
    return run_ids


@pytest.mark.parametrize("shared_dataset", [False, True], ids=["own-datasets", "one-dataset-shared-cache"])
def test_two_processes_optimize_into_one_database(tmp_path: Path, db_url: str, shared_dataset: bool) -> None:
    data_a = write_dataset(tmp_path / "tickets_a.jsonl")
    data_b = data_a if shared_dataset else write_dataset(tmp_path / "tickets_b.jsonl", n=64)
    datasets = {"alpha": data_a, "beta": data_b}
    expected = {name: solo_fingerprint(data, tmp_path, name) for name, data in datasets.items()}
    db = db_url
    run_ids = race(db, datasets, tmp_path)
    assert len(set(run_ids.values())) == 2
    assert checks.violations(db) == []
    for name, run_id in run_ids.items():
        assert checks.fingerprint(db, run_id) == expected[name], f"run {name} differs from the same run made alone"
        prefix = f"{datasets[name].stem}:"
        assert all(example_id.startswith(prefix) for _v, example_id, *_rest in expected[name]["rollouts"])


SLOW_MIGRATION = """
import sys, time
from alembic.operations import Operations
create = Operations.create_table
def slow_create(self, *args, **kwargs):
    print("MIGRATING", flush=True)
    time.sleep(0.25)
    return create(self, *args, **kwargs)
Operations.create_table = slow_create
from promptlearn.store import Store
Store(sys.argv[1])
print("OPENED", flush=True)
"""


def test_a_process_opening_a_database_another_is_creating_waits_for_it(db_url: str) -> None:
    # Deterministic version of the race above: the first process is half way through creating the schema
    # (slowed down) when the second one opens the same fresh database.
    db = db_url
    first = subprocess.Popen([sys.executable, "-c", SLOW_MIGRATION, db], cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert first.stdout is not None and first.stdout.readline().strip() == "MIGRATING"
    second = subprocess.run([sys.executable, "-c", "import sys; from promptlearn.store import Store; "
                             "Store(sys.argv[1]); print('OPENED')", db],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0 and "OPENED" in out, err
    assert second.returncode == 0 and "OPENED" in second.stdout, second.stderr
    store = Store(db)
    assert store.list_runs() == [] and checks.violations(db) == []
