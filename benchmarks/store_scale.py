"""The store at scale, SQLite against PostgreSQL: N LM-call records written through the store's API, then the
reads that must stay fast while the lm_call table holds them.

    python -m benchmarks.store_scale [--calls N] [--backends sqlite,postgresql] [--batch B]

Per backend, in a fresh database: a real optimize run of about 1,000 rollouts (FakeLM, as in report_load); N
filler LM calls written with `Store.record_calls` (B per transaction: rows/s); a sample written one call per
transaction with `record_call`, as a live run writes them (rows/s); then, with N + the run's calls stored, the
time to build the run's report data (`report.data.gather`), its one lm_call query (`call_usage`), and a cache
lookup by key (`cached_completion`, hits and misses). PostgreSQL is a temporary server started here, with its
durable defaults (fsync on); SQLite is a file in WAL mode with synchronous=NORMAL (no fsync per commit).
Writes benchmarks/results/store_scale.json and store_scale.md."""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.report_load import make_big_run
from promptlearn.lm import Completion, LMRequest, Usage
from promptlearn.report.data import gather
from promptlearn.store import Store
from promptlearn.store.pgserver import PostgresUnavailable, TempPostgres

RESULTS = Path(__file__).resolve().parent / "results"
SYSTEM = ("You route customer-support tickets. Answer with one label: BILLING, BUG, ACCOUNT or SHIPPING.\n"
          "Playbook:\n- Answer with the bare label only.\n- Check the invoice first.\n- Check the courier first.")
SINGLE_WRITES = 2000
LOOKUPS = 1000


def filler(start: int, count: int) -> list[tuple[LMRequest, Completion]]:
    """LM calls shaped like a run's: a ~300-character prompt, a short reply, spread over 1,000 past runs."""
    calls = []
    for i in range(start, start + count):
        request = LMRequest.chat("local/qwen2.5-0.5b", [{"role": "system", "content": SYSTEM},
                                                        {"role": "user", "content": f"Ticket {i}: my parcel "
                                                         f"never arrived and the tracking page shows nothing."}])
        calls.append((request, Completion(text="SHIPPING", usage=Usage(92, 3), latency_s=0.05, cost_usd=0.0)))
    return calls


def run_id_of(i: int) -> str:
    return f"past{i % 1000:04d}"


def write_bulk(store: Store, n: int, batch: int) -> dict[str, float]:
    """N calls through record_calls, one chunk of `batch` at a time; only the store's work is timed."""
    spent, done = 0.0, 0
    while done < n:
        count = min(batch, n - done)
        chunk = filler(done, count)
        start = time.perf_counter()
        store.record_calls(chunk, run_id_of(done // batch), batch=batch)
        spent += time.perf_counter() - start
        done += count
    return {"rows": n, "seconds": round(spent, 2), "rows_per_s": round(n / spent)}


def write_single(store: Store, n: int, offset: int) -> dict[str, float]:
    calls = filler(offset, n)
    start = time.perf_counter()
    for request, reply in calls:
        store.record_call(request, reply, "live")
    spent = time.perf_counter() - start
    return {"rows": n, "seconds": round(spent, 2), "rows_per_s": round(n / spent)}


def timed(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"median_ms": round(statistics.median(times) * 1000, 2), "max_ms": round(max(times) * 1000, 2)}


def lookups(store: Store, n: int) -> dict[str, float]:
    """Keys of stored filler calls (hits) and keys never stored (misses), each looked up once."""
    rng = random.Random(0)
    hits = [(filler(rng.randrange(n), 1)[0][0].key, True) for _ in range(LOOKUPS)]
    misses = [(f"{i:064x}", False) for i in range(LOOKUPS // 5)]
    times = []
    for key, stored in hits + misses:
        start = time.perf_counter()
        found = store.cached_completion(key)
        times.append(time.perf_counter() - start)
        assert (found is not None) == stored, key
    times.sort()
    return {"lookups": len(times), "median_ms": round(times[len(times) // 2] * 1000, 3),
            "p99_ms": round(times[int(len(times) * 0.99)] * 1000, 3)}


def measure(store: Store, folder: Path, n: int, batch: int) -> dict[str, Any]:
    start = time.perf_counter()
    _, run_id = make_big_run(folder, store)
    run_s = time.perf_counter() - start
    rollouts = store.count_rollouts(run_id)
    bulk = write_bulk(store, n, batch)
    single = write_single(store, SINGLE_WRITES, offset=n)
    total = int(store.call_stats()["calls"])
    return {"lm_calls_stored": total, "report_run": {"rollouts": rollouts, "lm_calls": len(store.call_usage(run_id)),
                                                      "optimize_s": round(run_s, 2)},
            "write_batched": {**bulk, "batch": batch}, "write_one_per_transaction": single,
            "report_data": timed(lambda: gather(store, run_id), repeat=5),
            "report_call_usage_query": timed(lambda: store.call_usage(run_id), repeat=5),
            "cache_lookup": lookups(store, n)}


@contextmanager
def database(backend: str, folder: Path) -> Iterator[tuple[str, Callable[[], int]]]:
    """A fresh database URL and a function giving its size on disk."""
    if backend == "sqlite":
        path = folder / "scale.db"
        yield str(path), lambda: sum(p.stat().st_size for p in folder.glob("scale.db*"))
        return
    with TempPostgres(fast=False) as pg:
        yield pg.create_database("scale"), lambda: sum(p.stat().st_size for p in pg.data.rglob("*") if p.is_file())


def bench(backend: str, n: int, batch: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"store-scale-{backend}-") as tmp, database(backend, Path(tmp)) as (
            url, size):
        store = Store(url)
        result = {"backend": backend, **measure(store, Path(tmp), n, batch)}
        result["disk_mb"] = round(size() / 2**20, 1)
        store.engine.dispose()
    return result


def markdown(report: dict[str, Any]) -> str:
    lines = [f"# Store at scale ({report['calls']:,} LM-call records)", "",
             f"{report['date']}, {report['machine']}. `python -m benchmarks.store_scale --calls {report['calls']}`.",
             "", "| | " + " | ".join(r["backend"] for r in report["results"]) + " |",
             "|---|" + "---:|" * len(report["results"])]
    rows = [("batched write, rows/s", lambda r: f"{r['write_batched']['rows_per_s']:,}"),
            ("one call per transaction, rows/s", lambda r: f"{r['write_one_per_transaction']['rows_per_s']:,}"),
            ("report data for the run, ms (median)", lambda r: r["report_data"]["median_ms"]),
            ("its lm_call query (call_usage), ms", lambda r: r["report_call_usage_query"]["median_ms"]),
            ("cache lookup by key, ms (median)", lambda r: r["cache_lookup"]["median_ms"]),
            ("cache lookup by key, ms (p99)", lambda r: r["cache_lookup"]["p99_ms"]),
            ("LM calls stored", lambda r: f"{r['lm_calls_stored']:,}"),
            ("report run: rollouts", lambda r: f"{r['report_run']['rollouts']:,}"),
            ("database on disk, MB", lambda r: r["disk_mb"])]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(str(cell(r)) for r in report["results"]) + " |")
    lines += ["", *(f"- {note}" for note in report["notes"])]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000, help="filler LM-call records per backend")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--batch", type=int, default=5000, help="records per transaction in the batched write")
    args = parser.parse_args(argv)
    results, notes = [], ["PostgreSQL: a local server on loopback with its durable defaults (fsync on); SQLite: WAL, "
                          "synchronous=NORMAL. Write rates count the store's work only, not building the records.",
                          "Disk: SQLite's file with its WAL; PostgreSQL's whole data folder, its WAL (up to "
                          "max_wal_size, 1 GB) included."]
    for backend in args.backends.split(","):
        try:
            results.append(bench(backend.strip(), args.calls, args.batch))
            print(json.dumps(results[-1], indent=2), flush=True)
        except PostgresUnavailable as exc:
            notes.append(f"{backend} skipped: {exc}")
        except ImportError:
            notes.append(f"{backend} skipped: no PostgreSQL driver; pip install -e '.[postgres]'")
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    report = {"benchmark": "store_scale", "calls": args.calls, "date": time.strftime("%Y-%m-%d %H:%M:%S"),
              "machine": machine, "results": results, "notes": notes}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "store_scale.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "store_scale.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
