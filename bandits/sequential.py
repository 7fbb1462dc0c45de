"""Always-valid inference for a fixed split: mSPRT p-values and confidence sequences.

Johari, Koomen, Pekelis and Walsh 2017, "Peeking at A/B tests: why it matters, and what to do about
it" (KDD): a mixture sequential probability ratio test that may be checked after every batch without
inflating the type-I error. For the difference of two proportions, theta = p_b - p_a, with estimate
d_n = s_b / n_b - s_a / n_a and variance V_n = pa (1 - pa) / n_a + pb (1 - pb) / n_b (normal
approximation, rates smoothed as (s + 0.5) / (n + 1)), and a N(0, tau^2) mixture over theta:
  Lambda_n(theta0) = sqrt(V_n / (V_n + tau^2)) exp(tau^2 (d_n - theta0)^2 / (2 V_n (V_n + tau^2)))
  p_n = min(1, min_{m <= n} 1 / Lambda_m(0))                              (always-valid p-value)
  CS_n = {theta0 : Lambda_n(theta0) < 1 / alpha}                         (confidence sequence)
       = [d_n -+ r_n],  r_n^2 = 2 V_n (V_n + tau^2) / tau^2 (log(1 / alpha) + log(sqrt((V_n + tau^2) / V_n)))
P(theta in CS_n for every n) >= 1 - alpha, so any look may be read, and stopping anywhere is safe.
Reject "no difference" the first time p_n <= alpha. tau is the scale of differences you expect
(default 0.01, one percentage point); the test is valid for any tau, a good one makes it faster.
With equal n this is the paper's formula with sigma^2 / n = V_n.
Clustered units (sessions, users): each arm's variance is multiplied by its design effect deff >= 1
(`bandits.clustered`), which makes V_n the cluster-robust (delta-method) variance of the rate; with
deff = 1 (the default) nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bandits._validation import ArrayLike, check_probability, float_array
from bandits.errors import BanditError

DEFAULT_TAU = 0.01


@dataclass(frozen=True)
class SequentialTest:
    """mSPRT state at each look; arrays (..., n_looks) following the inputs' shape."""

    difference: np.ndarray
    p_value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    reject: np.ndarray
    alpha: float
    tau: float


def _smoothed_variance(successes: np.ndarray, trials: np.ndarray) -> np.ndarray:
    rate = (successes + 0.5) / (trials + 1.0)
    with np.errstate(divide="ignore"):
        return np.where(trials > 0, rate * (1.0 - rate) / np.maximum(trials, 1.0), np.inf)


def _broadcast(array: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    try:
        return np.broadcast_to(array, shape)
    except ValueError as exc:
        raise BanditError(f"{name} must be a scalar or broadcast to the counts' shape {shape}") from exc


def msprt_two_proportions(
    successes_a: ArrayLike,
    trials_a: ArrayLike,
    successes_b: ArrayLike,
    trials_b: ArrayLike,
    *,
    tau: float = DEFAULT_TAU,
    alpha: float = 0.05,
    design_effect_a: ArrayLike = 1.0,
    design_effect_b: ArrayLike = 1.0,
) -> SequentialTest:
    """Always-valid p-values and confidence sequence for p_b - p_a at each look.

    Inputs: cumulative counts at each look, shape (..., n_looks) (a trailing look axis; leading axes,
    e.g. simulated runs, are carried along). A single look may be given as scalars.
    design_effect_a, design_effect_b: each arm's design effect (>= 1) at each look, broadcast to the
    counts' shape; it scales that arm's variance (see the module docstring).
    """
    alpha = check_probability("alpha", alpha)
    if not tau > 0:
        raise BanditError(f"tau must be > 0 (scale of plausible differences), got {tau}")
    s_a, n_a, s_b, n_b = (
        np.atleast_1d(float_array(name, value, ndim=None))
        for name, value in (
            ("successes_a", successes_a),
            ("trials_a", trials_a),
            ("successes_b", successes_b),
            ("trials_b", trials_b),
        )
    )
    if not s_a.shape == n_a.shape == s_b.shape == n_b.shape:
        raise BanditError("all four count arrays must have the same shape (..., n_looks)")
    if np.any(s_a < 0) or np.any(s_b < 0) or np.any(s_a > n_a) or np.any(s_b > n_b):
        raise BanditError("need 0 <= successes <= trials at every look")
    difference = np.divide(s_b, n_b, out=np.zeros_like(s_b), where=n_b > 0) - np.divide(
        s_a, n_a, out=np.zeros_like(s_a), where=n_a > 0
    )
    deff_a, deff_b = (
        _broadcast(float_array(name, value, ndim=None), s_a.shape, name)
        for name, value in (("design_effect_a", design_effect_a), ("design_effect_b", design_effect_b))
    )
    if np.any(deff_a < 1.0) or np.any(deff_b < 1.0):
        raise BanditError("design effects must be >= 1 (see bandits.clustered)")
    variance = deff_a * _smoothed_variance(s_a, n_a) + deff_b * _smoothed_variance(s_b, n_b)
    tau2 = tau * tau
    finite = np.isfinite(variance)
    v = np.where(finite, variance, 1.0)
    log_lambda = 0.5 * np.log(v / (v + tau2)) + tau2 * difference**2 / (2.0 * v * (v + tau2))
    log_lambda = np.where(finite, log_lambda, 0.0)
    p_value = np.minimum.accumulate(np.minimum(1.0, np.exp(-log_lambda)), axis=-1)
    radius_sq = 2.0 * v * (v + tau2) / tau2 * (np.log(1.0 / alpha) + 0.5 * np.log((v + tau2) / v))
    radius = np.where(finite, np.sqrt(radius_sq), np.inf)
    # Each look's own interval, not the running intersection: the normal approximation with a
    # plug-in variance can make that intersection empty, which would read as a broken analysis.
    ci_low = difference - radius
    ci_high = difference + radius
    return SequentialTest(
        difference=difference,
        p_value=p_value,
        ci_low=ci_low,
        ci_high=ci_high,
        reject=p_value <= alpha,
        alpha=alpha,
        tau=float(tau),
    )
