"""Build the bandit posterior of an experiment's reward metric from its arms' sufficient statistics.

Revenue is modelled per impression as P(purchase) x a log-normal order value (bandits.revenue).
What the decisions (allocation, stopping, promotion) see of it, one rule for every caller:

- the order-value prior comes from the shop's own orders (or its catalog's prices when it has
  none), worth a few orders (kappa0 = bandits.revenue.DEFAULT_PRIOR_ORDERS);
- order values above ``REVENUE_VALUE_CAP_QUANTILE`` of the shop's orders (p99.5) count at that cap,
  and the mean order value is clipped there; the report keeps the uncapped observed figures;
- an arm with fewer than ``REVENUE_MIN_PURCHASES`` purchases can neither lead nor win;
- the stopping rule's epsilon is the metric's own: a rate for click, add-to-cart and purchase
  (shown in percentage points), currency per impression for revenue.

Session and user experiments (clustered units): each arm's design effect comes from its sums over
units (bandits.clustered), and the rate's Beta posterior is tempered by it (counts / deff), so its
variance is the cluster-robust one. Allocation, P(best), the stopping rule, the intervals, the
uplift and the guardrails all read that posterior; for revenue the purchase rate is tempered, the
order-value part is not. Request experiments have no unit sums and are built exactly as before.
"""

from dataclasses import dataclass, field, replace

import numpy as np
from django.conf import settings

from bandits.clustered import ClusterSums, tempered_posterior
from bandits.revenue import LogNormalPrior, RevenuePosterior, order_value_cap, order_value_sums_capped
from experiments.selectors.order_values import order_values_above, order_values_history

SUCCESS_FIELD = {
    "click": "clicks",
    "add_to_cart": "add_to_carts",
    "purchase": "purchases",
    "revenue": "purchases",
}


@dataclass(frozen=True)
class ArmStats:
    """Counts per arm, in arm order: the plain numbers the bandits package takes.

    units, design_effect: for session and user experiments, the arm's units and the design
    effect (>= 1) of its success rate; None for request experiments (decisions are the units).
    """

    trials: np.ndarray
    successes: np.ndarray
    purchases: np.ndarray
    revenue_sum: np.ndarray
    log_revenue_sum: np.ndarray
    log_revenue_sq_sum: np.ndarray
    units: np.ndarray | None = None
    design_effect: np.ndarray | None = None

    def effective_trials(self) -> np.ndarray:
        """Trials / design effect: the independent decisions the arm's data is worth."""
        trials = self.trials.astype(np.float64)
        return trials if self.design_effect is None else trials / self.design_effect


def arm_stats(posteriors: list, reward_metric: str) -> ArmStats:
    field = SUCCESS_FIELD[reward_metric]

    def column(name: str, dtype=np.float64) -> np.ndarray:
        return np.array([getattr(p, name) for p in posteriors], dtype=dtype)

    stats = ArmStats(
        trials=column("trials", np.int64),
        successes=column(field, np.int64),
        purchases=column("purchases", np.int64),
        revenue_sum=column("revenue_sum"),
        log_revenue_sum=column("log_revenue_sum"),
        log_revenue_sq_sum=column("log_revenue_sq_sum"),
    )
    units = column("units")
    if not units.any():  # a request experiment: the posterior update keeps no unit sums
        return stats
    sums = ClusterSums(
        units=units,
        trials=stats.trials,
        successes=stats.successes,
        trials_sq=column("trials_sq_sum"),
        successes_sq=column(f"{field}_sq_sum"),
        cross=column(f"{field}_cross_sum"),
    )
    return replace(stats, units=units, design_effect=sums.design_effect())


@dataclass(frozen=True)
class RevenueInputs:
    """What the revenue model takes from the shop beyond the arms' running sums.

    prior: on log order value; cap: order values above it count at it (money; inf = none);
    above_cap: per arm, the attributed order values above the cap (empty when not capped).
    """

    prior: LogNormalPrior
    cap: float = float("inf")
    above_cap: list[np.ndarray] = field(default_factory=list)


def revenue_inputs(*, arms: list, capped: bool = True) -> RevenueInputs:
    """The prior and the cap from the shop's orders. ``capped=False`` for discounted statistics,
    whose faded running sums cannot be corrected order by order: their draws are still clipped."""
    history = order_values_history()
    cap = order_value_cap(history, settings.REVENUE_VALUE_CAP_QUANTILE)
    above = (
        order_values_above(arm_ids=[a.id for a in arms], cap=cap) if capped else [np.zeros(0) for _ in arms]
    )
    return RevenueInputs(prior=LogNormalPrior.from_values(history), cap=cap, above_cap=above)


def posterior_build(
    stats: ArmStats, *, reward_metric: str, prior: tuple[float, float], revenue: RevenueInputs | None = None
):
    """Beta-Bernoulli for click / add-to-cart / purchase; the zero-inflated revenue model for revenue.

    Without ``revenue`` (no shop data at hand) the revenue model uses its placeholder prior, uncapped.
    """
    if reward_metric == "revenue":
        revenue = revenue or RevenueInputs(prior=LogNormalPrior())
        sums = (stats.revenue_sum, stats.log_revenue_sum, stats.log_revenue_sq_sum)
        if revenue.above_cap:
            sums = order_value_sums_capped(*sums, revenue.above_cap, revenue.cap)
        post = RevenuePosterior.from_stats(
            stats.purchases,
            stats.trials,
            *sums,
            purchase_prior=prior,
            order_value_prior=revenue.prior,
            value_cap=revenue.cap,
        )
        if stats.design_effect is None:
            return post
        return replace(
            post, purchase=tempered_posterior(stats.purchases, stats.trials, stats.design_effect, prior)
        )
    design_effect = np.ones(len(stats.trials)) if stats.design_effect is None else stats.design_effect
    return tempered_posterior(stats.successes, stats.trials, design_effect, prior)


def experiment_posterior(*, experiment, arms: list, stats: ArmStats, discounted: bool = False):
    """The posterior the experiment's decisions are made on (see the module docstring)."""
    revenue = None
    if experiment.reward_metric == "revenue":
        revenue = revenue_inputs(arms=arms, capped=not discounted)
    return posterior_build(
        stats,
        reward_metric=experiment.reward_metric,
        prior=(experiment.prior_alpha, experiment.prior_beta),
        revenue=revenue,
    )


def stopping_rule(*, experiment, stats: ArmStats) -> dict:
    """The stopping rule's metric-specific arguments to ``bandits.stopping_state``."""
    rule: dict = {"epsilon": max(loss_epsilon(experiment), 1e-12)}
    if experiment.reward_metric == "revenue":
        rule |= {"successes": stats.purchases, "min_successes": settings.REVENUE_MIN_PURCHASES}
    return rule


def loss_epsilon(experiment) -> float:
    """The experiment's expected-loss epsilon in its metric's own reward units."""
    if experiment.reward_metric == "revenue":
        return float(experiment.revenue_loss_epsilon)
    return float(experiment.expected_loss_epsilon)


def loss_epsilon_shown(experiment) -> dict:
    """The epsilon as the report shows it: value, unit and words (pp of a rate; money per impression)."""
    value = loss_epsilon(experiment)
    if experiment.reward_metric == "revenue":
        return {"value": value, "unit": "currency_per_impression", "text": f"{value:g} per impression"}
    return {"value": value, "unit": "rate", "text": f"{value * 100:g} percentage points"}


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
