"""A benchmark resumes its stored promptlearn runs though the config gained fields since they were stored."""

from __future__ import annotations

import json
from pathlib import Path

from promptlearn.bench.arms import stored_run
from promptlearn.config import preset
from promptlearn.store import Store


def test_a_run_stored_before_new_config_fields_is_found(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "db.sqlite"))
    config = preset("quick", name="bench-x")
    old = config.model_dump(mode="json")
    del old["objective"]  # as promptlearn stored it before these fields existed
    for section, field in (("gate", "review"), ("gate", "noninferiority_margin"), ("learn", "expire_after")):
        del old[section][field]
    run_id = store.create_run("optimize", config.name, old)
    store.create_run("optimize", "other", preset("quick", name="other").model_dump(mode="json"))
    assert stored_run(store, config) == run_id
    assert stored_run(store, preset("quick", name="bench-x", seed=1)) is None  # a different config is not it
    newer = store.create_run("optimize", config.name, config.model_dump(mode="json"))
    assert stored_run(store, config) == newer  # the newest of the matching runs
    assert json.loads(store.get_run(run_id).config_json).get("objective") is None
