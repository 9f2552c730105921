"""Crash safety: real runs in subprocesses are SIGKILLed at random points, then resumed; the store must hold
exactly what an uninterrupted run holds. `PROMPTLEARN_CRASH_RUNS` sets how many runs are crashed (default 5)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from promptlearn import optimize
from promptlearn.store import Store
from tests.fakes_task import write_dataset
from tests.reliability import checks
from tests.reliability.worker import run_config, steady_world

pytestmark = pytest.mark.reliability

REPO = Path(__file__).resolve().parents[2]
CRASH_RUNS = int(os.environ.get("PROMPTLEARN_CRASH_RUNS", "5"))
SLEEP_MS = 3  # per fake LM call, so a run lasts long enough for a kill to land mid-run


def start_worker(db: Path, data: Path, log: Path, *extra: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.reliability.worker", str(db), str(data),
                             "--sleep-ms", str(SLEEP_MS), *extra],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=log.open("a"), text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line == "READY", f"worker did not start: {line!r}\n{log.read_text()}"
    return proc


def kill_at(proc: subprocess.Popen[str], delay: float) -> bool:
    """SIGKILL after `delay` seconds; True if the kill landed (the process had not finished)."""
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    return proc.returncode == -signal.SIGKILL


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    folder = tmp_path_factory.mktemp("reference")
    data, db = write_dataset(folder / "tickets.jsonl"), folder / "ref.sqlite"
    log = folder / "worker.log"
    proc = start_worker(db, data, log)
    started = time.monotonic()
    assert proc.wait(timeout=120) == 0, log.read_text()
    (run_id,) = checks.run_ids(db)
    return {"data": data, "seconds": time.monotonic() - started, "db": db,
            "fingerprint": checks.fingerprint(db, run_id), "keys": checks.lm_call_keys(db)}


def test_sigkilled_runs_resume_to_the_uninterrupted_result(reference: dict, tmp_path: Path,  # type: ignore[type-arg]
                                                           record_property) -> None:  # type: ignore[no-untyped-def]
    expected = reference["fingerprint"]
    assert expected["status"] == [("completed",)] and expected["rollouts"]
    kills = landed = mid_run = 0
    progress: list[float] = []
    for index in range(CRASH_RUNS):
        rng = random.Random(7_001 + index)
        db, log = tmp_path / f"crash{index}.sqlite", tmp_path / f"crash{index}.log"
        for _attempt in range(1 + (rng.random() < 0.5)):  # half the runs are killed again while resuming
            runs = checks.run_ids(db) if db.exists() else []
            proc = start_worker(db, reference["data"], log, *(["--resume", runs[0]] if runs else []))
            kills += 1
            if kill_at(proc, rng.uniform(0.02, 0.95) * reference["seconds"]):
                landed += 1
                runs = checks.run_ids(db)
                if runs and checks.fingerprint(db, runs[0])["status"] == [("running",)]:
                    mid_run += 1
                    progress.append(len(checks.fingerprint(db, runs[0])["rollouts"]) / len(expected["rollouts"]))
        runs = checks.run_ids(db)
        store = Store(str(db))
        if runs:
            optimize(resume=runs[0], store=store, lm=steady_world())
        else:  # killed before the run was created: the user simply starts again
            optimize(run_config(reference["data"]), store=store, lm=steady_world())
        (run_id,) = checks.run_ids(db)
        assert checks.violations(db) == [], f"crash run {index}"
        assert checks.fingerprint(db, run_id) == expected, f"crash run {index} differs from the reference"
        assert checks.lm_call_keys(db) == reference["keys"], f"crash run {index}: lost or extra LM calls"
    summary = (f"crash safety: {CRASH_RUNS} runs, {kills} SIGKILLs, {landed} landed, {mid_run} mid-run "
               f"(progress at kill: {', '.join(f'{p:.0%}' for p in sorted(progress))})")
    print(summary)
    record_property("crash_runs", CRASH_RUNS)
    record_property("sigkills", kills)
    record_property("sigkills_mid_run", mid_run)
    assert mid_run >= max(1, CRASH_RUNS // 2), summary


@pytest.mark.parametrize("saved_splits", [0, 1, 2])
def test_a_crash_while_saving_the_examples_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    saved_splits: int) -> None:
    # The narrowest window a kill can hit: the run row exists, only some of its splits were written.
    data = write_dataset(tmp_path / "tickets.jsonl")
    store = Store(str(tmp_path / "db.sqlite"))
    save = store.save_examples
    calls = {"n": 0}

    def power_cut(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] > saved_splits:
            raise KeyboardInterrupt("power cut")
        save(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(store, "save_examples", power_cut)
        with pytest.raises(KeyboardInterrupt):
            optimize(run_config(data), store=store, lm=steady_world())
    (run_id,) = checks.run_ids(tmp_path / "db.sqlite")
    optimize(resume=run_id, store=store, lm=steady_world())
    assert len(store.examples(run_id)) == 60
    assert checks.violations(tmp_path / "db.sqlite") == []
