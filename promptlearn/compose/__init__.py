"""Composable playbooks: several domain playbooks behind a router, or merged into one labelled prompt.

`composed` holds the `ComposedPlaybook` model (routing, export, loading); `evaluation` measures what composing costs.
"""

from promptlearn.compose.composed import (
    COMPOSED_FORMAT,
    ROUTER_SYSTEM,
    ComposedPlaybook,
    RouterConfig,
    load_composed,
    parse_keywords,
)
from promptlearn.compose.evaluation import evaluate_composed

__all__ = [
    "COMPOSED_FORMAT", "ROUTER_SYSTEM", "ComposedPlaybook", "RouterConfig", "evaluate_composed", "load_composed",
    "parse_keywords",
]
