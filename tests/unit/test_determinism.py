"""A run is the same in every process: resume after a crash and replay from the cache depend on it.

Python salts string hashes per process (PYTHONHASHSEED), so anything that iterates a set of strings can pick
other worked examples or order a prompt differently in a resumed run. The same optimization, run in two
processes with different hash seeds, must make the same requests and the same versions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import hashlib, json, sys
from pathlib import Path
from promptlearn.store import Store
from tests.unit.test_pipeline import config, learns_from_examples
from tests.fakes_task import world_with

tmp = Path(sys.argv[1])
keys = []
lm = world_with(learns_from_examples, [])
inner = lm.complete
def spy(request):
    keys.append(request.key)
    return inner(request)
lm.complete = spy
from promptlearn import optimize
store = Store(str(tmp / "db.sqlite"))
result = optimize(config(tmp, budget={"max_iterations": 3}), store=store, lm=lm)
versions = [(v.number, v.status, v.content_hash) for v in store.versions(result.run_id)]
print(json.dumps({"keys": keys, "versions": versions}))
"""


def run_with_hash_seed(tmp: Path, seed: str) -> dict:
    tmp.mkdir()
    env = {**os.environ, "PYTHONHASHSEED": seed}
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp)], env=env, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2], check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_same_run_makes_the_same_requests_under_any_hash_seed(tmp_path: Path) -> None:
    first, second = (run_with_hash_seed(tmp_path / seed, seed) for seed in ("1", "2"))
    assert len(first["versions"]) > 2  # candidates were made: there was something to differ
    assert first["versions"] == second["versions"]
    assert first["keys"] == second["keys"]


LABEL_COVERAGE = """
from promptlearn.data import Example
from promptlearn.optimize.proposers import worked_examples
from promptlearn.playbook import Playbook
labels = [f"intent_{i}" for i in range(12)]  # every label equally common: the coverage order is all ties
train = [Example(f"{label}-{n}", f"message {n} about {label}", label) for label in labels for n in range(2)]
picked = worked_examples(Playbook(seed_prompt="Classify."), [], train, limit=4)
print([example.id for _delta, example in picked])
"""


def test_labels_without_an_example_are_picked_in_the_same_order_under_any_hash_seed() -> None:
    runs = [subprocess.run([sys.executable, "-c", LABEL_COVERAGE], env={**os.environ, "PYTHONHASHSEED": seed},
                           capture_output=True, text=True, check=True).stdout for seed in ("1", "2", "3")]
    assert runs[0].strip() and runs[0] == runs[1] == runs[2]
