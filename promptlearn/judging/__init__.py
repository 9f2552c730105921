from promptlearn.judging.judge import FAILURE_MODES, ExplanatoryJudge, RubricJudge, Verdict
from promptlearn.judging.trust import trust_table

__all__ = ["ExplanatoryJudge", "RubricJudge", "Verdict", "FAILURE_MODES", "trust_table"]
