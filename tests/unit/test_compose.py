"""Composable playbooks: routing (keyword and llm), single-prompt and JSON exports, the CLI on real stored runs,
and `evaluate_composed` showing no interference when routing is right and the loss when it is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promptlearn import optimize, preset
from promptlearn.cli.main import app
from promptlearn.compose import ComposedPlaybook, RouterConfig, evaluate_composed, load_composed, parse_keywords
from promptlearn.data import Dataset, Example
from promptlearn.errors import ConfigError
from promptlearn.history import playbook_at
from promptlearn.lm import FakeLM, LMRequest
from promptlearn.playbook import Bullet, Playbook
from promptlearn.store import Store
from tests.fakes_task import GOOD_RULE, add, world, write_dataset


def playbook(seed: str, *rules: str, prefix: str = "ins") -> Playbook:
    bullets = tuple(Bullet(id=f"{prefix}-{i:05d}", section="instructions", text=r) for i, r in enumerate(rules, 1))
    return Playbook(seed_prompt=seed, bullets=bullets)


BILLING = playbook("You answer billing questions.", "Quote the invoice number.", "Never promise refunds.")
SHIPPING = playbook("You answer shipping questions.", "Give the tracking link.", prefix="str")


def composed(kind: str = "keyword", **router: object) -> ComposedPlaybook:
    keywords = router.pop("keywords", {"billing": ["refund", "charge"], "shipping": ["parcel", "delivery"]})
    config = RouterConfig(kind=kind, keywords=keywords, default="billing", **router)  # type: ignore[arg-type]
    return ComposedPlaybook(domains={"billing": BILLING, "shipping": SHIPPING}, router=config)


# ---- routing ----------------------------------------------------------------------------------------------------
def test_keyword_router_counts_whole_word_hits_case_insensitively() -> None:
    c = composed()
    assert c.route("Where is my PARCEL? The delivery is late.") == "shipping"
    assert c.route("I want a Refund for this charge, and the parcel") == "billing"
    assert c.route("refunds parcels") == "billing"  # no whole-word hit: the default
    assert c.route("refund for the parcel") == "billing"  # a tie: the default
    assert c.route("hello") == "billing"
    assert c.system_prompt_for("my parcel") == SHIPPING.render()


def test_llm_router_uses_the_scripted_reply() -> None:
    c = composed("llm", model="fake/router")
    lm = FakeLM(lambda req: json.dumps({"domain": "shipping"}))
    assert c.route("anything at all", lm) == "shipping"
    request = lm.calls[0]
    assert request.model == "fake/router"
    assert request.json_schema["properties"]["domain"]["enum"] == ["billing", "shipping"]
    assert "anything at all" in request.messages[-1][1]
    assert c.route("x", FakeLM(["Shipping"])) == "shipping"  # a bare name is accepted too
    assert c.system_prompt_for("x", FakeLM(['{"domain": "billing"}'])) == BILLING.render()


@pytest.mark.parametrize("reply", ["", "{not json", '{"domain": "weather"}', '{"other": 1}', "[1, 2]", "42",
                                   "I think it is shipping"])
def test_llm_router_falls_back_to_the_default_on_garbage(reply: str) -> None:
    assert composed("llm", model="fake/router").route("my parcel", FakeLM([reply])) == "billing"


def test_invalid_router_configs_are_refused() -> None:
    with pytest.raises(ValueError, match="default"):
        ComposedPlaybook(domains={"a": BILLING}, router=RouterConfig(default="b"))
    with pytest.raises(ValueError, match="unknown domain"):
        ComposedPlaybook(domains={"a": BILLING}, router=RouterConfig(keywords={"z": ["x"]}, default="a"))
    with pytest.raises(ValueError, match="model"):
        ComposedPlaybook(domains={"a": BILLING}, router=RouterConfig(kind="llm", default="a"))
    assert parse_keywords("billing:refund, charge;shipping:parcel;") == {"billing": ["refund", "charge"],
                                                                          "shipping": ["parcel"]}
    with pytest.raises(ConfigError):
        parse_keywords("billing")


# ---- exports ----------------------------------------------------------------------------------------------------
def test_single_prompt_keeps_every_bullet_of_every_domain() -> None:
    text = composed().as_single_prompt()
    assert "## Domain: billing" in text and "## Domain: shipping" in text
    assert text.index("## Domain: billing") < text.index("## Domain: shipping")
    for pb in (BILLING, SHIPPING):
        assert pb.seed_prompt in text
        for bullet in pb.bullets:
            assert bullet.render() in text


def test_json_round_trips_exactly(tmp_path: Path) -> None:
    for c in (composed(), composed("llm", model="fake/router", keywords={})):
        again = ComposedPlaybook.from_json(c.to_json())
        assert again == c and again.to_json() == c.to_json()
        path = tmp_path / "composed.json"
        path.write_text(c.to_json())
        assert load_composed(path) == c
    with pytest.raises(ConfigError, match="not a composed playbook"):
        ComposedPlaybook.from_json(BILLING.to_json())


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    """Two real optimize runs in one database: the first learns GOOD_RULE (v1), the second learns nothing."""
    root = tmp_path_factory.mktemp("runs")
    data = write_dataset(root / "tickets.jsonl")
    store = Store(str(root / "db.sqlite"))
    ids = []
    for seed, rewrites in (("Label the billing ticket.", [add(GOOD_RULE)]), ("Label the shipping ticket.", [])):
        config = preset("quick", dataset={"path": str(data), "train": 20, "val": 20, "test": 20}, system_prompt=seed,
                        scorer="label:BILLING,BUG,ACCOUNT,SHIPPING", budget={"max_iterations": 1},
                        models={"task": "fake/task", "judge": "fake/j", "rewriter": "fake/r"})
        ids.append(optimize(config, store=store, lm=world(rewrites)).run_id)
    store.engine.dispose()
    return str(root / "db.sqlite"), ids[0], ids[1]


def test_cli_exports_two_stored_runs(two_runs: tuple[str, str, str], tmp_path: Path) -> None:
    db, first, second = two_runs
    out = tmp_path / "composed.json"
    args = ["export-composed", f"billing={first}", f"shipping={second}@0", "--router", "keyword",
            "--keywords", "billing:refund,charge;shipping:parcel,delivery", "--db", db]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    loaded = load_composed(out)
    store = Store(db)
    assert loaded.domains["billing"] == playbook_at(store, first)[0]
    assert loaded.domains["shipping"] == playbook_at(store, second, 0)[0]
    assert loaded.route("a late parcel") == "shipping" and loaded.router.default == "billing"
    single = CliRunner().invoke(app, [*args, "--format", "single"])
    assert single.exit_code == 0, single.output
    assert "## Domain: billing" in single.stdout and "## Domain: shipping" in single.stdout
    assert GOOD_RULE in single.stdout and single.stdout.strip() == loaded.as_single_prompt().strip()
    bad = CliRunner().invoke(app, ["export-composed", f"billing{first}", "--db", db])
    assert bad.exit_code == 2 and "DOMAIN=RUN" in bad.output
    unknown = CliRunner().invoke(app, [*args[:3], "--keywords", "weather:rain", "--db", db])
    assert unknown.exit_code == 2 and "unknown domain" in unknown.output


# ---- interference -----------------------------------------------------------------------------------------------
ALPHA, BETA = Playbook(seed_prompt="Answer ALPHA."), Playbook(seed_prompt="Answer BETA.")


def task_lm() -> FakeLM:
    """Follows the one instruction it is given; given both (the single prompt) it picks by the question."""
    def respond(request: LMRequest) -> str:
        system, user = request.messages[0][1], request.messages[-1][1]
        if "Answer ALPHA." in system and "Answer BETA." in system:
            return "ALPHA" if "alpha" in user else "BETA"
        return "ALPHA" if "Answer ALPHA." in system else "BETA"

    return FakeLM(respond)


def datasets() -> dict[str, Dataset]:
    def make(name: str) -> Dataset:
        rows = tuple(Example(f"{name}:{i}", f"{name} question {i}", name.upper()) for i in range(6))
        return Dataset(name, rows, f"{name}.jsonl")

    return {"alpha": make("alpha"), "beta": make("beta")}


@pytest.mark.parametrize("swap", [False, True])
def test_evaluate_composed_shows_interference_only_when_routing_is_wrong(swap: bool, tmp_path: Path) -> None:
    keywords = {"alpha": ["beta"], "beta": ["alpha"]} if swap else {"alpha": ["alpha"], "beta": ["beta"]}
    router = RouterConfig(keywords=keywords, default="alpha")
    c = ComposedPlaybook(domains={"alpha": ALPHA, "beta": BETA}, router=router)
    report = evaluate_composed(c, datasets(), "fake/task", "exact", lm=task_lm(), store=Store(str(tmp_path / "d.db")))
    for domain in ("alpha", "beta"):
        entry = report["domains"][domain]
        assert entry["n"] == 6 and entry["own"]["accuracy"] == 1.0 and entry["single"]["accuracy"] == 1.0
        assert entry["routed"]["accuracy"] == (0.0 if swap else 1.0)
        assert entry["routed_minus_own"] == (-1.0 if swap else 0.0)
        assert entry["routing_accuracy"]["accuracy"] == (0.0 if swap else 1.0)
        assert entry["own"]["low"] <= entry["own"]["accuracy"] <= entry["own"]["high"]
    assert report["routing_accuracy"] == {"accuracy": 0.0 if swap else 1.0, "low": report["routing_accuracy"]["low"],
                                          "high": report["routing_accuracy"]["high"], "n": 12}
    assert report["overall"]["routed"]["accuracy"] == (0.0 if swap else 1.0)


def test_evaluate_composed_with_an_llm_router(tmp_path: Path) -> None:
    c = ComposedPlaybook(domains={"alpha": ALPHA, "beta": BETA},
                         router=RouterConfig(kind="llm", model="fake/router", default="alpha"))
    router = FakeLM(lambda req: json.dumps({"domain": "beta"}) if "beta" in req.messages[-1][1] else "garbage")
    report = evaluate_composed(c, datasets(), "fake/task", "exact", lm=task_lm(), store=Store(str(tmp_path / "d.db")),
                               router_lm=router, single=False)
    assert report["routing_accuracy"]["accuracy"] == 1.0  # garbage falls back to the default, which is right here
    assert all(e["routed"]["accuracy"] == 1.0 and "single" not in e for e in report["domains"].values())
    assert len(router.calls) == 12
