"""Does composing two domain playbooks behind a keyword router cost accuracy? (`evaluate_composed`)

Two hand-written playbooks (bbh:navigate and bbh:sports_understanding, no optimization), a keyword router, and
20 examples of each answered by `local/qwen2.5-0.5b` under each domain's own playbook, the routed composition and
the single merged prompt. Needs `promptlearn models pull qwen2.5-0.5b` and ../shared/data/bbh beside the repo.
Run: `python -m benchmarks.compose_interference [N]`; writes benchmarks/results/compose_interference.json.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
OUT = RESULTS / "compose_interference.json"
MODEL = "local/qwen2.5-0.5b"
SEED = 0

PLAYBOOKS = {
    "navigate": ("bbh:navigate", "Answer Yes or No only.",
                 ["Track your position as (x, y) and add up every step before you answer.",
                  "Answer Yes only when you end exactly where you started."]),
    "sports": ("bbh:sports_understanding", "Answer yes or no only.",
               ["Check that the athlete's sport matches the action in the sentence.",
                "Answer no when the action belongs to a different sport than the athlete plays."]),
}
KEYWORDS = {
    "navigate": ["step", "steps", "turn", "turn left", "turn right", "starting point", "face forward", "instructions"],
    "sports": ["plausible", "scored", "goal", "touchdown", "penalty", "inning", "basket"],
}


def build():  # type: ignore[no-untyped-def]
    from promptlearn.compose import ComposedPlaybook, RouterConfig
    from promptlearn.playbook import Bullet, Playbook

    domains = {}
    for name, (_dataset, seed, rules) in PLAYBOOKS.items():
        bullets = tuple(Bullet(id=f"ins-{i:05d}", section="instructions", text=r) for i, r in enumerate(rules, 1))
        domains[name] = Playbook(seed_prompt=seed, bullets=bullets)
    return ComposedPlaybook(domains=domains, router=RouterConfig(kind="keyword", keywords=KEYWORDS, default="navigate"))


def main(argv: list[str]) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from promptlearn.compose import evaluate_composed
    from promptlearn.data import load_dataset
    from promptlearn.store import Store

    n = int(argv[0]) if argv else 20
    composed = build()
    datasets = {name: load_dataset(source).sample(n, SEED) for name, (source, _seed, _rules) in PLAYBOOKS.items()}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(str(Path(tmp) / "compose.db"))
        report = evaluate_composed(composed, datasets, MODEL, "auto", store=store)
        store.engine.dispose()
    report.update({"n_per_domain": n, "seed": SEED, "wall_s": round(time.perf_counter() - started, 1),
                   "playbooks": {name: pb.render() for name, pb in composed.domains.items()},
                   "single_prompt": composed.as_single_prompt()})
    RESULTS.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    for name, entry in report["domains"].items():
        print(f"{name}: own {entry['own']['accuracy']:.2f}  routed {entry['routed']['accuracy']:.2f}  "
              f"single {entry['single']['accuracy']:.2f}  routing {entry['routing_accuracy']['accuracy']:.2f}")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main(sys.argv[1:])
