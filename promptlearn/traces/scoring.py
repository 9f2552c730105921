"""Judging without gold labels.

- A recorded output's user feedback is evidence for its critique (`FeedbackJudge`, judges/feedback.j2).
- A new output is scored against the trace's correction where there is one (a code scorer), and by a rubric judge
  where there is not (`NoLabelScorer`); the thumbs a user gave the old output never score a different new one.
  Where the app's outputs are labels (`outputs_are_labels`), an approved label is the trace's answer and a
  rejected one is wrong if given again (traces/references.py).
- The rubric judge sees the run's seed system prompt (the task definition), never the candidate playbook: a rule a
  candidate adds cannot loosen what its own answers are judged against.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from promptlearn import templates
from promptlearn.data import Example, Score, Scorer
from promptlearn.judging.judge import FAILURE_MODES, ExplanatoryJudge, RubricJudge
from promptlearn.rollouts import safe_score
from promptlearn.traces.references import REJECTED


def rubric_example(task_prompt: str, example: Example) -> Example:
    """The example as the rubric judge sees it: the task definition, then the user's message (both fenced)."""
    return replace(example, input=f"System prompt of the task:\n{task_prompt}\n\nUser message:\n{example.input}",
                   target="")


class JudgeStopped(BaseException):
    """Carries a judge model's exception (a provider down, an interrupted process) past the rollout runner's scorer
    guard, which turns a scorer's own bug into a stored 0: a judge that could not answer must stop the batch (to be
    resumed), not leave a score. `OnlineLearner` raises the original again."""


@dataclass
class NoLabelScorer:
    """A correction (the example's target) is scored by `code`; anything else by the rubric judge."""

    code: Scorer
    rubric: RubricJudge
    task_prompt: str  # the seed system prompt
    name: str = "correction-or-rubric"

    def __call__(self, output: str, example: Example) -> Score:
        if example.target:
            score = safe_score(self.code, output, example)
            return replace(score, reason=f"correction: {score.reason}")
        rejected = example.metadata.get(REJECTED)
        if rejected:  # a label a user rejected (outputs_are_labels): given again, it is wrong again
            again = safe_score(self.code, output, replace(example, target=rejected))
            if again.value >= 1.0:
                return Score(0.0, f"rejected: the answer a user rejected ({rejected.strip()[:40]})", again.parsed)
        try:
            verdict = self.rubric.judge(self.task_prompt, rubric_example(self.task_prompt, example), output)
        except Exception as exc:
            raise JudgeStopped(exc) from exc
        if not verdict.parsed:
            return Score(0.0, f"rubric: {verdict.critique}", None)
        return Score(1.0 if verdict.verdict == "pass" else 0.0, f"rubric {verdict.verdict}: {verdict.critique}",
                     output.strip()[:40] or None)


class FeedbackJudge(ExplanatoryJudge):
    """The explanatory judge with the user's feedback in place of a reference answer (judges/feedback.j2); the
    feedback travels in the example's metadata under `feedback`."""

    def prompt(self, system_prompt: str, example: Example, output: str, check: str = "") -> str:
        feedback: dict[str, Any] = example.metadata.get("feedback") or {}
        return templates.render(self.template, system_prompt=system_prompt, input=example.input, output=output,
                                feedback={k: feedback.get(k) for k in ("score", "label", "comment", "correction")},
                                failure_modes=FAILURE_MODES)
