"""Tokens/s of promptlearn's LM seam against raw llama.cpp, same model, same prompts, same run.

Every arm answers the same prompt text, and llama.cpp reuses the KV cache of a prompt prefix it has just seen,
so an arm run right after another would skip the prompt's processing. Two guards: the KV cache is reset before
every timed call, and the arm order cycles through each rotation and its reverse (ABBA for two arms), so each
arm runs first, middle and last equally often. The orders used are recorded. Writes
benchmarks/results/lm_throughput.json.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from promptlearn.lm import LMRequest, build_lm
from promptlearn.lm.local import engine, threads
from promptlearn.store import Store

RESULTS = Path(__file__).resolve().parent / "results"
ARMS = ("raw", "seam", "store")
PROMPTS = [
    "Explain in two sentences why the sky is blue.",
    "List three uses of a paperclip.",
    "Write a haiku about databases.",
    "What is the capital of France? Answer in one sentence, then give one fact about it.",
    "Describe a cat to someone who has never seen one.",
    "Give two tips for writing clear error messages.",
]


def arm_orders(arms: Sequence[str], calls: int) -> list[tuple[str, ...]]:
    """The arm order for each of `calls` calls: each rotation of `arms` followed by its reverse, cycled. Over
    every 2 * len(arms) calls each arm holds each position equally often; for two arms it is A B, B A, B A, A B."""
    cycle: list[tuple[str, ...]] = []
    for shift in range(len(arms)):
        rotation = tuple(arms[shift:]) + tuple(arms[:shift])
        cycle += [rotation, rotation[::-1]]
    return [cycle[i % len(cycle)] for i in range(calls)]


def cold_cache(name: str) -> None:
    """Forget the KV cache, so the next call processes its whole prompt whichever arm ran before it."""
    llm, lock = engine(name)
    with lock:
        llm.reset()


def raw_call(name: str, prompt: str, max_tokens: int) -> int:
    llm, lock = engine(name)
    with lock:
        out = llm.create_chat_completion(messages=[{"role": "user", "content": prompt}], temperature=0.0,
                                         max_tokens=max_tokens, seed=0)
    return out["usage"]["completion_tokens"]


def seam_call(lm, name: str, prompt: str, max_tokens: int) -> int:  # type: ignore[no-untyped-def]
    reply = lm.complete(LMRequest.chat(f"local/{name}", [{"role": "user", "content": prompt}], max_tokens=max_tokens))
    assert reply.ok, reply.error
    return reply.usage.completion_tokens


def measure(name: str, rounds: int, max_tokens: int) -> dict[str, object]:
    engine(name)  # load once, outside the timings
    raw_call(name, "Say hello.", 8)  # the first call pays one-off setup; untimed, so the first arm does not
    tokens = dict.fromkeys(ARMS, 0)
    seconds = dict.fromkeys(ARMS, 0.0)
    plain = build_lm()
    # A fresh request text per round keeps the store arm from answering out of its cache.
    texts = [f"{prompt} (variant {r})" for r in range(rounds) for prompt in PROMPTS]
    orders = arm_orders(ARMS, len(texts))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(str(Path(tmp) / "bench.db"))
        arms = {"raw": lambda text: raw_call(name, text, max_tokens),
                "seam": lambda text: seam_call(plain, name, text, max_tokens),
                "store": lambda text: seam_call(build_lm(store), name, text, max_tokens)}
        for text, order in zip(texts, orders, strict=True):
            for arm in order:
                cold_cache(name)
                start = time.perf_counter()
                tokens[arm] += arms[arm](text)
                seconds[arm] += time.perf_counter() - start
    tps = {arm: tokens[arm] / seconds[arm] for arm in ARMS}
    return {"raw_tokens_per_s": round(tps["raw"], 2), "seam_tokens_per_s": round(tps["seam"], 2),
            "seam_with_store_tokens_per_s": round(tps["store"], 2), "seam_ratio": round(tps["seam"] / tps["raw"], 3),
            "seam_with_store_ratio": round(tps["store"] / tps["raw"], 3), "completion_tokens_per_arm": tokens["raw"],
            "calls_per_arm": len(texts), "arm_orders": [",".join(order) for order in orders]}


def main() -> None:
    rounds = int(os.environ.get("BENCH_ROUNDS", "2"))
    max_tokens = int(os.environ.get("BENCH_MAX_TOKENS", "64"))
    models = os.environ.get("BENCH_MODELS", "smollm2-135m,qwen2.5-0.5b").split(",")
    load_before = os.getloadavg()[0]
    results = {name: measure(name, rounds, max_tokens) for name in models}
    # Other work on the machine skews tokens/s; the 1-minute load average around the run shows how busy it was.
    load = {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}
    report = {"benchmark": "lm_throughput", "target": "seam >= 90% of raw llama.cpp tokens/s",
              "machine": {"cpus": os.cpu_count(), "threads": threads(), "platform": platform.platform(),
                          "load_average_1m": load},
              "max_tokens": max_tokens, "rounds": rounds, "kv_cache": "reset before every timed call",
              "arm_order": "each rotation of raw,seam,store then its reverse, cycled per prompt (see arm_orders)",
              "date": time.strftime("%Y-%m-%d %H:%M:%S"), "models": results}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "lm_throughput.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
