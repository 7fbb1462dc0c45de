"""Arm statistics with clicks, purchases and order values, for guardrail tests."""

import math

from experiments.models import Experiment, Guardrail, Posterior

ORDER_VALUE_LOG_SD = 0.5


def revenue_stats_set(experiment: Experiment, stats: dict[str, tuple[int, int, int, float]]) -> None:
    """Per arm (trials, clicks, purchases, typical order value): log-normal order values with sd 0.5."""
    for arm in experiment.arms.all():
        trials, clicks, purchases, order_value = stats[arm.key]
        mu = math.log(order_value)
        Posterior.objects.filter(arm=arm).update(
            trials=trials,
            clicks=clicks,
            purchases=purchases,
            revenue_sum=purchases * order_value * math.exp(ORDER_VALUE_LOG_SD**2 / 2),
            log_revenue_sum=purchases * mu,
            log_revenue_sq_sum=purchases * (mu**2 + ORDER_VALUE_LOG_SD**2),
        )


def revenue_guardrail_add(experiment: Experiment) -> Guardrail:
    return Guardrail.objects.create(
        experiment=experiment, metric="revenue", tolerance=0.05, breach_probability=0.95
    )


# B clicks 50% more than A but earns 20% less per impression: 2,000 purchases each keep the
# revenue per impression within about 3% (one standard error), so P(B worse by > 5%) is near 1.
CLICKS_UP_REVENUE_DOWN = {"A": (100_000, 3_000, 2_000, 50.0), "B": (100_000, 4_500, 2_000, 40.0)}
REVENUE_EVEN = {"A": (200_000, 6_000, 4_000, 50.0), "B": (200_000, 9_000, 4_000, 50.0)}
