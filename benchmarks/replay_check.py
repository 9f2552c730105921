"""Does today's code reproduce runs recorded by earlier code? Replays stored optimize runs through `ReplayLM`.

Each run's stored config is run again in a fresh in-memory store whose only model is a `ReplayLM` holding every
reply of the source database: a request the old run never made fails loudly (the code asks something else), and
the versions (number, status, content hash) and their scores must come out the same. Used to show that a
refactor changed no behaviour (issue #17).

    python -m benchmarks.replay_check --db runs/out/learn.db [--run RUN_ID ...] [--set learn.explain=true]

`--set` restores a default that changed on purpose since the runs were recorded (a stored config holds only the
fields its code knew; `learn.explain` was on, without a field, before it went off by default).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from promptlearn.cli.common import parse_sets
from promptlearn.config import RunConfig
from promptlearn.errors import UnseenRequest
from promptlearn.lm import ReplayLM
from promptlearn.optimize import optimize
from promptlearn.store import Store

# What a model call measured (its time, the tokens and price its provider reported): a replayed reply has none,
# and none of it decides a version (unless `objective.weights` ranks by it, which these runs do not set).
CALL_MEASURES = ("latency_s", "prompt_tokens", "cost_usd")


def version_trace(store: Store, run_id: str) -> list[tuple[int, str, str, dict]]:
    return [(v.number, v.status, v.content_hash, _decisive(json.loads(v.scores_json))) for v in store.versions(run_id)]


def _decisive(scores: dict) -> dict:
    objectives = {k: v for k, v in scores.get("objectives", {}).items() if k not in CALL_MEASURES}
    return {**scores, "objectives": objectives} if "objectives" in scores else scores


def replay(source: Store, run_id: str, replies: dict[str, str], overrides: dict[str, Any] | None = None) -> list[str]:
    """Differences between the stored run and its replay (empty: reproduced)."""
    row = source.get_run(run_id)
    config = RunConfig.model_validate(json.loads(row.config_json))
    if overrides:
        config = config.with_overrides("--set", **overrides)
    with tempfile.TemporaryDirectory() as tmp:
        target = Store(f"sqlite:///{Path(tmp) / 'replay.db'}")
        try:
            result = optimize(config, store=target, lm=ReplayLM(replies))
        except UnseenRequest as exc:
            return [f"asked a request the recorded run never made: {exc}"]
        want, got = version_trace(source, run_id), version_trace(target, result.run_id)
        # Scores the code records today but did not then (a newer measurement, e.g. objectives) are not a difference.
        got = [(*g[:3], {k: v for k, v in g[3].items() if k in w[3]}) for w, g in zip(want, got, strict=False)] + \
            got[len(want):]
        return [f"version {w[0]}: recorded {w[1:]} replayed {g[1:]}" for w, g in zip(want, got, strict=False)
                if w != g] + ([f"{len(want)} versions recorded, {len(got)} replayed"] if len(want) != len(got) else [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="runs/out/learn.db")
    parser.add_argument("--run", action="append", help="run ids (default: every completed optimize run)")
    parser.add_argument("--set", action="append", default=[], help="FIELD=VALUE, a default that changed since")
    args = parser.parse_args()
    overrides = parse_sets(args.set)
    source = Store(args.db)
    runs = args.run or [r.id for r in source.list_runs(limit=100_000)
                        if r.kind == "optimize" and r.status == "completed"]
    replies = source.recorded_replies()
    failed = 0
    for run_id in runs:
        diffs = replay(source, run_id, replies, overrides)
        failed += bool(diffs)
        print(f"{run_id} {source.get_run(run_id).name}: " + ("reproduced" if not diffs else "DIFFERS"), flush=True)
        for line in diffs[:10]:
            print(f"  {line}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
