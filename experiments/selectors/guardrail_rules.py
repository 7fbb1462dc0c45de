"""The guardrail rule, in one place: which of an experiment's ``Guardrail`` rows can be checked, and
P(worse than control beyond tolerance) per arm for each, as the recompute and the report both need.

The admin form validates rows as they are written; rows written another way (a shell, a bulk
update) are checked again here, and one that cannot be checked is reported with the reason
instead of failing the recompute or the report.
"""

import math
from dataclasses import dataclass

from bandits import GuardrailCheck, guardrails_check
from experiments.models import Guardrail
from experiments.models.experiments import GuardrailMetric

from .reward_models import arm_stats, posterior_build, revenue_inputs

GUARDRAIL_METRICS = tuple(GuardrailMetric.values)


@dataclass(frozen=True)
class GuardrailEvaluation:
    """checks: {metric: GuardrailCheck} over the arms in the given order; unchecked: (rule, why)."""

    checks: dict[str, GuardrailCheck]
    unchecked: list[tuple[Guardrail, str]]


def guardrail_rule_problem(rule: Guardrail) -> str | None:
    """Why ``rule`` cannot be checked, in words for a merchandiser, or None when it can."""
    if rule.metric not in GUARDRAIL_METRICS:
        return f"A guardrail's metric is one of {', '.join(GUARDRAIL_METRICS)}."
    tolerance, threshold = rule.tolerance, rule.breach_probability
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float):
        return "A guardrail's tolerance is a number: a relative drop in [0, 1), e.g. 0.05."
    if not (math.isfinite(tolerance) and 0 <= tolerance < 1):
        return "A guardrail's tolerance is a relative drop in [0, 1), e.g. 0.05."
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        return "A guardrail's breach probability is a number in [0.5, 1), e.g. 0.95."
    if not (math.isfinite(threshold) and 0.5 <= threshold < 1):
        return "A guardrail's breach probability is in [0.5, 1), e.g. 0.95."
    return None


def guardrails_evaluate(
    *, experiment, posteriors: list, control: int, draws: int, seed: int
) -> GuardrailEvaluation:
    """Check every guardrail row of ``experiment`` against the arms' cumulative posteriors.

    ``posteriors``: the arms' ``Posterior`` rows in arm order. Each metric gets its own posterior
    (Beta-Bernoulli, or the revenue model for revenue) built from the same rows, and each rule its
    own breach probability.
    """
    wanted: dict[str, Guardrail] = {}
    unchecked = []
    for rule in experiment.guardrail_rules.order_by("metric"):
        problem = guardrail_rule_problem(rule)
        if problem:
            unchecked.append((rule, problem))
        else:
            wanted[rule.metric] = rule
    built = {
        metric: posterior_build(
            arm_stats(posteriors, metric),
            reward_metric=metric,
            prior=(experiment.prior_alpha, experiment.prior_beta),
            # Revenue guardrails see the same prior and capped order values as revenue decisions.
            revenue=revenue_inputs(arms=[p.arm for p in posteriors]) if metric == "revenue" else None,
        )
        for metric in wanted
    }
    checks = guardrails_check(
        built,
        {m: float(r.tolerance) for m, r in wanted.items()},
        control=control,
        breach_probability={m: float(r.breach_probability) for m, r in wanted.items()},
        draws=draws,
        seed=seed,
    )
    return GuardrailEvaluation(checks=checks, unchecked=unchecked)


def stopping_guardrail_checked(stopping: dict, *, arms: list) -> dict:
    """``stopping`` with ``guardrail_breached`` (its winner breached a guardrail) and, if so, a
    summary that says the winner will not be concluded or promoted."""
    winner = next((a for a in arms if a.key == stopping.get("winner")), None)
    breached = winner is not None and winner.guardrail_breached_at is not None
    if breached:
        metric = (winner.guardrail_breach or {}).get("metric", "a metric")
        summary = f"{stopping.get('summary', '')} Guardrail breached: {winner.key} is worse than control on "
        summary += f"{metric}, so it is not concluded or promoted."
        stopping = {**stopping, "summary": summary.strip()}
    return {**stopping, "guardrail_breached": breached}
