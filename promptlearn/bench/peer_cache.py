"""The peers' results, kept beside the code that reads them: a result that does not change with our code is reused.

A peer arm (GEPA, MIPROv2) depends on the task, its split, the models, its settings and the library versions, not
on promptlearn's loop. Its per-example test results are committed under `benchmarks/results/<preset>-peers/` with
a fingerprint of all of that; a fresh clone whose fingerprint matches rebuilds the arm's result from the file and
reruns only the promptlearn arms. Anything that changes the fingerprint reruns the peer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

from promptlearn.bench.task import ArmResult, BenchTask
from promptlearn.data import Example
from promptlearn.evaluate import EvalResult, summarize
from promptlearn.rollouts import RolloutResult

PEER_ARMS = ("gepa", "miprov2")
LIBRARIES = ("dspy", "gepa", "litellm", "llama_cpp_python", "optuna")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def _model_digest(model: str) -> str:
    """An embedded model is named by its pinned sha256; a hosted one by its string (its provider may change it)."""
    if model.startswith("local/"):
        from promptlearn.lm.models import spec

        try:
            return spec(model.split("/", 1)[1]).sha256
        except Exception:  # an unknown local name: the string is all we know
            return model
    return model


def fingerprint_inputs(task: BenchTask, arm: str, budget: int) -> dict[str, Any]:
    """Everything a peer's result depends on, as plain JSON."""
    _dataset, splits, scorer = task.data()
    ids = {part: hashlib.sha256("\n".join(e.id + "\t" + e.input + "\t" + e.target
                                          for e in getattr(splits, part).examples).encode()).hexdigest()[:16]
           for part in ("train", "val", "test")}
    models = task.models
    return {"arm": arm, "budget": budget, "task": task.name, "dataset": task.dataset, "seed": task.seed,
            "system_prompt": task.system_prompt, "scorer": getattr(scorer, "name", str(task.scorer)),
            "splits": ids, "task_model": _model_digest(models.task), "reflection_model": _model_digest(models.rewriter),
            "task_max_tokens": models.task_max_tokens, "reflection_max_tokens": task.reflection_max_tokens,
            "libraries": {p: _version(p) for p in LIBRARIES}, **_tools_digest(splits)}


def _tools_digest(splits: Any) -> dict[str, str]:
    """A tool task's tools and checker metadata are inputs too; a task without tools keeps its fingerprint."""
    examples = [e for part in ("train", "val", "test") for e in getattr(splits, part).examples]
    if not any(e.tools is not None for e in examples):
        return {}
    blob = json.dumps([e.metadata for e in examples], sort_keys=True, ensure_ascii=False, default=str)
    return {"tools": hashlib.sha256(blob.encode()).hexdigest()[:16]}


def fingerprint(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:20]


def cache_path(folder: Path, task: BenchTask, arm: str) -> Path:
    return folder / f"{task.name.replace(':', '_')}-{arm}-seed{task.seed}.json"


def _results(result: EvalResult) -> list[dict[str, Any]]:
    return [{"id": r.example.id, "output": r.output, "score": r.score, "parsed": r.parsed, "reason": r.reason}
            for r in result.results]


def save(folder: Path, task: BenchTask, result: ArmResult) -> Path:
    inputs = fingerprint_inputs(task, result.arm, result.budget)
    payload = {
        "fingerprint": fingerprint(inputs), "inputs": inputs, "prompt": result.prompt, "rollouts": result.rollouts,
        "test_rollouts": result.test_rollouts, "tokens": result.tokens, "lm_seconds": result.lm_seconds,
        "wall_s": result.wall_s, "calls": result.calls, "notes": result.notes,
        "reflection_calls": result.reflection_calls, "reflection_tokens": result.reflection_tokens,
        "test": _results(result.test),
        "checkpoints": {str(n): _results(r) for n, r in sorted(result.checkpoints.items())},
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = cache_path(folder, task, result.arm)
    path.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def _rebuild(rows: list[dict[str, Any]], examples: dict[str, Example]) -> EvalResult:
    return summarize([RolloutResult(examples[r["id"]], r["output"], r["score"], r["reason"], r["parsed"])
                      for r in rows])


def load(folder: Path, task: BenchTask, arm: str, budget: int) -> ArmResult | None:
    """The stored result when its fingerprint matches what this run would compute; else None (run the peer)."""
    path = cache_path(folder, task, arm)
    if not path.is_file():
        return None
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None  # unreadable: run the peer again and overwrite it
    if payload.get("fingerprint") != fingerprint(fingerprint_inputs(task, arm, budget)):
        return None
    _dataset, splits, _scorer = task.data()
    examples = {e.id: e for e in splits.test.examples}
    result = ArmResult(
        arm=arm, task=task.name, seed=task.seed, budget=budget, test=_rebuild(payload["test"], examples),
        prompt=payload["prompt"], rollouts=payload["rollouts"], test_rollouts=payload["test_rollouts"],
        tokens=payload["tokens"], lm_seconds=payload["lm_seconds"], wall_s=payload["wall_s"],
        calls=payload["calls"], notes={**payload["notes"], "reused_from": str(path)},
        reflection_calls=payload["reflection_calls"], reflection_tokens=payload["reflection_tokens"],
        checkpoints={int(n): _rebuild(rows, examples) for n, rows in payload["checkpoints"].items()})
    return replace(result, fresh_calls=0)
