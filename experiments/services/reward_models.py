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


def arm_stats_discounted(arms: list, reward_metric: str, *, half_life_epochs: float) -> ArmStats:
    """Arm statistics with each allocation epoch's weight halved every ``half_life_epochs`` epochs.

    For non-stationary slots (a sale, a season): old epochs fade so the bandit can follow a
    rate that drifts. Epoch rows come from ``PosteriorEpoch`` (oldest first).
    """
    from bandits.nonstationary import discounted_stats
    from experiments.models import PosteriorEpoch

    versions = sorted(
        set(PosteriorEpoch.objects.filter(arm__in=arms).values_list("allocation_version", flat=True))
    )
    position = {v: i for i, v in enumerate(versions)}
    arm_index = {arm.id: j for j, arm in enumerate(arms)}
    fields = (
        "trials",
        SUCCESS_FIELD[reward_metric],
        "purchases",
        "revenue_sum",
        "log_revenue_sum",
        "log_revenue_sq_sum",
    )
    # No epoch yet: one empty epoch, so every arm is back at its prior.
    cube = np.zeros((max(len(versions), 1), len(arms), len(fields)))
    for row in PosteriorEpoch.objects.filter(arm__in=arms).values(
        "arm_id", "allocation_version", *set(fields)
    ):
        cube[position[row["allocation_version"]], arm_index[row["arm_id"]]] = [row[f] for f in fields]
    summed = discounted_stats(cube, 0.5 ** (1.0 / half_life_epochs))
    return ArmStats(*(summed[:, k] for k in range(len(fields))))
