"""Review: under `gate.review`, a candidate that passes the gate waits as `pending` for a person, and the run stops
there. `promptlearn review RUN` (or `promptlearn serve`) writes the decision to the store; `optimize --resume`
replays the run to the same candidate and goes on from the decision: accepted, rejected, or a bullet edited
(the edited playbook is a new version, validated by the gate before it is accepted)."""

from __future__ import annotations

from promptlearn.errors import ConfigError
from promptlearn.optimize.steps import Candidate
from promptlearn.playbook import Delta, Playbook


class ReviewPending(Exception):
    """The run reached a candidate that waits for a person's decision."""

    def __init__(self, run_id: str, version: int):
        self.run_id, self.version = run_id, version
        super().__init__(f"v{version} passed the gate and waits for review: promptlearn review {run_id} "
                         f"(then promptlearn optimize --resume {run_id})")


def edited(playbook: Playbook, bullet_id: str | None, text: str, version: int) -> Candidate:
    """`playbook` with one bullet's text replaced by a reviewer's, as a candidate (an `update` delta)."""
    bullet = playbook.get(bullet_id or "")
    if bullet is None:
        raise ConfigError(f"review edit: no bullet '{bullet_id}' in the reviewed version")
    delta = Delta(op="update", section=bullet.section, bullet_id=bullet.id, text=text, reason="edited in review")
    result = playbook.apply([delta], version=version)
    outcomes = tuple((o.delta, o.applied, o.reason) for o in result.outcomes)
    return Candidate(result.playbook, (delta,), outcomes, ("origin: review edit",))
