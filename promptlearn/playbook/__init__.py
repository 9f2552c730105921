"""Playbooks: a seed prompt plus id-tagged bullets, changed only through validated deltas."""

from promptlearn.playbook.curation import Measured, dedupe_deltas, merge_duplicates, near_duplicates, prune_to_budget
from promptlearn.playbook.deltas import (
    DELTA_BATCH_JSON_SCHEMA,
    EXAMPLES_SECTION,
    MAX_DELTA_TEXT,
    MAX_DELTAS,
    Delta,
    DeltaBatch,
    DeltaParseError,
    parse_delta_batch,
)
from promptlearn.playbook.playbook import (
    DEFAULT_SECTIONS,
    ApplyResult,
    Bullet,
    DeltaOutcome,
    Playbook,
    cited_bullet_ids,
    token_count,
)

__all__ = [
    "DEFAULT_SECTIONS",
    "DELTA_BATCH_JSON_SCHEMA",
    "EXAMPLES_SECTION",
    "MAX_DELTAS",
    "MAX_DELTA_TEXT",
    "Measured",
    "ApplyResult",
    "Bullet",
    "Delta",
    "DeltaBatch",
    "DeltaOutcome",
    "DeltaParseError",
    "Playbook",
    "cited_bullet_ids",
    "dedupe_deltas",
    "merge_duplicates",
    "near_duplicates",
    "parse_delta_batch",
    "prune_to_budget",
    "token_count",
]
