"""How far a judge agrees with code-checked truth, overall and per failure mode."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any


def trust_table(critiques: Iterable[Any]) -> dict[str, dict[str, float]]:
    """Rows keyed by failure mode plus 'all': n, agreement, and unparseable share. Critiques without a code
    verdict (the judge alone decided) are skipped: there is nothing to agree with."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # n, agree, unparseable
    for c in critiques:
        if c.code_verdict is None:
            continue
        for key in ("all", c.failure_mode or "other"):
            row = counts[key]
            row[0] += 1
            row[1] += int(c.verdict == c.code_verdict)
            row[2] += int(c.verdict == "unparseable")
    return {k: {"n": n, "agreement": agree / n, "unparseable": bad / n} for k, (n, agree, bad) in counts.items() if n}
