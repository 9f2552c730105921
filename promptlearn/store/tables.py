"""The schema. Changes go through an Alembic migration in `migrations/versions/` (a test checks they agree)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class RunRow(SQLModel, table=True):
    __tablename__ = "run"
    id: str = Field(primary_key=True)
    kind: str  # eval | optimize | bench
    name: str = ""
    status: str = "running"  # running | completed | failed | stopped
    config_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    summary_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    parent_run_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ExampleRow(SQLModel, table=True):
    __tablename__ = "example"
    __table_args__ = (UniqueConstraint("run_id", "example_id", name="uq_example_run_example"),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True, foreign_key="run.id")
    dataset: str
    split: str
    example_id: str
    input: str = Field(sa_column=Column(Text, nullable=False))
    target: str = Field(sa_column=Column(Text, nullable=False))
    metadata_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))


class VersionRow(SQLModel, table=True):
    __tablename__ = "playbook_version"
    __table_args__ = (UniqueConstraint("run_id", "number", name="uq_version_run_number"),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True, foreign_key="run.id")
    number: int
    parent_number: int | None = None
    iteration: int = 0
    status: str  # seed | candidate | accepted | rejected | current
    content_json: str = Field(sa_column=Column(Text, nullable=False))
    content_hash: str
    scores_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    note: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class DeltaRow(SQLModel, table=True):
    __tablename__ = "delta"
    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True, foreign_key="run.id")
    version_number: int
    op: str
    section: str = ""
    bullet_id: str | None = None
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    evidence_json: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    applied: bool = True
    note: str = ""


class LMCallRow(SQLModel, table=True):
    __tablename__ = "lm_call"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, index=True)
    model: str
    request_json: str = Field(sa_column=Column(Text, nullable=False))
    reply: str = Field(default="", sa_column=Column(Text, nullable=False))
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    error: str | None = None
    run_id: str | None = Field(default=None, index=True)  # the run that first made it; indexed (0003) for reports
    created_at: datetime = Field(default_factory=utcnow)


class RolloutRow(SQLModel, table=True):
    __tablename__ = "rollout"
    __table_args__ = (
        UniqueConstraint("run_id", "version_number", "example_id", "sample", name="uq_rollout_identity"),
    )
    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True, foreign_key="run.id")
    version_number: int
    example_id: str
    split: str
    sample: int = 0
    output: str = Field(default="", sa_column=Column(Text, nullable=False))
    score: float = 0.0
    reason: str = ""
    parsed: str | None = None
    lm_call_key: str | None = None
    error: str | None = None
    confidence: float | None = None  # stated by the task model when the run elicits it (migration 0002)
    created_at: datetime = Field(default_factory=utcnow)


class CritiqueRow(SQLModel, table=True):
    __tablename__ = "critique"
    __table_args__ = (UniqueConstraint("rollout_id", "judge", name="uq_critique_rollout_judge"),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True, foreign_key="run.id")
    rollout_id: int = Field(foreign_key="rollout.id")
    judge: str
    critique: str = Field(default="", sa_column=Column(Text, nullable=False))
    failure_mode: str = ""
    suggested_rule: str = Field(default="", sa_column=Column(Text, nullable=False))
    verdict: str = ""  # pass | fail | unparseable
    confidence: float | None = None
    code_verdict: str | None = None  # pass | fail when a code scorer knows the truth
    flags: str = ""  # e.g. "injection" when the data tried to instruct the judge
    lm_call_key: str | None = None


class GateRow(SQLModel, table=True):
    __tablename__ = "gate_decision"
    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True, foreign_key="run.id")
    version_number: int
    baseline_number: int
    n: int
    diff: float
    low: float
    high: float
    p_value: float
    accepted: bool
    reason: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class QualityRow(SQLModel, table=True):
    """One learning-quality measurement (migration 0002): a bullet's ablation credit, an out-of-domain score,
    a calibration figure, a difficulty count, an audit disagreement or a flag. `key` names what was measured
    (a bullet id, an example id, a metric); `detail_json` holds the rest (intervals, n, reasons)."""

    __tablename__ = "quality_record"
    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True, foreign_key="run.id")
    version_number: int | None = None
    kind: str = Field(index=True)  # credit | ood | calibration | difficulty | audit | flag
    key: str = ""
    value: float | None = None
    detail_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class ReviewRow(SQLModel, table=True):
    """A person's decision on a candidate that passed the gate (`gate.review`): accept, reject, or edit one
    bullet's text (the edited playbook is validated again when the run resumes)."""

    __tablename__ = "review_decision"
    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True, foreign_key="run.id")
    version_number: int
    decision: str  # accept | reject | edit
    bullet_id: str | None = None
    text: str = Field(default="", sa_column=Column(Text, nullable=False))  # an edit's new bullet text
    reviewer: str = ""
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class TraceRow(SQLModel, table=True):
    """A recorded production call and its user feedback (issue #18), scrubbed before it is stored. `key` (a span
    id, a log line's id or its content hash) makes an import idempotent within a stream."""

    __tablename__ = "trace"
    __table_args__ = (UniqueConstraint("stream", "key", name="uq_trace_stream_key"),)
    id: int | None = Field(default=None, primary_key=True)
    stream: str = Field(index=True)
    key: str
    source: str = ""  # file:line it was imported from
    input: str = Field(sa_column=Column(Text, nullable=False))
    output: str = Field(sa_column=Column(Text, nullable=False))
    score: float | None = None
    label: str | None = None
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    correction: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    metadata_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
