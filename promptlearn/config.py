"""One frozen, validated config shared by the Python API, the CLI and YAML run files, with presets.

Errors surface at load time and name the field (and the file), never mid-run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from promptlearn.errors import ConfigError
from promptlearn.yamlio import first_field_error, read_yaml


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# A provider is a model string's prefix (`openai` in `openai/gpt-4.1-mini`); `*` is any provider without its own.
ProviderName = Annotated[str, StringConstraints(pattern=r"^(\*|[A-Za-z0-9_.-]+)$")]


# The models' defaults, named so entry points outside a RunConfig (`evaluate`, `evaluate_composed`, `compare`)
# share them; each is used once, as a field default below.
DEFAULT_TASK_MODEL = "local/qwen2.5-0.5b"
DEFAULT_REFLECTION_MODEL = "local/qwen2.5-1.5b"  # the judge and the rewriter
DEFAULT_TASK_MAX_TOKENS = 96  # the task model's reply length


class ModelsConfig(Frozen):
    task: str = DEFAULT_TASK_MODEL
    judge: str = DEFAULT_REFLECTION_MODEL
    rewriter: str = DEFAULT_REFLECTION_MODEL
    task_max_tokens: int = Field(DEFAULT_TASK_MAX_TOKENS, ge=1, le=8192)
    # Reflection replies are JSON under a grammar: a small local model decodes them at a few tokens a second, so the
    # cap is most of a rewrite's time when a model rambles.
    rewriter_max_tokens: int = Field(600, ge=32, le=8192, description="the rewriter's reply length (its deltas)")
    judge_max_tokens: int = Field(320, ge=32, le=8192, description="the explanatory judge's reply length")
    concurrency: int = Field(1, ge=1, le=256, description="parallel requests for hosted models; local runs 1")
    api_base: str | None = None
    executor: Literal["async", "ray"] = Field("async", description="where rollouts' model calls run")
    rate_limits: dict[ProviderName, PositiveFloat] = Field(
        default_factory=dict, description="requests/second per provider (the model's prefix: openai, local, ...)")
    tokens_per_minute: dict[ProviderName, PositiveInt] = Field(default_factory=dict, description="per provider")
    ray_address: str | None = Field(None, description="a Ray cluster (ray://host:10001 or auto); None: local")

    @field_validator("ray_address")
    @classmethod
    def _ray_only(cls, address: str | None, info: ValidationInfo) -> str | None:
        if address is not None and info.data.get("executor") != "ray":
            raise ValueError("ray_address needs executor: ray")
        return address


class DatasetConfig(Frozen):
    path: str = "support_triage"
    input: str = "input"
    target: str = "target"
    metadata: list[str] = []
    id: str | None = None
    limit: int | None = Field(None, ge=1)
    targets: list[str] = Field([], description="keep only the rows whose target is one of these (a subset of a "
                               "dataset's labels); empty: every row")
    train: int | float = Field(24, gt=0, description="a count, or a fraction of the dataset")
    val: int | float = Field(30, gt=0)
    test: int | float = Field(40, gt=0)
    split_column: str | None = Field(None, description="a column holding each row's own split (train / val / "
                                     "test): parts are drawn within it, so predefined splits are kept")


class BudgetConfig(Frozen):
    max_iterations: int = Field(4, ge=0)
    max_rollouts: int | None = Field(None, ge=1, description="task-model calls, all splits")
    # The unit GEPA's max_metric_calls and the learn benchmark count: what learning spends, not the test scoring.
    max_learning_rollouts: int | None = Field(None, ge=1, description="task-model calls on train and val "
                                              "(screening, validation, ablation); scoring on test is not charged")
    max_tokens: int | None = Field(None, ge=1)
    max_cost_usd: float | None = Field(None, ge=0)
    max_wall_s: float | None = Field(None, gt=0)
    patience: int = Field(3, ge=1, description="stop after this many rejected iterations in a row")


class GateConfig(Frozen):
    method: Literal["bootstrap", "mcnemar", "none"] = "bootstrap"
    confidence: float = Field(0.9, gt=0.5, lt=1.0)
    min_gain: float = Field(0.0, ge=0.0)
    # At val 30 a real +0.10 gain (7 wins / 3 losses) cannot pass; 40 more paired examples can give it the power.
    extra_examples: int = Field(40, ge=0, description="a close call (a gain not yet significant) is scored on up "
                                "to this many more examples no split holds, as far as the rollout budget allows")
    max_label_share: float = Field(0.9, gt=0, le=1.0, description="reject candidates whose answers collapse "
                                   "onto one label more than this share (and more than the data does)")
    drift_check: bool = Field(True, description="reject a candidate whose answer distribution moves away from "
                              "the val targets' beyond sampling noise (a gain from leaning on one label)")
    alpha_spending: bool = Field(True, description="test the k-th validated candidate at alpha/2^k, so "
                                 "trying many candidates on one val set does not inflate false acceptances")
    noninferiority_margin: float | None = Field(
        None, ge=0, lt=1, description="a removal, an expiry or a cheaper playbook (none of which can show a gain) "
        "is accepted when its val loss stays within this margin at `confidence` (one-sided); None: such "
        "candidates need a gain like any other")
    review: bool = Field(False, description="a candidate that passes the gate waits as `pending` for a person "
                         "(promptlearn review RUN, or promptlearn serve); the run stops there until a decision")


class LearnConfig(Frozen):
    batch_size: int = Field(10, ge=1, description="train examples per iteration")
    max_failures: int = Field(4, ge=1, description="failures critiqued per iteration")
    successes_shown: int = Field(2, ge=0)
    candidates: int = Field(1, ge=1, le=8)
    judge: str = "explain"
    # Off by default: on the six learn tasks the rewriter reached the same test accuracy or better without the
    # judge's critiques, on a third of the reflection tokens (benchmarks/results/learn*.md, the `judge` arm).
    explain: bool = Field(False, description="the judge explains each failure for the rewriter (critique before "
                          "verdict); off: the rewriter sees the code's verdict, what the code scorer found, label "
                          "confusions and contrasts only (no judge calls)")
    rewriter_template: str = "rewriter"
    mode: Literal["deltas", "full_rewrite", "add_only"] = "deltas"
    playbook_max_tokens: int = Field(700, ge=20, description="bullets and worked examples together")
    dedupe_threshold: float = Field(0.7, gt=0, le=1)
    temperature: float = Field(0.7, ge=0, le=2, description="rewriter sampling; candidates differ by seed")
    worked_examples: int = Field(8, ge=0, le=16, description="a candidate of up to this many worked examples "
                                 "(failed training inputs with their correct answers) each iteration; 0: off")
    screen: bool = Field(True, description="score candidates on the batch's failures and a few successes first; "
                         "only one that fixes more than it breaks is validated")
    screen_successes: int = Field(2, ge=0, description="correct answers added to the screening set")
    screen_min_net: int = Field(1, ge=0, description="fixed minus broken a candidate needs on the screening set")
    # A worked-examples candidate is never screened on the failures it copies, so what is left is mostly successes:
    # it can rarely show a fix there. It goes on unless it breaks more than it fixes, and is validated first: on
    # every learn task and every other task run the same way, each accepted change was a worked-examples candidate.
    examples_first: bool = Field(True, description="a worked-examples candidate needs net >= 0 on the screening "
                                 "set and is validated before the rewriter's rules")
    merge: bool = Field(True, description="also screen the union of the two best screened candidates")
    validate_top: int = Field(1, ge=1, le=8, description="screened candidates validated per iteration, best first")
    expire_after: int | None = Field(None, ge=1, description="a bullet neither cited nor credited for this many "
                                     "iterations, or whose ablation credit is negative, is proposed for removal "
                                     "(through the non-inferiority gate, and review if on); None: bullets never expire")


class QualityConfig(Frozen):
    """Learning-quality checks (see docs/guide.md, "Learning quality"). All off by default except the cheap ones."""

    confidence: bool = Field(False, description="ask the task model for a confidence; report Brier score and ECE")
    confidence_mode: Literal["followup", "inline"] = Field(
        "followup", description="followup: ask in a second turn after the answer (the answer is unchanged); "
        "inline: one 'Confidence: p' line in the answer (one call, but small models may drop the answer)")
    calibration_gate: bool = Field(False, description="reject a candidate whose val Brier score gets worse "
                                   "beyond noise (needs confidence)")
    ood_path: str | None = Field(None, description="out-of-domain check set (file or bbh:<task>), scored for "
                                 "the seed and every accepted version")
    ood_n: int = Field(30, ge=1, description="examples drawn from the out-of-domain set")
    ood_block: bool = Field(False, description="reject a candidate whose out-of-domain accuracy drops beyond "
                            "its interval")
    audit_judge: str | None = Field(None, description="a second, different judge model that re-scores a sample "
                                    "of each accepted gain")
    audit_sample: int = Field(8, ge=1)
    block_grader_mentions: bool = Field(False, description="reject candidates whose bullets mention the judge, "
                                        "the rubric or answer letters without reason (they are always flagged)")
    hard_after: int = Field(2, ge=1, description="an example no version solved in this many attempts is 'too hard'")
    hard_weight: float = Field(0.25, ge=0, le=1, description="sampling weight of too-hard examples in critique "
                               "batches (1 = no down-weighting)")
    curriculum: bool = Field(False, description="order training batches from easy to hard")
    ablation: Literal["off", "final", "accepted"] = Field("final", description="per-bullet credit by ablation on "
                                                          "val: for the final version, every accepted one, or off")
    ablation_unit: Literal["bullet", "section"] = "bullet"


Objective = Literal["accuracy", "prompt_tokens", "cost_usd"]  # what a decision may weigh (latency never: see below)


class ObjectiveConfig(Frozen):
    """More than one objective (see docs/guide.md, "Objectives"). Accuracy, mean prompt tokens, cost and latency per
    rollout are measured for every validated version; latency is reported only, since a resumed run must repeat
    every decision and latency does not repeat."""

    weights: dict[Objective, float] = Field(
        default_factory=dict, description="rank the candidates that passed the gate by the weighted sum of their "
        "val objectives (accuracy counts up, tokens and cost down), e.g. {accuracy: 1, prompt_tokens: 0.0005}; "
        "empty: by accuracy gain")
    max_prompt_tokens: PositiveInt | None = Field(None, description="the gate rejects a candidate whose mean "
                                                  "prompt tokens per val rollout exceed this")
    max_cost_usd: PositiveFloat | None = Field(None, description="the gate rejects a candidate whose mean cost "
                                               "per val rollout (litellm prices) exceeds this")

    @property
    def active(self) -> bool:
        return bool(self.weights) or self.max_prompt_tokens is not None or self.max_cost_usd is not None


class RunConfig(Frozen):
    name: str = "run"
    system_prompt: str = "You are a helpful assistant."
    dataset: DatasetConfig = DatasetConfig()
    scorer: str | dict[str, Any] = "auto"
    models: ModelsConfig = ModelsConfig()
    budget: BudgetConfig = BudgetConfig()
    gate: GateConfig = GateConfig()
    learn: LearnConfig = LearnConfig()
    quality: QualityConfig = QualityConfig()
    objective: ObjectiveConfig = ObjectiveConfig()
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> RunConfig:
        if not self.system_prompt.strip():
            raise ValueError("system_prompt must not be empty")
        quality = self.quality
        if quality.audit_judge is not None and quality.audit_judge == self.models.judge:
            raise ValueError(f"quality.audit_judge must be a different model from models.judge ({self.models.judge}): "
                             "an audit by the same judge repeats its blind spots")
        if quality.calibration_gate and not quality.confidence:
            raise ValueError("quality.calibration_gate needs quality.confidence: true (no confidence, no Brier score)")
        if quality.ood_block and not quality.ood_path:
            raise ValueError("quality.ood_block needs quality.ood_path (an out-of-domain check set)")
        if self.learn.expire_after is not None and self.gate.noninferiority_margin is None:
            raise ValueError("learn.expire_after needs gate.noninferiority_margin: a removal cannot show a gain, so "
                             "the gate accepts it when it is not worse by more than the margin")
        return self

    def with_overrides(self, source: str = "overrides", /, **dotted: Any) -> RunConfig:
        """A new config with `a.b=value` overrides, validated again; errors name the field and `source`."""
        return validate(set_dotted(self.model_dump(), dotted), source=source)


def set_dotted(data: dict[str, Any], dotted: dict[str, Any]) -> dict[str, Any]:
    """`data` with each `a.b` key set to its value; missing sections are created, `data` is not changed."""
    out = dict(data)
    for key, value in dotted.items():
        node = out
        *parents, leaf = key.split(".")
        for depth, part in enumerate(parents):
            child = node.get(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"field '{'.'.join(parents[:depth + 1])}' is a value, not a section: "
                                  f"cannot set '{key}'")
            node[part] = dict(child)  # copied: the caller's nested sections stay as they were
            node = node[part]
        node[leaf] = value
    return out


PRESETS: dict[str, dict[str, Any]] = {
    "quick": {"budget": {"max_iterations": 2}, "dataset": {"train": 16, "val": 20, "test": 30},
              "learn": {"batch_size": 6, "max_failures": 3}},
    "demo": {"budget": {"max_iterations": 4}, "dataset": {"train": 40, "val": 40, "test": 40},
             "learn": {"batch_size": 12, "max_failures": 4, "candidates": 1}},
    # The fractions leave 15% of the data in no split: gate.extra_examples draws from those unsplit examples
    # (Setup.unsplit_examples), so splits covering everything would make the extra draw always come up empty.
    "thorough": {"budget": {"max_iterations": 10, "patience": 4},
                 "dataset": {"train": 0.35, "val": 0.25, "test": 0.25},
                 "learn": {"batch_size": 12, "max_failures": 6, "candidates": 3}, "gate": {"extra_examples": 30}},
}


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _describe(error: ValidationError, source: str) -> str:
    return f"{source}: {first_field_error(error)}"


def validate(data: dict[str, Any], source: str = "config") -> RunConfig:
    preset = None
    if isinstance(data, dict) and "preset" in data:
        data = dict(data)  # the caller's dict stays as it was
        preset = data.pop("preset")
    if preset is not None:
        if not isinstance(preset, str) or preset not in PRESETS:
            raise ConfigError(f"{source}: field 'preset': unknown preset '{preset}' (choose from {', '.join(PRESETS)})")
        data = _merge(PRESETS[preset], data)
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None


def preset(preset_name: str, /, **fields: Any) -> RunConfig:
    """A preset with fields overridden, e.g. `preset("quick", name="mine", dataset={"path": "bbh:navigate"})`."""
    return validate({"preset": preset_name, **fields}, source=f"preset {preset_name}")


def load_config(path: str | Path) -> RunConfig:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"run file not found: {path}")
    data = read_yaml(path, ConfigError)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of fields (name, dataset, models, ...) at the top level")
    return validate(data, source=str(path))


def load_run_config(run_file: Path | None, preset_name: str | None) -> RunConfig:
    """The config of a run file, else of a preset by name (the CLI's `optimize RUN_FILE` / `--preset NAME`)."""
    if run_file is not None:
        return load_config(run_file)
    if preset_name is None:
        raise ConfigError("give a run file (see runs/) or --preset NAME (" + ", ".join(PRESETS) + ")")
    return preset(preset_name)


# ---- learning from production traces (docs/guide.md, "Learning from production") --------------------------------
ScrubKind = Literal["env_secret", "api_key", "email", "card", "phone"]


class PrivacyConfig(Frozen):
    """What is scrubbed from imported traces before anything is stored or sent to a model."""

    scrub: bool = Field(True, description="replace secrets and obvious personal data with [KIND] placeholders")
    kinds: tuple[ScrubKind, ...] = Field(("env_secret", "api_key", "email", "card", "phone"),
                                         description="env_secret: values of *_KEY/*_TOKEN/... environment variables")
    patterns: dict[Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$")], str] = Field(
        default_factory=dict, description="more NAME: regex pairs; a match becomes [NAME]")

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: dict[str, str]) -> dict[str, str]:
        import re

        for name, pattern in patterns.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {name}: not a regular expression ({exc})") from None
        return patterns


class TracesConfig(Frozen):
    """How recorded production calls (OpenInference spans, OTLP/JSON, a JSONL log) become examples."""

    stream: str = Field("default", min_length=1, description="the name imported traces are kept under")
    span_kinds: tuple[str, ...] = Field(("LLM",), description="OpenInference span kinds imported; others skipped")
    annotator_kinds: tuple[str, ...] = Field(("HUMAN", "CODE", ""), description="annotations counted as user "
                                             "feedback ('' when not given); an LLM annotation is not a user's")
    good_score: float = Field(0.5, description="a feedback score at or above this is a thumbs up")
    good_labels: tuple[str, ...] = ("good", "correct", "thumbs_up", "up", "positive", "yes", "pass", "helpful")
    bad_labels: tuple[str, ...] = ("bad", "incorrect", "wrong", "thumbs_down", "down", "negative", "no", "fail",
                                   "unhelpful")
    privacy: PrivacyConfig = PrivacyConfig()


class OnlineConfig(Frozen):
    """`promptlearn learn --online`: learn a playbook from a stream of imported traces, a batch at a time."""

    name: str = "online"
    system_prompt: str = "You are a helpful assistant."
    traces: TracesConfig = TracesConfig()
    scorer: str | dict[str, Any] = Field("exact", description="scores a new output against a trace's correction")
    rubric: str = Field("follows_prompt", description="rubric judge (judges/rubrics/) for traces without a "
                        "correction")
    models: ModelsConfig = ModelsConfig()
    learn: LearnConfig = LearnConfig()
    gate: GateConfig = GateConfig()
    batch: int = Field(16, ge=1, description="new traces per update")
    replay: int = Field(16, ge=0, description="earlier traces every candidate is also scored on (fixed once chosen)")
    max_broken: int = Field(0, ge=0, description="replayed traces the current playbook gets right that a "
                            "candidate may get wrong")
    outputs_are_labels: bool = Field(False, description="the app answers with a label (an intent, yes/no): an "
                                     "output a user approved is that trace's answer (scored by `scorer`, and a "
                                     "worked example), and an output a user rejected is wrong wherever it is given "
                                     "again; off: only corrections are answers")
    unrated: Literal["rubric", "skip"] = Field("rubric", description="traces with no verdict from a user: scored "
                                               "by the rubric judge in the gate set, or left out of it (when the "
                                               "judge-trust table shows the judge disagrees with your users)")
    poll_s: float = Field(30.0, gt=0, description="seconds between looks for new traces (watch mode)")
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> OnlineConfig:
        if not self.system_prompt.strip():
            raise ValueError("system_prompt must not be empty")
        return self


def load_online_config(path: str | Path | None, **dotted: Any) -> OnlineConfig:
    """An online run file (YAML; defaults when None) with `a.b=value` overrides; errors name the field."""
    data: dict[str, Any] = {}
    source = "online defaults"
    if path is not None:
        path, source = Path(path), str(path)
        if not path.exists():
            raise ConfigError(f"run file not found: {path}")
        loaded = read_yaml(path, ConfigError)
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of fields (system_prompt, traces, models, ...)")
        data = loaded
    try:
        return OnlineConfig.model_validate(set_dotted(data, dotted))
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None
