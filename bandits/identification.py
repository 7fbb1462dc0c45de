"""Best-arm identification with a guarantee: the GLR (Chernoff) stopping rule for Bernoulli arms.

Garivier and Kaufmann 2016, "Optimal best arm identification with fixed confidence" (COLT), section 3.
With N_k trials and empirical rates mu_k, the leader a = argmax mu_k, and for every other arm b

    Z_{a,b} = N_a kl(mu_a, mu_ab) + N_b kl(mu_b, mu_ab),   mu_ab = (N_a mu_a + N_b mu_b) / (N_a + N_b),

(Z_{a,b} = 0 when mu_b >= mu_a), kl the Bernoulli Kullback-Leibler divergence. Stop at the first look
t = sum N_k with min_b Z_{a,b} > beta(t, delta) and pick a. With

    beta(t, delta) = log(2 t (K - 1) / delta)                              (their Proposition 12)

P(stop and pick a wrong arm) <= delta for ANY sampling rule (thompson, top-two, an even split) and any
schedule of looks (checking only after each batch looks at a subset of times, which keeps the bound).
So the correct rate is at least 1 - delta, unlike the P(best) >= 0.95 rule, which is checked after
every batch and so is not a guarantee. The price is samples: the threshold grows with log t.
"""

from __future__ import annotations

import numpy as np

from bandits._validation import check_probability
from bandits.errors import BanditError

_EDGE = 1e-12


def bernoulli_kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """kl(p, q) = p log(p / q) + (1 - p) log((1 - p) / (1 - q)) in nats, elementwise; 0 log 0 = 0."""
    p = np.clip(p, 0.0, 1.0)
    q = np.clip(q, _EDGE, 1.0 - _EDGE)
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.where(p > 0, p * np.log(p / q), 0.0)
        second = np.where(p < 1, (1.0 - p) * np.log((1.0 - p) / (1.0 - q)), 0.0)
    return np.asarray(first + second, dtype=np.float64)


def glr_statistic(successes: np.ndarray, trials: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Leader and min_b Z_{leader,b} (nats) per row; successes, trials (..., K) -> (...,) int, (...,) float.

    An arm without trials makes the statistic 0 (nothing is known yet).
    """
    successes = np.asarray(successes, dtype=np.float64)
    trials = np.asarray(trials, dtype=np.float64)
    if successes.shape != trials.shape or successes.shape[-1] < 2:
        raise BanditError("successes and trials must have the same shape (..., K) with K >= 2")
    if np.any(successes < 0) or np.any(successes > trials):
        raise BanditError("need 0 <= successes <= trials")
    rate = np.divide(successes, trials, out=np.zeros_like(successes), where=trials > 0)
    leader = np.argmax(rate, axis=-1)
    rate_a = np.take_along_axis(rate, leader[..., None], axis=-1)
    trials_a = np.take_along_axis(trials, leader[..., None], axis=-1)
    pooled_trials = trials_a + trials
    pooled = np.divide(
        trials_a * rate_a + trials * rate, pooled_trials, out=np.zeros_like(rate), where=pooled_trials > 0
    )
    z = trials_a * bernoulli_kl(rate_a, pooled) + trials * bernoulli_kl(rate, pooled)
    z = np.where(rate >= rate_a, 0.0, z)  # ties and the leader itself: no evidence
    np.put_along_axis(z, leader[..., None], np.inf, axis=-1)
    statistic = np.min(z, axis=-1)
    statistic = np.where(np.all(trials > 0, axis=-1), statistic, 0.0)
    return leader, statistic


def chernoff_threshold(total_trials: np.ndarray | float, delta: float, n_arms: int) -> np.ndarray:
    """beta(t, delta) = log(2 t (K - 1) / delta) (nats), Garivier and Kaufmann 2016, Proposition 12."""
    delta = check_probability("delta", delta)
    if n_arms < 2:
        raise BanditError(f"n_arms must be >= 2, got {n_arms}")
    t = np.maximum(np.asarray(total_trials, dtype=np.float64), 1.0)
    return np.asarray(np.log(2.0 * t * (n_arms - 1) / delta), dtype=np.float64)


def chernoff_stop(successes: np.ndarray, trials: np.ndarray, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row: stop (bool) and the arm to pick (the empirical leader); arrays (..., K).

    P(any stop picks a wrong arm) <= delta, whatever the sampling rule (module docstring).
    """
    leader, statistic = glr_statistic(successes, trials)
    total = np.asarray(trials, dtype=np.float64).sum(axis=-1)
    threshold = chernoff_threshold(total, delta, np.shape(trials)[-1])
    return statistic > threshold, leader
