"""Printing of results and stored runs with rich."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from promptlearn.history import provenance


def print_optimize_result(console: Console, result: Any, store: Any) -> None:
    console.print(f"\nrun [bold]{result.run_id}[/] finished: {result.stop_reason}")
    table = Table("", "test accuracy (95% interval)", "val accuracy")
    table.add_row("seed prompt", str(result.seed_test.accuracy), f"{result.seed_val:.3f}")
    table.add_row(f"final (v{result.final_version})", str(result.final_test.accuracy), f"{result.final_val:.3f}")
    console.print(table)
    d = result.test_diff
    console.print(f"paired test difference: {d.diff:+.3f} [{d.low:+.3f}, {d.high:+.3f}] "
                  f"({d.wins} wins, {d.losses} losses); rollouts used: {result.rollouts}")
    console.print(f"majority-class baseline on test: {result.final_test.majority_accuracy:.3f}")
    spend = result.spend
    tokens = sum(int(s["tokens"]) for s in spend.values())
    calls = ", ".join(f"{role} {int(s['calls'])}" for role, s in spend.items())
    console.print(f"LM calls: {calls}; tokens {tokens:,}")
    print_quality(console, result.summary())
    if store.get_run(result.run_id).status == "review":  # gate.review: stopped on a candidate that passed
        console.print(f"[yellow]waiting for review[/]: promptlearn review {result.run_id}, then promptlearn "
                      f"optimize --resume {result.run_id}", highlight=False)
        return
    if not result.final.bullets:
        console.print("no rule passed the gate: the seed prompt stays.")
        return
    sources = provenance(store, result.run_id, result.final)
    console.print("\n[bold]accepted bullets[/] (and the critiques they came from):")
    for bullet in result.final.bullets:
        console.print(f"  [cyan]{escape('[' + bullet.id + ']')}[/] {escape(bullet.text)}  (v{bullet.created_version}, "
                      f"helpful={bullet.helpful}, harmful={bullet.harmful})", highlight=False)
        for item in sources.get(bullet.id, [])[:2]:
            console.print(f"      from {item['rollout']} ({item['failure_mode']}): {item['critique'][:140]}",
                          highlight=False)


def print_run_detail(console: Console, detail: dict[str, Any]) -> None:
    console.print(f"run [bold]{detail['id']}[/] ({detail['kind']}, {detail['status']}): {detail['name']}")
    if detail["summary"]:
        console.print(f"summary: {_short(detail['summary'])}", highlight=False)
        print_quality(console, detail["summary"])
    versions = Table("version", "parent", "status", "iteration", "bullets", "scores", "note")
    for v in detail["versions"]:
        versions.add_row(str(v["number"]), str(v["parent"]), v["status"], str(v["iteration"]), str(v["bullets"]),
                         str({k: s for k, s in v["scores"].items() if k != "objectives"}), v["note"][:60])
    console.print(versions)
    print_objectives(console, detail.get("objectives") or {})
    if detail["gate"]:
        gate = Table("candidate", "vs", "n", "diff", "interval", "accepted", "reason")
        for g in detail["gate"]:
            gate.add_row(str(g["version"]), str(g["baseline"]), str(g["n"]), f"{g['diff']:+.3f}",
                         f"[{g['low']:+.3f}, {g['high']:+.3f}]", "yes" if g["accepted"] else "no", g["reason"][:70])
        console.print(gate)
    rollouts = Table("rollout", "version", "split", "example", "score", "output")
    for r in detail["rollouts"]:
        rollouts.add_row(str(r["id"]), str(r["version"]), r["split"], r["example"], f"{r['score']:.2f}",
                         r["output"][:60].replace("\n", " "))
    console.print(rollouts)
    lm = detail["lm"]
    console.print(f"{detail['rollout_count']} rollouts stored; {int(lm['calls'])} LM calls, {int(lm['tokens']):,} "
                  f"tokens, {lm['lm_seconds']:.1f}s of model time", highlight=False)


def print_objectives(console: Console, objectives: dict[str, Any]) -> None:
    """Accuracy, prompt tokens, cost and latency per val rollout of each measured version; the objective frontier
    (no other version more accurate, shorter and cheaper at once) marked."""
    if not objectives.get("versions"):
        return
    front = set(objectives.get("frontier", []))
    table = Table("version", "val accuracy", "prompt tokens", "cost / rollout", "latency / rollout",
                  "objective frontier", title="objectives (per val rollout)")
    for number, p in objectives["versions"].items():
        table.add_row(number, f"{p['accuracy']:.3f}", f"{p['prompt_tokens']:.0f}", f"${p['cost_usd']:.6f}",
                      f"{p['latency_s']:.2f}s", "yes" if int(number) in front else "")
    console.print(table)


def print_quality(console: Console, summary: dict[str, Any]) -> None:
    """Calibration, capability cliffs and reward-hacking flags, for the checks the run had on."""
    calibration = summary.get("calibration") or {}
    measured = [(name, m) for name, m in calibration.items() if isinstance(m, dict)]
    if measured:
        table = Table("calibration", "split", "Brier (95% interval)", "ECE (95% interval)", "stated")
        for name, m in measured:
            table.add_row(f"{name.split('_')[0]} (v{m['version']})", m["split"], _interval(m, "brier"),
                          _interval(m, "ece"), f"{m['stated']}/{m['n']}")
        console.print(table)
        console.print(f"  ({calibration.get('note', '')})", highlight=False)
    ood = summary.get("ood") or {}
    if ood:
        versions = ", ".join(f"v{v} {d['accuracy']:.3f} ({d['diff']:+.3f}{', CLIFF' if d['flagged'] else ''})"
                             for v, d in ood["versions"].items() if v != "0")
        console.print(f"out-of-domain check {escape(str(ood['dataset']))} (n={ood['n']}): seed {ood['seed']:.3f}"
                      f"{'; ' + versions if versions else ''}", highlight=False)
    for audit in summary.get("audits") or []:
        rate = "-" if audit["agreement"] is None else f"{audit['agreement']:.2f}"
        console.print(f"audit of v{audit['version']} by {escape(str(audit['judge']))}: agrees with {rate} of "
                      f"{audit['n']} claimed gains", highlight=False)
    for flag in summary.get("flags") or []:
        console.print(f"[yellow]flag[/] v{flag['version']} {escape(str(flag['key']))}: {escape(str(flag['reason']))}"
                      f"{': ' + escape(str(flag['text'])[:100]) if flag.get('text') else ''}", highlight=False)


def _interval(measures: dict[str, Any], name: str) -> str:
    if measures.get(name) is None:
        return "- (none stated)"
    return f"{measures[name]:.3f} [{measures[f'{name}_low']:.3f}, {measures[f'{name}_high']:.3f}]"


def _short(summary: dict[str, Any]) -> str:
    keep = {k: v for k, v in summary.items() if k in ("accuracy", "low", "high", "n", "stop_reason", "rollouts")}
    return str(keep or {k: summary[k] for k in list(summary)[:5]})
