"""Allocation weights: the share of the next traffic each arm of an experiment gets.

Policies
  thompson          probability matching: w_i = P(arm i is best) (Thompson 1933; batched form of
                    Thompson sampling as in Scott 2010, "A modern Bayesian look at the multi-armed bandit").
  top_two_thompson  Russo 2016, "Simple Bayesian algorithms for best arm identification": with prob beta
                    play the sampled leader I1, else the challenger I2 = argmax of a resample, redrawn until
                    I2 != I1. Exactly, with a_i = P(best_i):
                        w_j = beta a_j + (1 - beta) sum_{i != j} a_i a_j / (1 - a_i).
                    It keeps ~(1 - beta) of traffic on challengers, so it identifies the best arm faster
                    than thompson (which starves the runner-up) at the cost of some regret.
  fixed             the given weights (an A/B/n split).
Then, for every policy: arms not `live` get 0; during burn-in (some live arm has fewer than `burn_in`
trials) the split is even; finally a `floor` (total exploration share) mixes in the even split,
w <- (1 - floor) w + floor / K_live, so every live arm keeps at least floor / K_live.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bandits._random import generator_from
from bandits._validation import ArrayLike, check_draws, check_nonnegative, float_array
from bandits.decisions import win_counts
from bandits.errors import BanditError
from bandits.posteriors import Posterior

POLICIES = ("thompson", "top_two_thompson", "fixed")
DEFAULT_ALLOCATION_DRAWS = 10_000


def top_two_weights(prob_best: np.ndarray, runner_up: np.ndarray, beta: float = 0.5) -> np.ndarray:
    """Top-two Thompson allocation from P(best); prob_best, runner_up: (*batch, K) -> (*batch, K).

    runner_up: share of draws in which each arm is second; used only for a leader that won every
    draw (a_i = 1), where "resample until another arm leads" has no Monte Carlo estimate and the
    runner-up of the same draws is its first-order stand-in.
    """
    alpha = np.asarray(prob_best, dtype=np.float64)
    spread = 1.0 - alpha
    degenerate = spread <= 0.0
    inverse_spread = np.divide(1.0, spread, out=np.zeros_like(spread), where=~degenerate)
    # sum_{i != j} a_i a_j / (1 - a_i) = a_j (sum_i a_i / (1 - a_i) - a_j / (1 - a_j))
    leader_mass = np.sum(alpha * inverse_spread, axis=-1, keepdims=True)
    challenger = alpha * (leader_mass - alpha * inverse_spread)
    degenerate_mass = np.sum(np.where(degenerate, alpha, 0.0), axis=-1, keepdims=True)
    challenger = challenger + degenerate_mass * runner_up
    return beta * alpha + (1.0 - beta) * challenger


def weights_from_samples(samples: np.ndarray, policy: str, top_two_beta: float = 0.5) -> np.ndarray:
    """thompson or top_two_thompson weights from posterior draws (draws, *batch, K) -> (*batch, K).

    Arms to exclude should carry -inf in their columns.
    """
    draws = samples.shape[0]
    prob = win_counts(samples) / draws
    if policy == "thompson":
        return prob
    if policy != "top_two_thompson":
        raise BanditError(f"policy must be thompson or top_two_thompson here, got {policy!r}")
    if np.any(prob >= 1.0):
        leaders = np.argmax(samples, axis=-1)[..., None]
        masked = samples.copy()
        np.put_along_axis(masked, leaders, -np.inf, axis=-1)
        runner_up = win_counts(masked) / draws
    else:
        runner_up = np.zeros_like(prob)
    return top_two_weights(prob, runner_up, top_two_beta)


def apply_floor(weights: np.ndarray, floor: float, live: np.ndarray) -> np.ndarray:
    """w <- (1 - floor) w + floor / K_live on live arms; weights (*batch, K), live (K,) bool."""
    n_live = int(np.count_nonzero(live))
    even = np.where(live, 1.0 / n_live, 0.0)
    return (1.0 - floor) * weights + floor * even


def allocation_weights(
    post: Posterior,
    policy: str = "thompson",
    *,
    floor: float = 0.0,
    burn_in: int = 0,
    trials: ArrayLike | None = None,
    fixed_weights: ArrayLike | None = None,
    live: Sequence[bool] | np.ndarray | None = None,
    draws: int = DEFAULT_ALLOCATION_DRAWS,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    top_two_beta: float = 0.5,
) -> np.ndarray:
    """Traffic share per arm; (n_arms,) float64 >= 0 summing to 1 (see module docstring for the rules).

    floor: total exploration share in [0, 1). burn_in: trials every live arm needs before the policy
    takes over (needs `trials`, (n_arms,)). fixed_weights: (n_arms,) >= 0 for policy "fixed".
    live: (n_arms,) bool, False for paused arms. draws: Monte Carlo draws for P(best).
    """
    n_arms = post.n_arms
    live_mask = _live_mask(live, n_arms)
    floor = _check_floor(floor)
    if policy not in POLICIES:
        raise BanditError(f"policy must be one of {POLICIES}, got {policy!r}")
    if not 0.0 <= top_two_beta <= 1.0:
        raise BanditError(f"top_two_beta must be in [0, 1], got {top_two_beta}")
    generator = generator_from(seed, rng)
    if _in_burn_in(burn_in, trials, live_mask):
        weights = np.where(live_mask, 1.0, 0.0)
    elif policy == "fixed":
        weights = _fixed(fixed_weights, live_mask)
    elif np.count_nonzero(live_mask) == 1:
        weights = live_mask.astype(np.float64)
    else:
        samples = post.sample(check_draws(draws), generator)
        samples[:, ~live_mask] = -np.inf
        weights = weights_from_samples(samples, policy, top_two_beta)
    weights = apply_floor(weights / weights.sum(), floor, live_mask)
    weights[~live_mask] = 0.0
    return weights / weights.sum()


def _live_mask(live: Sequence[bool] | np.ndarray | None, n_arms: int) -> np.ndarray:
    if live is None:
        return np.ones(n_arms, dtype=bool)
    mask = np.asarray(live)
    if mask.shape != (n_arms,) or mask.dtype != bool:
        raise BanditError(f"live must be {n_arms} booleans, got {live!r}")
    if not mask.any():
        raise BanditError("at least one arm must be live")
    return mask


def _check_floor(floor: float) -> float:
    floor = float(floor)
    if not 0.0 <= floor < 1.0:
        raise BanditError(f"floor is the total exploration share and must be in [0, 1), got {floor}")
    return floor


def _in_burn_in(burn_in: int, trials: ArrayLike | None, live: np.ndarray) -> bool:
    if burn_in < 0:
        raise BanditError(f"burn_in must be >= 0 trials, got {burn_in}")
    if burn_in == 0:
        return False
    if trials is None:
        raise BanditError("burn_in needs the per-arm trials array (trials=...)")
    counts = float_array("trials", trials)
    if counts.shape != live.shape:
        raise BanditError(f"trials must have one value per arm ({len(live)}), got {counts.shape}")
    return bool(np.any(counts[live] < burn_in))


def _fixed(fixed_weights: ArrayLike | None, live: np.ndarray) -> np.ndarray:
    if fixed_weights is None:
        raise BanditError('policy "fixed" needs fixed_weights, e.g. [0.5, 0.5]')
    weights = float_array("fixed_weights", fixed_weights).copy()
    if weights.shape != live.shape:
        raise BanditError(f"fixed_weights must have one value per arm ({len(live)}), got {weights.shape}")
    check_nonnegative("fixed_weights", weights)
    weights[~live] = 0.0
    if weights.sum() <= 0:
        raise BanditError("fixed_weights must give some live arm a positive weight")
    return weights
