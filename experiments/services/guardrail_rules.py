"""What a guardrail rule on ``Experiment.guardrails`` may hold, checked where rules are written
(the admin form) and again where they are read (the report), since the JSON column also takes
rules written another way."""

import math

from .reward_models import SUCCESS_FIELD

GUARDRAIL_METRICS = tuple(SUCCESS_FIELD)


def guardrail_rule_problem(rule) -> str | None:
    """Why ``rule`` cannot be checked, in words for a merchandiser, or None when it can."""
    if not isinstance(rule, dict) or rule.get("metric") not in GUARDRAIL_METRICS:
        return f"Each guardrail needs a metric among {', '.join(GUARDRAIL_METRICS)}."
    tolerance = rule.get("tolerance", 0)
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float):
        return "A guardrail tolerance is a number: a relative drop in [0, 1), e.g. 0.05."
    if not (math.isfinite(tolerance) and 0 <= tolerance < 1):
        return "A guardrail tolerance is a relative drop in [0, 1), e.g. 0.05."
    return None
