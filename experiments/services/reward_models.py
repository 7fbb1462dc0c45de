"""Build the bandit posterior of an experiment's reward metric from its arms' sufficient statistics."""

from dataclasses import dataclass

import numpy as np

from bandits import BetaBernoulli

SUCCESS_FIELD = {
    "click": "clicks",
    "add_to_cart": "add_to_carts",
    "purchase": "purchases",
    "revenue": "purchases",
}


@dataclass(frozen=True)
class ArmStats:
    """Counts per arm, in arm order: the plain numbers the bandits package takes."""

    trials: np.ndarray
    successes: np.ndarray
    purchases: np.ndarray
    revenue_sum: np.ndarray
    log_revenue_sum: np.ndarray
    log_revenue_sq_sum: np.ndarray


def arm_stats(posteriors: list, reward_metric: str) -> ArmStats:
    field = SUCCESS_FIELD[reward_metric]

    def column(name: str, dtype=np.float64) -> np.ndarray:
        return np.array([getattr(p, name) for p in posteriors], dtype=dtype)

    return ArmStats(
        trials=column("trials", np.int64),
        successes=column(field, np.int64),
        purchases=column("purchases", np.int64),
        revenue_sum=column("revenue_sum"),
        log_revenue_sum=column("log_revenue_sum"),
        log_revenue_sq_sum=column("log_revenue_sq_sum"),
    )


def posterior_build(stats: ArmStats, *, reward_metric: str, prior: tuple[float, float]):
    """Beta-Bernoulli for click / add-to-cart / purchase; the zero-inflated revenue model for revenue."""
    if reward_metric == "revenue":
        from bandits import RevenuePosterior

        return RevenuePosterior.from_stats(
            purchases=stats.purchases,
            impressions=stats.trials,
            revenue_sum=stats.revenue_sum,
            log_revenue_sum=stats.log_revenue_sum,
            log_revenue_sq_sum=stats.log_revenue_sq_sum,
        )
    return BetaBernoulli.from_counts(successes=stats.successes, trials=stats.trials, prior=prior)
