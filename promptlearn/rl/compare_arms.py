"""The two learning arms of `promptlearn compare`, each timed the same way: rollouts, wall seconds, compute seconds.

- wall_s: the arm's learning from start to end, model loading included; scoring on the test split is left out.
- compute_s: seconds inside the models while learning. Prompt arm: every fresh task, judge and rewriter call
  (test scoring left out). RL arm: TRL's `step_time` summed (sampling + update), model loading left out.

Each arm also hands back its curve points (what to score on test, at which rollouts and compute seconds).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from promptlearn.bench.arms import stored_run
from promptlearn.config import RunConfig
from promptlearn.lm import LM, Completion, LMRequest, Router
from promptlearn.optimize import optimize
from promptlearn.playbook import Playbook
from promptlearn.rl.config import RLConfig
from promptlearn.rl.train import saved_checkpoints, train
from promptlearn.store import Store

Say = Callable[[str], None]
WALL_FILE = "compare_wall.json"


@dataclass
class Point:
    """One curve point: a prompt (prompt arm) or an adapter folder (RL arm), and what learning it cost so far."""

    label: str
    rollouts: int
    compute_s: float
    wall_s: float | None  # None where not measured (RL checkpoints between the first and the last step)
    prompt: str | None = None
    adapter: str | None = None


@dataclass
class ArmRun:
    arm: str
    run_id: str
    rollouts: int
    wall_s: float
    compute_s: float
    points: list[Point] = field(default_factory=list)  # the last one is the arm's result
    notes: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArmRun:
        return cls(**{**data, "points": [Point(**p) for p in data["points"]]})


class PromptClock:
    """Follows the loop's events: learning rollouts, wall time and model time, with test scoring paused."""

    def __init__(self, say: Say | None = None) -> None:
        self.started = time.monotonic()
        self.paused_s = 0.0
        self.test_since: float | None = None
        self.lm_s = 0.0
        self.rollouts = 0
        self.accepted: list[tuple[int, int, float, float]] = []  # (version, rollouts, compute_s, wall_s)
        self.say = say

    def wall(self) -> float:
        return time.monotonic() - self.started - self.paused_s

    def on_event(self, kind: str, data: dict[str, Any]) -> None:
        testing = data.get("split") == "test"
        if kind == "eval_start" and testing:
            self.test_since = time.monotonic()
        elif kind == "eval_end" and testing and self.test_since is not None:
            self.paused_s += time.monotonic() - self.test_since
            self.test_since = None
        elif kind == "rollout" and not testing:
            self.rollouts += 1
        elif kind == "accepted":
            self.accepted.append((int(data["version"]), self.rollouts, self.lm_s, self.wall()))
        if self.say and kind in ("accepted", "gate", "iteration"):
            self.say(f"prompt arm: {kind} {data}")

    def timed(self, inner: LM) -> LM:
        clock = self

        class Timed:
            def complete(self, request: LMRequest) -> Completion:
                start = time.monotonic()
                try:
                    return inner.complete(request)
                finally:
                    if clock.test_since is None:  # the test split is scored apart
                        clock.lm_s += time.monotonic() - start

        return Timed()


def run_prompt_arm(run: RunConfig, store: Store, lm_inner: LM | None, say: Say | None = None) -> ArmRun:
    """optimize() on the run (resuming a stored run of the same config), timed; points = seed + accepted."""
    clock = PromptClock(say)
    previous = stored_run(store, run)
    result = optimize(None if previous else run, resume=previous, store=store, lm=clock.timed(lm_inner or Router()),
                      on_event=clock.on_event)
    test_rollouts = len(result.seed_test.results) * (1 if result.final_version == 0 else 2)
    points = [Point("seed", 0, 0.0, 0.0, prompt=result.seed.render())]
    for version, rollouts, compute_s, wall_s in clock.accepted:
        row = store.get_version(result.run_id, version)
        if row is not None:
            prompt = Playbook.from_json(row.content_json).render()
            points.append(Point(f"v{version}", rollouts, compute_s, wall_s, prompt))
    learned = result.rollouts - test_rollouts
    # The result again at the full spend: a flat stretch after the last acceptance is budget that bought nothing.
    points.append(Point(f"final (v{result.final_version})", learned, clock.lm_s, clock.wall(), prompt=result.prompt))
    llama_test = {"seed": result.seed_test.accuracy.estimate, "final": result.final_test.accuracy.estimate}
    return ArmRun("prompt", result.run_id, learned, clock.wall(), clock.lm_s, points,
                  {"stop_reason": result.stop_reason, "final_version": result.final_version,
                   "iterations": result.iterations, "learn_model": run.models.task, "learn_model_test": llama_test,
                   "resumed": previous is not None})


def run_rl_arm(config: RLConfig, store: Store, say: Say | None = None) -> ArmRun:
    """train() (which resumes from the last checkpoint in its output dir), timed; points = checkpoints."""
    def show(step: dict[str, float]) -> None:
        if say:
            say(f"RL arm: step {step['step']:.0f}/{config.max_steps}: reward {step.get('reward', 0):.3f} "
                f"({step.get('step_time', 0):.1f}s)")

    started = time.monotonic()
    try:
        result = train(config, store, on_step=show)
    finally:  # a resumed run's wall time includes the earlier invocations, crashed ones too
        wall = add_wall(config.out_path, time.monotonic() - started)
    per_step = config.batch_size
    step_time = {int(s["step"]): s.get("step_time", 0.0) for s in result.steps}

    def compute(upto: int) -> float:
        return sum(t for step, t in step_time.items() if step <= upto)

    points = [Point("base", 0, 0.0, 0.0)]
    for step, folder in saved_checkpoints(config.out_path / "checkpoints"):
        if step < config.max_steps:
            points.append(Point(f"step {step}", step * per_step, compute(step), None, adapter=str(folder)))
    points.append(Point(f"step {config.max_steps}", config.max_steps * per_step, compute(config.max_steps), wall,
                        adapter=str(result.adapter_dir)))
    return ArmRun("rl", result.run_id or "", config.max_steps * per_step, wall, compute(config.max_steps), points,
                  {"max_steps": config.max_steps, "steps": result.steps, "rewards": result.rewards,
                   "resumed_from": result.resumed_from,
                   "device": result.device, "adapter_dir": str(result.adapter_dir),
                   "output_dir": str(result.output_dir)})


def add_wall(folder: Path, seconds: float) -> float:
    """Add this invocation's training wall time to the total kept in the RL output dir; return the total."""
    path = folder / WALL_FILE
    total = seconds + (json.loads(path.read_text(encoding="utf-8"))["wall_s"] if path.is_file() else 0.0)
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"wall_s": total}) + "\n", encoding="utf-8")
    return total


def thin(points: list[Point], keep: int) -> list[Point]:
    """The first point, the last, and at most `keep` evenly spread points between them."""
    if len(points) <= keep + 2:
        return points
    middle = points[1:-1]
    chosen = sorted({round(i * (len(middle) - 1) / max(1, keep - 1)) for i in range(keep)}) if keep else []
    return [points[0], *(middle[i] for i in chosen), points[-1]]
