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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from bandits._validation import ArrayLike, check_nonnegative, check_positive, check_same_length, float_array
from bandits.errors import BanditError
from bandits.posteriors import DEFAULT_PRIOR, BetaBernoulli

_MAX_LOG_VALUE = 700.0  # exp(700) ~ 1e304, still finite in float64


@dataclass(frozen=True)
class LogNormalPrior:
    """Normal-Inverse-Gamma prior on (mu, sigma^2) of log order value.

    Defaults: sigma^2 has prior mean b0 / (a0 - 1) = 1 (typical log order values have sigma 0.5-1.2)
    with a0 = 3 keeping its tail light; kappa0 = 0.01 makes mu's prior worth 1% of one purchase,
    so m0 (log currency units) hardly matters once an arm has a few purchases.
    """

    mean: float = 0.0
    kappa: float = 0.01
    shape: float = 3.0
    scale: float = 2.0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.mean) and self.kappa > 0 and self.shape > 1 and self.scale > 0):
            raise BanditError(
                f"LogNormalPrior needs finite mean, kappa > 0, shape > 1 and scale > 0, got {self}"
            )


@dataclass(frozen=True)
class OrderValuePosterior:
    """Per-arm Normal-Inverse-Gamma posterior of log order value; all fields (n_arms,).

    Its `sample` draws the mean order value exp(mu + sigma^2 / 2), so `prob_best` and
    `uplift_vs_control` on it report average-order-value (AOV) comparisons on their own.
    """

    location: np.ndarray
    kappa: np.ndarray
    shape: np.ndarray
    scale: np.ndarray

    reward_kind: ClassVar[str] = "value"

    def __post_init__(self) -> None:
        names = ("location", "kappa", "shape", "scale")
        arrays = {name: float_array(name, getattr(self, name)) for name in names}
        check_same_length(**arrays)
        for name in ("kappa", "shape", "scale"):
            check_positive(name, arrays[name])
        if np.any(arrays["shape"] <= 1):
            raise BanditError("shape must be > 1 so that sigma^2 has a posterior mean; use a0 > 1")
        for name, array in arrays.items():
            object.__setattr__(self, name, array)

    @classmethod
    def from_log_stats(
        cls,
        purchases: ArrayLike,
        log_revenue_sum: ArrayLike,
        log_revenue_sq_sum: ArrayLike,
        prior: LogNormalPrior,
    ) -> OrderValuePosterior:
        """NIG posterior from n, sum log y and sum (log y)^2 per arm (see module docstring)."""
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
        return cls(location=location, kappa=kappa_n, shape=shape, scale=scale)

    @property
    def n_arms(self) -> int:
        return len(self.location)

    def mean(self) -> np.ndarray:
        """Plug-in mean order value exp(m_n + (1 + 1/kappa_n) E[sigma^2] / 2); (n_arms,), money."""
        sigma2 = self.scale / (self.shape - 1.0)
        return np.exp(np.minimum(self.location + (1.0 + 1.0 / self.kappa) * sigma2 / 2.0, _MAX_LOG_VALUE))

    def sample(self, draws: int, rng: np.random.Generator) -> np.ndarray:
        """Draws of the mean order value exp(mu + sigma^2 / 2); (draws, n_arms), money."""
        size = (int(draws), self.n_arms)
        sigma2 = self.scale / rng.gamma(self.shape, 1.0, size=size)  # InvGamma(a, b) = b / Gamma(a, 1)
        mu = self.location + np.sqrt(sigma2 / self.kappa) * rng.standard_normal(size)
        return np.exp(np.minimum(mu + sigma2 / 2.0, _MAX_LOG_VALUE))


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
    ) -> RevenuePosterior:
        """Posterior from per-arm running sums, each (n_arms,).

        purchases: impressions with a purchase (an impression's orders are added into one value y > 0);
        impressions: all impressions; revenue_sum: sum of y (only for reporting the observed AOV);
        log_revenue_sum: sum of log y; log_revenue_sq_sum: sum of (log y)^2.
        """
        purchase = BetaBernoulli.from_counts(purchases, impressions, prior=purchase_prior)
        order_value = OrderValuePosterior.from_log_stats(
            purchases, log_revenue_sum, log_revenue_sq_sum, order_value_prior or LogNormalPrior()
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
