"""promptlearn against DSPy's GEPA and MIPROv2 (and its own ungated ablations) with the embedded models.

Runs the `cpu` preset (three BIG-Bench-Hard tasks, six arms, about an hour on 2 cores; needs
`promptlearn models pull qwen2.5-0.5b` and `qwen2.5-1.5b`, and ../shared/data/bbh beside the repo) and writes
benchmarks/results/peers-cpu.json, .md and one accuracy-vs-rollouts plot per task. Extra arguments go to
`promptlearn bench`, e.g. `python -m benchmarks.run_peers --arms seed,gepa --budget 60`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str]) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from promptlearn.cli.main import app

    args = ["bench", "--preset", "cpu", "--out-dir", str(RESULTS), *argv]
    app(args, prog_name="promptlearn")


if __name__ == "__main__":
    main(sys.argv[1:])
