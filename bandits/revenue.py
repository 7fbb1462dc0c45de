"""Revenue per impression: a zero-inflated model, P(purchase) x order value.

Per arm and impression, revenue is 0 with probability 1 - p and a positive order value Y otherwise:
  p            ~ Beta(a0 + purchases, b0 + impressions - purchases)           (Beta-Bernoulli)
  log Y        ~ Normal(mu, sigma^2), (mu, sigma^2) ~ Normal-Inverse-Gamma     (log-normal order values)
  arm value    = p * E[Y | mu, sigma^2] = p * exp(mu + sigma^2 / 2)   (money per impression)
Why log-normal with a Normal-Inverse-Gamma posterior rather than Gamma-Exponential: order values
are right-skewed with a long tail (a few large baskets; CDNOW's order values have a coefficient of
variation well above 1), while an exponential fixes that coefficient at exactly 1, so its posterior
would be too narrow on heavy-tailed data and decisions overconfident. The log-normal fits the skew,
its sigma is learned, and its sufficient statistics are three running sums per arm: purchases,
sum of log order value, and sum of squared log order value.

NIG update (Murphy 2007, "Conjugate Bayesian analysis of the Gaussian distribution", sec. 6) with
n purchases, xbar = mean log value, ss = sum (x - xbar)^2:
  kappa_n = kappa0 + n;  m_n = (kappa0 m0 + n xbar) / kappa_n;  a_n = a0 + n / 2;
  b_n = b0 + ss / 2 + kappa0 n (xbar - m0)^2 / (2 kappa_n);
  sigma^2 ~ InvGamma(a_n, b_n);  mu | sigma^2 ~ Normal(m_n, sigma^2 / kappa_n).
Pitfall: under an inverse-gamma posterior E[exp(sigma^2 / 2)] is infinite, so the exact posterior
mean of the order value does not exist. `mean()` reports the plug-in value at E[sigma^2] (finite,
consistent); draws are exact, with the exponent capped at 700 so that no draw overflows to inf.

Edges (issue 19): a vague prior (kappa0 = 0.01, m0 = 0) lets an arm with no purchases span e^+-20 in
order value, so 0/5,000 purchases could still be "best" with P = 0.15 and report a mean of 1e18.
So the prior is weakly informative and taken from the shop's own order values (or its catalog's
prices when there are none), `LogNormalPrior.from_values`: m0 = mean log value, E[sigma^2] = their
variance, kappa0 = a few orders (DEFAULT_PRIOR_ORDERS). And one whale order must not decide: order
values are capped for decisions at a high quantile of history (`order_value_cap`, default p99.5),
`order_value_stats` gives the capped running sums; reports still show the uncapped figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from bandits._validation import ArrayLike, check_nonnegative, check_positive, check_same_length, float_array
from bandits.errors import BanditError
from bandits.posteriors import DEFAULT_PRIOR, BetaBernoulli

_MAX_LOG_VALUE = 700.0  # exp(700) ~ 1e304, still finite in float64
DEFAULT_PRIOR_ORDERS = 3.0  # kappa0: the prior on mean log order value is worth this many orders
DEFAULT_VALUE_CAP_QUANTILE = 0.995  # order values above this quantile of history are capped
_PRIOR_SHAPE = 3.0  # a0: sigma^2's prior is worth about 2 * (a0 - 1) = 4 orders, with a light tail
_FALLBACK_LOG_VARIANCE = 1.0  # typical sigma of log order value is 0.5-1.2


@dataclass(frozen=True)
class LogNormalPrior:
    """Normal-Inverse-Gamma prior on (mu, sigma^2) of log order value.

    Defaults: sigma^2 has prior mean b0 / (a0 - 1) = 1 (typical log order values have sigma 0.5-1.2)
    with a0 = 3 keeping its tail light; kappa0 = 3 makes mu's prior worth three orders. m0 = 0 (an
    order value of 1 currency unit) is only a placeholder: build the prior from the shop's own order
    values or catalog prices with `from_values`, so an arm with no purchases sits at the shop's
    typical order value instead of anywhere in e^+-20.
    """

    mean: float = 0.0
    kappa: float = DEFAULT_PRIOR_ORDERS
    shape: float = 3.0
    scale: float = 2.0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.mean) and self.kappa > 0 and self.shape > 1 and self.scale > 0):
            raise BanditError(
                f"LogNormalPrior needs finite mean, kappa > 0, shape > 1 and scale > 0, got {self}"
            )

    @classmethod
    def from_values(cls, values: ArrayLike, *, orders: float = DEFAULT_PRIOR_ORDERS) -> LogNormalPrior:
        """Weakly informative prior from positive money values, (n,): past order values or prices.

        m0 = mean(log v); E[sigma^2] = b0 / (a0 - 1) = var(log v) (1 when fewer than two values);
        kappa0 = `orders`. Non-positive and non-finite values are ignored; none left gives the
        placeholder prior (m0 = 0).
        """
        if not orders > 0:
            raise BanditError(f"orders (kappa0) must be > 0, got {orders}")
        money = np.asarray(values, dtype=np.float64).ravel()
        logs = np.log(money[np.isfinite(money) & (money > 0)])
        variance = float(np.var(logs, ddof=1)) if len(logs) >= 2 else _FALLBACK_LOG_VARIANCE
        variance = max(variance, 1e-6)
        location = float(np.mean(logs)) if len(logs) else 0.0
        return cls(
            mean=location, kappa=float(orders), shape=_PRIOR_SHAPE, scale=variance * (_PRIOR_SHAPE - 1.0)
        )


def order_value_cap(history: ArrayLike, quantile: float = DEFAULT_VALUE_CAP_QUANTILE) -> float:
    """The cap on order values for decisions: this quantile of past positive order values, money.

    inf when there is no history (nothing to cap against) or quantile is 1.
    """
    if not 0.5 <= quantile <= 1.0:
        raise BanditError(f"the cap quantile must be in [0.5, 1], got {quantile}")
    money = np.asarray(history, dtype=np.float64).ravel()
    money = money[np.isfinite(money) & (money > 0)]
    if len(money) == 0 or quantile == 1.0:
        return float("inf")
    return float(np.quantile(money, quantile))


def order_value_stats(
    values_per_arm: Sequence[ArrayLike], cap: float = float("inf")
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Running sums of order values capped at `cap`: purchases, sum y, sum log y, sum (log y)^2.

    values_per_arm: one array of positive order values per arm; each returned array is (n_arms,).
    """
    if not cap > 0:
        raise BanditError(f"cap must be > 0 (money), got {cap}")
    sums = np.zeros((4, len(values_per_arm)))
    for arm, values in enumerate(values_per_arm):
        money = np.asarray(values, dtype=np.float64).ravel()
        if np.any(~np.isfinite(money) | (money <= 0)):
            raise BanditError(f"order values must be finite and > 0 (arm {arm})")
        logs = np.log(np.minimum(money, cap))
        sums[:, arm] = len(money), np.minimum(money, cap).sum(), logs.sum(), (logs * logs).sum()
    return sums[0], sums[1], sums[2], sums[3]


def order_value_sums_capped(
    revenue_sum: ArrayLike,
    log_revenue_sum: ArrayLike,
    log_revenue_sq_sum: ArrayLike,
    above_cap: Sequence[ArrayLike],
    cap: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Running sums (each (n_arms,)) with the order values above `cap` counted at the cap instead.

    above_cap: per arm, the order values (money) in the sums that exceed `cap`; only those need to
    be known, so the stored running sums can be capped without reading every order.
    Returns sum y, sum log y, sum (log y)^2, capped.
    """
    totals = [
        float_array(name, v)
        for name, v in (
            ("revenue_sum", revenue_sum),
            ("log_revenue_sum", log_revenue_sum),
            ("log_revenue_sq_sum", log_revenue_sq_sum),
        )
    ]
    check_same_length(revenue_sum=totals[0], log_revenue_sum=totals[1], log_revenue_sq_sum=totals[2])
    if len(above_cap) != len(totals[0]):
        raise BanditError("above_cap needs one array of order values per arm")
    total, log_total, log_sq_total = (t.copy() for t in totals)
    if not np.isfinite(cap):
        return total, log_total, log_sq_total
    log_cap = float(np.log(cap))
    for arm, values in enumerate(above_cap):
        money = np.asarray(values, dtype=np.float64).ravel()
        if np.any(money <= cap):
            raise BanditError(f"above_cap holds only values above the cap (arm {arm})")
        logs = np.log(money)
        total[arm] -= float(np.sum(money - cap))
        log_total[arm] -= float(np.sum(logs - log_cap))
        log_sq_total[arm] -= float(np.sum(logs * logs - log_cap * log_cap))
    return total, log_total, log_sq_total


@dataclass(frozen=True)
class OrderValuePosterior:
    """Per-arm Normal-Inverse-Gamma posterior of log order value; all fields (n_arms,).

    Its `sample` draws the mean order value exp(mu + sigma^2 / 2), so `prob_best` and
    `uplift_vs_control` on it report average-order-value (AOV) comparisons on their own.
    value_cap (money): when decisions use order values capped at c, their mean is at most c, so
    draws and the mean are clipped there. This also keeps the expected loss finite: uncapped,
    E[exp(sigma^2 / 2)] under an inverse-gamma posterior is infinite, and an arm with few orders
    gave a good arm a Monte Carlo "expected loss" of 1e4-1e67 depending on the seed.
    """

    location: np.ndarray
    kappa: np.ndarray
    shape: np.ndarray
    scale: np.ndarray
    value_cap: float = float("inf")

    reward_kind: ClassVar[str] = "value"

    def __post_init__(self) -> None:
        names = ("location", "kappa", "shape", "scale")
        arrays = {name: float_array(name, getattr(self, name)) for name in names}
        check_same_length(**arrays)
        for name in ("kappa", "shape", "scale"):
            check_positive(name, arrays[name])
        if np.any(arrays["shape"] <= 1):
            raise BanditError("shape must be > 1 so that sigma^2 has a posterior mean; use a0 > 1")
        if not self.value_cap > 0:
            raise BanditError(f"value_cap must be > 0 (money; inf for none), got {self.value_cap}")
        object.__setattr__(self, "value_cap", float(self.value_cap))
        for name, array in arrays.items():
            object.__setattr__(self, name, array)

    @classmethod
    def from_log_stats(
        cls,
        purchases: ArrayLike,
        log_revenue_sum: ArrayLike,
        log_revenue_sq_sum: ArrayLike,
        prior: LogNormalPrior,
        value_cap: float = float("inf"),
    ) -> OrderValuePosterior:
        """NIG posterior from n, sum log y and sum (log y)^2 per arm (see module docstring).

        value_cap: the cap the order values were clipped at before summing (money), if any.
        """
        n = float_array("purchases", purchases)
        total = float_array("log_revenue_sum", log_revenue_sum)
        total_sq = float_array("log_revenue_sq_sum", log_revenue_sq_sum)
        check_same_length(purchases=n, log_revenue_sum=total, log_revenue_sq_sum=total_sq)
        check_nonnegative("purchases", n)
        xbar = np.divide(total, n, out=np.zeros_like(total), where=n > 0)
        # ss >= 0 in exact arithmetic; rounding in the running sums can make it slightly negative.
        ss = np.maximum(total_sq - n * xbar * xbar, 0.0)
        kappa_n = prior.kappa + n
        location = (prior.kappa * prior.mean + n * xbar) / kappa_n
        shape = prior.shape + n / 2.0
        scale = prior.scale + ss / 2.0 + prior.kappa * n * (xbar - prior.mean) ** 2 / (2.0 * kappa_n)
        return cls(location=location, kappa=kappa_n, shape=shape, scale=scale, value_cap=value_cap)

    @property
    def n_arms(self) -> int:
        return len(self.location)

    def mean(self) -> np.ndarray:
        """Plug-in mean order value exp(m_n + (1 + 1/kappa_n) E[sigma^2] / 2), at most value_cap;
        (n_arms,), money. (1 + 1/kappa_n) is E[exp(mu)] given sigma^2; finite since kappa_n >= kappa0.
        """
        sigma2 = self.scale / (self.shape - 1.0)
        value = np.exp(np.minimum(self.location + (1.0 + 1.0 / self.kappa) * sigma2 / 2.0, _MAX_LOG_VALUE))
        return np.minimum(value, self.value_cap)

    def sample(self, draws: int, rng: np.random.Generator) -> np.ndarray:
        """Draws of the mean order value exp(mu + sigma^2 / 2), at most value_cap; (draws, n_arms), money."""
        size = (int(draws), self.n_arms)
        sigma2 = self.scale / rng.gamma(self.shape, 1.0, size=size)  # InvGamma(a, b) = b / Gamma(a, 1)
        mu = self.location + np.sqrt(sigma2 / self.kappa) * rng.standard_normal(size)
        return np.minimum(np.exp(np.minimum(mu + sigma2 / 2.0, _MAX_LOG_VALUE)), self.value_cap)


@dataclass(frozen=True)
class RevenuePosterior:
    """Revenue per impression = P(purchase) x mean order value, per arm (see module docstring)."""

    purchase: BetaBernoulli
    order_value: OrderValuePosterior
    # Observed totals, (n_arms,) each, kept only for reporting the observed AOV; empty if unknown.
    observed_purchases: np.ndarray = field(default_factory=lambda: np.zeros(0))
    observed_revenue: np.ndarray = field(default_factory=lambda: np.zeros(0))

    reward_kind: ClassVar[str] = "value"

    def __post_init__(self) -> None:
        if self.purchase.n_arms != self.order_value.n_arms:
            raise BanditError("purchase and order_value posteriors must have the same arms")
        for name in ("observed_purchases", "observed_revenue"):
            observed = float_array(name, getattr(self, name))
            if len(observed) not in (0, self.purchase.n_arms):
                raise BanditError(f"{name} must be empty or have one value per arm")
            check_nonnegative(name, observed)
            object.__setattr__(self, name, observed)

    @classmethod
    def from_stats(
        cls,
        purchases: ArrayLike,
        impressions: ArrayLike,
        revenue_sum: ArrayLike,
        log_revenue_sum: ArrayLike,
        log_revenue_sq_sum: ArrayLike,
        *,
        purchase_prior: tuple[ArrayLike, ArrayLike] = DEFAULT_PRIOR,
        order_value_prior: LogNormalPrior | None = None,
        value_cap: float = float("inf"),
    ) -> RevenuePosterior:
        """Posterior from per-arm running sums, each (n_arms,).

        order_value_prior: build it with `LogNormalPrior.from_values` from the shop's order values
        (or catalog prices); value_cap: the cap applied to the order values in the sums (money).

        purchases: impressions with a purchase (an impression's orders are added into one value y > 0);
        impressions: all impressions; revenue_sum: sum of y (only for reporting the observed AOV);
        log_revenue_sum: sum of log y; log_revenue_sq_sum: sum of (log y)^2.
        """
        purchase = BetaBernoulli.from_counts(purchases, impressions, prior=purchase_prior)
        order_value = OrderValuePosterior.from_log_stats(
            purchases, log_revenue_sum, log_revenue_sq_sum, order_value_prior or LogNormalPrior(), value_cap
        )
        return cls(
            purchase=purchase,
            order_value=order_value,
            observed_purchases=float_array("purchases", purchases),
            observed_revenue=float_array("revenue_sum", revenue_sum),
        )

    @property
    def n_arms(self) -> int:
        return self.purchase.n_arms

    def mean(self) -> np.ndarray:
        """Revenue per impression, E[p] x plug-in mean order value; (n_arms,), money per impression."""
        return self.purchase.mean() * self.order_value.mean()

    def aov(self) -> OrderValuePosterior:
        """The average-order-value part alone, to report AOV uplift with `uplift_vs_control`."""
        return self.order_value

    def observed_aov(self) -> np.ndarray:
        """Observed revenue_sum / purchases; (n_arms,), NaN for an arm without purchases."""
        if len(self.observed_revenue) == 0 or len(self.observed_purchases) == 0:
            raise BanditError(
                "observed AOV needs revenue_sum and purchases; build the posterior with from_stats"
            )
        purchases = self.observed_purchases
        return np.divide(
            self.observed_revenue, purchases, out=np.full(self.n_arms, np.nan), where=purchases > 0
        )

    def sample(self, draws: int, rng: np.random.Generator) -> np.ndarray:
        """Draws of revenue per impression p x exp(mu + sigma^2 / 2); (draws, n_arms)."""
        return self.purchase.sample(draws, rng) * self.order_value.sample(draws, rng)

    def interval(
        self, level: float = 0.95, draws: int = 100_000, seed: int | None = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Equal-tailed Monte Carlo credible interval of revenue per impression; 2 x (n_arms,)."""
        samples = self.sample(draws, np.random.default_rng(seed))
        tail = (1.0 - level) / 2.0
        low, high = np.quantile(samples, [tail, 1.0 - tail], axis=0)
        return low, high
