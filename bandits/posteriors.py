"""Beta-Bernoulli posteriors of per-arm conversion rates, and the sampling protocol all posteriors share.

Every posterior in this package exposes `n_arms`, `mean()` and `sample(draws, rng) -> (draws, n_arms)`,
so the Monte Carlo decision rules (`prob_best`, `expected_loss`, `uplift_vs_control`, allocation)
work on any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np
from scipy import stats

from bandits._validation import (
    ArrayLike,
    check_nonnegative,
    check_positive,
    check_probability,
    check_same_length,
    float_array,
)
from bandits.errors import BanditError

DEFAULT_PRIOR = (1.0, 1.0)


@runtime_checkable
class Posterior(Protocol):
    """What the Monte Carlo decision rules need from a posterior."""

    reward_kind: ClassVar[str]  # "rate" (a probability) or "value" (e.g. revenue per impression)

    @property
    def n_arms(self) -> int: ...

    def mean(self) -> np.ndarray: ...

    def sample(self, draws: int, rng: np.random.Generator) -> np.ndarray: ...


@dataclass(frozen=True)
class BetaBernoulli:
    """Independent Beta(alpha_k, beta_k) posteriors of each arm's success probability.

    alpha, beta: (n_arms,) float64 > 0. With a Beta(a0, b0) prior and s successes in n trials the
    posterior is Beta(a0 + s, b0 + n - s) (conjugacy of Beta and Bernoulli).
    """

    alpha: np.ndarray
    beta: np.ndarray

    reward_kind: ClassVar[str] = "rate"

    def __post_init__(self) -> None:
        alpha = float_array("alpha", self.alpha)
        beta = float_array("beta", self.beta)
        check_same_length(alpha=alpha, beta=beta)
        if len(alpha) == 0:
            raise BanditError("a posterior needs at least one arm")
        check_positive("alpha", alpha)
        check_positive("beta", beta)
        object.__setattr__(self, "alpha", alpha)
        object.__setattr__(self, "beta", beta)

    @classmethod
    def from_counts(
        cls,
        successes: ArrayLike,
        trials: ArrayLike,
        prior: tuple[ArrayLike, ArrayLike] = DEFAULT_PRIOR,
    ) -> BetaBernoulli:
        """Posterior from per-arm counts; successes, trials: (n_arms,), 0 <= successes <= trials.

        Counts may be non-integer (discounted or windowed statistics, see `bandits.nonstationary`).
        prior: (a0, b0), each a scalar or an (n_arms,) array, e.g. from `informative_prior`.
        """
        successes_arr = float_array("successes", successes)
        trials_arr = float_array("trials", trials)
        check_same_length(successes=successes_arr, trials=trials_arr)
        check_nonnegative("successes", successes_arr)
        if np.any(successes_arr > trials_arr):
            raise BanditError(f"successes must be <= trials, got {successes_arr} > {trials_arr}")
        a0, b0 = _prior_arrays(prior, len(trials_arr))
        return cls(alpha=a0 + successes_arr, beta=b0 + trials_arr - successes_arr)

    @staticmethod
    def informative_prior(successes: ArrayLike, trials: ArrayLike, ess: float = 100.0) -> tuple[float, float]:
        """Beta(a0, b0) prior from a slot's history, shrunk to an effective sample size `ess` (trials).

        successes, trials: scalars or arrays, summed (e.g. the slot's past arms or days).
        Centre p = (s + 1) / (n + 2) (the history's posterior mean under Beta(1, 1)); weight
        m = min(ess, n + 2) pseudo-trials, so a prior is never stronger than the history behind it;
        returns (p * m, (1 - p) * m). No history gives Beta(1, 1).
        Why shrink: past traffic was served by other variants and seasons, so it says where rates
        usually are, not what this arm does; a small `ess` lets ~`ess` new trials outweigh it.
        """
        total_successes = float(np.sum(float_array("successes", successes, ndim=None)))
        total_trials = float(np.sum(float_array("trials", trials, ndim=None)))
        if total_successes < 0 or total_successes > total_trials:
            raise BanditError(f"need 0 <= successes <= trials, got {total_successes} and {total_trials}")
        if not ess > 0:
            raise BanditError(f"ess must be > 0, got {ess}")
        centre = (total_successes + 1.0) / (total_trials + 2.0)
        weight = min(float(ess), total_trials + 2.0)
        return centre * weight, (1.0 - centre) * weight

    @property
    def n_arms(self) -> int:
        return len(self.alpha)

    def updated(self, successes: ArrayLike, trials: ArrayLike) -> BetaBernoulli:
        """This posterior after more per-arm counts (successes, trials: (n_arms,))."""
        return BetaBernoulli.from_counts(successes, trials, prior=(self.alpha, self.beta))

    def mean(self) -> np.ndarray:
        """Posterior mean alpha / (alpha + beta); (n_arms,)."""
        return self.alpha / (self.alpha + self.beta)

    def variance(self) -> np.ndarray:
        """Posterior variance a b / ((a + b)^2 (a + b + 1)); (n_arms,)."""
        total = self.alpha + self.beta
        return self.alpha * self.beta / (total * total * (total + 1.0))

    def interval(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Equal-tailed credible interval (low, high), each (n_arms,), from the Beta quantiles."""
        level = check_probability("level", level)
        tail = (1.0 - level) / 2.0
        low = stats.beta.ppf(tail, self.alpha, self.beta)
        high = stats.beta.isf(tail, self.alpha, self.beta)
        return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)

    def sample(self, draws: int, rng: np.random.Generator) -> np.ndarray:
        """Joint posterior draws; (draws, n_arms) float64, arms independent."""
        return rng.beta(self.alpha, self.beta, size=(int(draws), self.n_arms))

    def subset(self, arms: ArrayLike) -> BetaBernoulli:
        """The posterior restricted to the given arm indices (or boolean mask)."""
        index = np.asarray(arms)
        return BetaBernoulli(alpha=self.alpha[index], beta=self.beta[index])


def _prior_arrays(prior: tuple[ArrayLike, ArrayLike], n_arms: int) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(prior, tuple | list) or len(prior) != 2:
        raise BanditError(f"prior must be a pair (a0, b0), got {prior!r}")
    a0 = _per_arm("prior a0", prior[0], n_arms)
    b0 = _per_arm("prior b0", prior[1], n_arms)
    check_positive("prior a0", a0)
    check_positive("prior b0", b0)
    return a0, b0


def _per_arm(name: str, value: ArrayLike, n_arms: int) -> np.ndarray:
    array = float_array(name, value, ndim=None)
    if array.ndim > 1 or (array.ndim == 1 and len(array) != n_arms):
        raise BanditError(f"{name} must be a scalar or have one value per arm ({n_arms}), got {array.shape}")
    return np.broadcast_to(array, (n_arms,))
