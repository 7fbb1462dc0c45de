"""Clustered units: cluster-robust (delta-method) variance of a rate, the design effect, and the
tempered Beta posterior built from them.

When an experiment randomizes sessions or users, the decisions of one unit share that unit's
propensity, so they are not independent Bernoulli trials. With unit i of an arm showing n_i
decisions and y_i successes, the arm's rate is the ratio estimator p = Y / N (Y = sum y_i,
N = sum n_i over its m units). By the delta method (Cochran 1977, "Sampling Techniques", 6.11;
the CR1 sandwich of a one-regressor model), with the small-sample factor m / (m - 1):

  Var(p) = m / (m - 1) * sum_i (y_i - p n_i)^2 / N^2
         = m / (m - 1) * (Syy - 2 p Sny + p^2 Snn) / N^2

where Snn = sum n_i^2, Syy = sum y_i^2, Sny = sum n_i y_i: six running sums per arm (m, N, Y, Snn,
Syy, Sny), which a stream of per-unit increments keeps exactly (see `unit_sums_change`).

The design effect (Kish 1965) is deff = Var(p) / (p (1 - p) / N), floored at 1: the binomial
variance is what independent decisions would give, and a shopper's clicks are not negatively
correlated, so deff < 1 is the estimate's own noise (with one decision per unit it is m / (m - 1)).
The floor also means a clustered analysis is never more confident than the per-decision one.
Effective sample size: N / deff.

The tempered posterior Beta(a0 + Y / deff, b0 + (N - Y) / deff) raises the binomial likelihood to
the power 1 / deff, so its variance is the cluster-robust one (magnitude adjustment of a
misspecified likelihood to its sandwich variance; Ribatet, Cooley and Davison 2012, Statistica
Sinica 22; Pauli, Racugno and Ventura 2011). Allocation, P(best), expected loss, the stopping
rule, the credible intervals and the uplift all read that one posterior; the mSPRT scales its
variance by the same deff.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bandits._validation import ArrayLike, float_array
from bandits.errors import BanditError
from bandits.posteriors import DEFAULT_PRIOR, BetaBernoulli

DESIGN_EFFECT_FLOOR = 1.0
SUM_FIELDS = ("units", "trials", "successes", "trials_sq", "successes_sq", "cross")


@dataclass(frozen=True)
class ClusterSums:
    """Per-arm sums over randomization units; every field the same shape, e.g. (n_arms,).

    units: m, units with at least one decision; trials: N = sum n_i; successes: Y = sum y_i;
    trials_sq: sum n_i^2; successes_sq: sum y_i^2; cross: sum n_i y_i (0 <= y_i <= n_i).
    Arrays of any shape are accepted (a simulation may carry (runs, arms, looks)).
    """

    units: np.ndarray
    trials: np.ndarray
    successes: np.ndarray
    trials_sq: np.ndarray
    successes_sq: np.ndarray
    cross: np.ndarray

    def __post_init__(self) -> None:
        arrays = {name: float_array(name, getattr(self, name), ndim=None) for name in SUM_FIELDS}
        shapes = {a.shape for a in arrays.values()}
        if len(shapes) != 1:
            found = {name: array.shape for name, array in arrays.items()}
            raise BanditError(f"cluster sums must share one shape, got {found}")
        if any(np.any(a < 0) for a in arrays.values()):
            raise BanditError("cluster sums must be >= 0")
        if np.any(arrays["successes"] > arrays["trials"]):
            raise BanditError("successes must be <= trials in every arm")
        for name, array in arrays.items():
            object.__setattr__(self, name, array)

    @classmethod
    def from_units(cls, arm: ArrayLike, trials: ArrayLike, successes: ArrayLike, n_arms: int) -> ClusterSums:
        """Sums from per-unit totals; arm, trials, successes: (n_units,), arm in [0, n_arms)."""
        index = np.asarray(arm, dtype=np.int64)
        n = float_array("trials", trials)
        y = float_array("successes", successes)
        if not index.shape == n.shape == y.shape:
            raise BanditError("arm, trials and successes need one value per unit")
        if np.any(index < 0) or np.any(index >= n_arms):
            raise BanditError(f"arm indices must be in [0, {n_arms})")

        def per_arm(values: np.ndarray) -> np.ndarray:
            return np.bincount(index, weights=values, minlength=n_arms).astype(np.float64)

        return cls(
            units=per_arm((n > 0).astype(np.float64)),
            trials=per_arm(n),
            successes=per_arm(y),
            trials_sq=per_arm(n * n),
            successes_sq=per_arm(y * y),
            cross=per_arm(n * y),
        )

    def rate_variance(self) -> np.ndarray:
        """Delta-method (cluster-robust) variance of Y / N; NaN where m < 2 or N = 0."""
        m, total = self.units, self.trials
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(total > 0, self.successes / np.maximum(total, 1.0), 0.0)
            residual = self.successes_sq - 2.0 * rate * self.cross + rate * rate * self.trials_sq
            # Rounding can leave a tiny negative residual when every unit has the same rate.
            variance = m / (m - 1.0) * np.maximum(residual, 0.0) / (total * total)
        return np.where((m >= 2) & (total > 0), variance, np.nan)

    def design_effect(self) -> np.ndarray:
        """Var(p) over the binomial p (1 - p) / N, floored at 1; 1 where either is undefined or 0."""
        total = self.trials
        rate = np.where(total > 0, self.successes / np.maximum(total, 1.0), 0.0)
        binomial = rate * (1.0 - rate) / np.maximum(total, 1.0)
        clustered = self.rate_variance()
        defined = np.isfinite(clustered) & (binomial > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(defined, clustered / np.where(defined, binomial, 1.0), DESIGN_EFFECT_FLOOR)
        return np.maximum(ratio, DESIGN_EFFECT_FLOOR)

    def effective_trials(self) -> np.ndarray:
        """Effective sample size N / deff: the independent decisions worth as much information."""
        return self.trials / self.design_effect()


def tempered_posterior(
    successes: ArrayLike,
    trials: ArrayLike,
    design_effect: ArrayLike,
    prior: tuple[ArrayLike, ArrayLike] = DEFAULT_PRIOR,
) -> BetaBernoulli:
    """Beta(a0 + s / deff, b0 + (n - s) / deff) per arm; successes, trials, design_effect: (n_arms,).

    With deff = 1 this is exactly `BetaBernoulli.from_counts(successes, trials, prior)`.
    """
    deff = float_array("design_effect", design_effect)
    if np.any(deff < DESIGN_EFFECT_FLOOR):
        raise BanditError(f"design_effect must be >= {DESIGN_EFFECT_FLOOR}, got {deff}")
    s = float_array("successes", successes)
    n = float_array("trials", trials)
    if not s.shape == n.shape == deff.shape:
        raise BanditError("successes, trials and design_effect need one value per arm")
    if np.all(deff == 1.0):
        return BetaBernoulli.from_counts(s, n, prior=prior)
    return BetaBernoulli.from_counts(s / deff, n / deff, prior=prior)


def unit_sums_change(
    old_trials: ArrayLike, old_successes: ArrayLike, trial_increment: ArrayLike, success_increment: ArrayLike
) -> dict[str, np.ndarray]:
    """What adding (dn, dy) to units that had (n, y) adds to each of `SUM_FIELDS`, per unit.

    All inputs (n_units,); old_trials = 0 means the unit is new to the arm. Sum the result over the
    units of an arm to update its `ClusterSums` (the squares telescope, so any order of batches
    gives the same sums).
    """
    n0 = float_array("old_trials", old_trials)
    y0 = float_array("old_successes", old_successes)
    dn = float_array("trial_increment", trial_increment)
    dy = float_array("success_increment", success_increment)
    n1, y1 = n0 + dn, y0 + dy
    return {
        "units": ((n0 == 0) & (n1 > 0)).astype(np.float64),
        "trials": dn,
        "successes": dy,
        "trials_sq": n1 * n1 - n0 * n0,
        "successes_sq": y1 * y1 - y0 * y0,
        "cross": n1 * y1 - n0 * y0,
    }
