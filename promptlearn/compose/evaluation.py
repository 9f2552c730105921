"""`evaluate_composed`: does composing domain playbooks cost accuracy? Each domain's examples are answered under
(a) the domain's own playbook alone, (b) the composed playbook as routed, and (c) the single merged prompt.

Every answer goes through `promptlearn.evaluate.evaluate` (so every call and rollout is stored as an `eval` run);
routed examples are evaluated in one run per domain they were routed to.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from promptlearn.compose.composed import ComposedPlaybook
from promptlearn.config import DEFAULT_TASK_MAX_TOKENS
from promptlearn.data import Dataset, Example
from promptlearn.errors import ConfigError
from promptlearn.evaluate import evaluate, resolve_scorer
from promptlearn.lm import LM
from promptlearn.stats import mean_ci
from promptlearn.store import Store


def _interval(values: list[float]) -> dict[str, float]:
    return mean_ci(values).as_dict("accuracy")


def _scorer_for(scorer: Any, domain: str, domains: set[str]) -> Any:
    """A mapping keyed by domain names gives each domain its own scorer; anything else is shared."""
    if isinstance(scorer, Mapping) and scorer and set(scorer) <= domains:
        return scorer.get(domain, "auto")
    return scorer


def evaluate_composed(
    composed: ComposedPlaybook,
    datasets: Mapping[str, Dataset],
    model: str,
    scorer: Any = "auto",
    lm: LM | None = None,
    store: Store | None = None,
    *,
    router_lm: LM | None = None,
    limit: int | None = None,
    max_tokens: int = DEFAULT_TASK_MAX_TOKENS,
    single: bool = True,
) -> dict[str, Any]:
    """Per-domain accuracies (own / routed / single, each with a 95% interval) and the routing accuracy.

    `datasets` maps a domain name to the examples that belong to it; `router_lm` (default `lm`) answers an llm
    router's requests. `routed - own` near zero means composing did not interfere where routing was right.
    """
    unknown = sorted(set(datasets) - set(composed.domains))
    if unknown:
        raise ConfigError(f"datasets name unknown domain(s) {unknown}; domains are {sorted(composed.domains)}")
    store = store or Store()
    names = set(composed.domains)
    single_prompt = composed.as_single_prompt()
    report: dict[str, Any] = {"model": model, "router": composed.router.model_dump(mode="json"), "domains": {}}
    all_routes_right: list[float] = []
    totals: dict[str, list[float]] = {"own": [], "routed": [], "single": []}
    for domain, dataset in datasets.items():
        data = Dataset(dataset.name, dataset.examples[:limit] if limit else dataset.examples, dataset.source)
        the_scorer = resolve_scorer(_scorer_for(scorer, domain, names), data)  # one scorer for every arm

        def run(examples: tuple[Example, ...], prompt: str, arm: str, data: Dataset = data,
                the_scorer: Any = the_scorer, domain: str = domain) -> dict[str, float]:
            subset = Dataset(f"{data.name}[{arm}]", examples, data.source)
            result = evaluate(subset, prompt, model, the_scorer, lm=lm, store=store, name=f"compose:{domain}:{arm}",
                              max_tokens=max_tokens)
            return {r.example.id: r.score for r in result.results}

        routes = [composed.route(ex.input, router_lm or lm) for ex in data.examples]
        own = run(data.examples, composed.domains[domain].render(), "own")
        routed: dict[str, float] = {}
        for target in dict.fromkeys(routes):
            group = tuple(ex for ex, r in zip(data.examples, routes, strict=True) if r == target)
            routed.update(run(group, composed.domains[target].render(), f"routed-to-{target}"))
        ids = [ex.id for ex in data.examples]
        right = [1.0 if r == domain else 0.0 for r in routes]
        entry: dict[str, Any] = {
            "n": len(ids), "own": _interval([own[i] for i in ids]), "routed": _interval([routed[i] for i in ids]),
            "routing_accuracy": _interval(right), "routes": dict(Counter(routes).most_common()),
        }
        totals["own"] += [own[i] for i in ids]
        totals["routed"] += [routed[i] for i in ids]
        if single:
            single_scores = run(data.examples, single_prompt, "single")
            entry["single"] = _interval([single_scores[i] for i in ids])
            totals["single"] += [single_scores[i] for i in ids]
        entry["routed_minus_own"] = entry["routed"]["accuracy"] - entry["own"]["accuracy"]
        report["domains"][domain] = entry
        all_routes_right += right
    report["routing_accuracy"] = _interval(all_routes_right)
    report["overall"] = {arm: _interval(values) for arm, values in totals.items() if values or arm != "single"}
    return report
