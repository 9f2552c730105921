"""Tokens/s of promptlearn's LM seam against raw llama.cpp, same model, same prompts, same run.

ABBA order per prompt (raw, seam, seam, raw, ...) so neither side profits from the other's warm KV prefix
cache more than the other. Writes benchmarks/results/lm_throughput.json.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

from promptlearn.lm import LMRequest, build_lm
from promptlearn.lm.local import engine, threads
from promptlearn.store import Store

RESULTS = Path(__file__).resolve().parent / "results"
PROMPTS = [
    "Explain in two sentences why the sky is blue.",
    "List three uses of a paperclip.",
    "Write a haiku about databases.",
    "What is the capital of France? Answer in one sentence, then give one fact about it.",
    "Describe a cat to someone who has never seen one.",
    "Give two tips for writing clear error messages.",
]


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


def measure(name: str, rounds: int, max_tokens: int) -> dict[str, float]:
    engine(name)  # load once, outside the timings
    raw_tokens = raw_time = seam_tokens = seam_time = store_tokens = store_time = 0.0
    plain = build_lm()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(str(Path(tmp) / "bench.db"))
        for r in range(rounds):
            for i, prompt in enumerate(PROMPTS):
                # A fresh request text per round keeps the store arm from answering out of its cache.
                text = f"{prompt} (variant {r})"
                order = ["raw", "seam", "store"] if (r + i) % 2 == 0 else ["store", "seam", "raw"]
                for arm in order:
                    start = time.perf_counter()
                    if arm == "raw":
                        raw_tokens += raw_call(name, text, max_tokens)
                        raw_time += time.perf_counter() - start
                    elif arm == "seam":
                        seam_tokens += seam_call(plain, name, text, max_tokens)
                        seam_time += time.perf_counter() - start
                    else:
                        store_tokens += seam_call(build_lm(store), name, text, max_tokens)
                        store_time += time.perf_counter() - start
    raw_tps, seam_tps, store_tps = raw_tokens / raw_time, seam_tokens / seam_time, store_tokens / store_time
    return {"raw_tokens_per_s": round(raw_tps, 2), "seam_tokens_per_s": round(seam_tps, 2),
            "seam_with_store_tokens_per_s": round(store_tps, 2), "seam_ratio": round(seam_tps / raw_tps, 3),
            "seam_with_store_ratio": round(store_tps / raw_tps, 3), "completion_tokens_per_arm": int(raw_tokens),
            "calls_per_arm": rounds * len(PROMPTS)}


def main() -> None:
    rounds = int(os.environ.get("BENCH_ROUNDS", "2"))
    max_tokens = int(os.environ.get("BENCH_MAX_TOKENS", "64"))
    models = os.environ.get("BENCH_MODELS", "smollm2-135m,qwen2.5-0.5b").split(",")
    results = {name: measure(name, rounds, max_tokens) for name in models}
    report = {"benchmark": "lm_throughput", "target": "seam >= 90% of raw llama.cpp tokens/s",
              "machine": {"cpus": os.cpu_count(), "threads": threads(), "platform": platform.platform()},
              "max_tokens": max_tokens, "date": time.strftime("%Y-%m-%d %H:%M:%S"), "models": results}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "lm_throughput.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
