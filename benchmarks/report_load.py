"""How fast the run report opens: a 20-iteration run with about 1,000 rollouts (FakeLM, real store and report),
loaded in headless Chromium. Target: under 2 seconds. Writes benchmarks/results/report_load.json."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from promptlearn import optimize, preset
from promptlearn.report import write_report
from promptlearn.store import Store
from tests.fakes_task import add, world, write_dataset

RESULTS = Path(__file__).resolve().parent / "results"


def make_big_run(folder: Path, store: Store | None = None) -> tuple[Store, str]:
    data = write_dataset(folder / "tickets.jsonl", n=200)
    config = preset("quick", name="report-bench", system_prompt="Route the ticket.",
                    dataset={"path": str(data), "train": 60, "val": 40, "test": 60},
                    scorer="label:BILLING,BUG,ACCOUNT,SHIPPING", gate={"method": "none"},
                    budget={"max_iterations": 20, "patience": 20}, learn={"batch_size": 6, "max_failures": 3})
    words = ["refund", "parcel", "login", "crash", "invoice", "address", "password", "timeout", "coupon", "courier",
             "email", "upload", "receipt", "tracking", "profile", "checkout", "warranty", "signup", "discount", "label"]
    rules = [add(f"Check the {word} first.") for word in words]  # distinct, so dedupe keeps each
    store = store or Store(str(folder / "bench.db"))
    result = optimize(config, store=store, lm=world(rules))
    return store, result.run_id


def main() -> None:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("PROMPTLEARN_CHROMIUM") or shutil.which("chromium")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store, run_id = make_big_run(folder)
        rollouts = len(store.rollouts(run_id))
        start = time.perf_counter()
        path = write_report(store, run_id, folder / "report.html")
        write_s = time.perf_counter() - start
        loads = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page()
            for _ in range(3):
                start = time.perf_counter()
                page.goto(path.as_uri(), wait_until="load")
                page.wait_for_selector("svg")
                loads.append(time.perf_counter() - start)
            browser.close()
        report = {"benchmark": "report_load", "target_s": 2.0, "iterations": 20, "rollouts": rollouts,
                  "html_bytes": path.stat().st_size, "write_s": round(write_s, 3),
                  "load_s": [round(x, 3) for x in loads], "load_s_median": round(sorted(loads)[1], 3),
                  "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "report_load.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
