"""Monte Carlo decision quantities: P(arm is best) and expected loss, with their standard errors.

For posterior draws theta^(d) (d = 1..D) of the arms' values:
  P(best_i)          ~ (1/D) sum_d 1[argmax_j theta_j^(d) = i]            se = sqrt(p (1 - p) / D)
  expected_loss_i    ~ (1/D) sum_d (max_j theta_j^(d) - theta_i^(d))      se = sd(loss_i) / sqrt(D)
Expected loss is in reward units (a rate for Beta-Bernoulli, money per impression for revenue); it is
the "value remaining" of the Bayesian A/B literature (Stucchio 2015, "Bayesian A/B testing at VWO";
Scott 2015, "Multi-armed bandit experiments in the online service economy"). Exact two-arm and
K-arm integrals for Beta posteriors are in `bandits.exact`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bandits._random import generator_from
from bandits._validation import check_draws
from bandits.posteriors import Posterior

DEFAULT_DRAWS = 200_000
# Draws are taken in chunks of about this many numbers so 200k draws x many arms stays a few MB.
_CHUNK_VALUES = 2_000_000


@dataclass(frozen=True)
class MonteCarloSummary:
    """P(best) and expected loss per arm from one set of draws; all arrays (n_arms,)."""

    prob_best: np.ndarray
    prob_best_se: np.ndarray
    expected_loss: np.ndarray
    expected_loss_se: np.ndarray
    draws: int


def win_counts(samples: np.ndarray) -> np.ndarray:
    """How often each arm has the largest draw; samples (draws, *batch, n_arms) -> (*batch, n_arms) int.

    Ties (probability zero for continuous posteriors) go to the lowest index.
    """
    n_arms = samples.shape[-1]
    winners = np.argmax(samples, axis=-1).reshape(samples.shape[0], -1)  # (draws, n_batch)
    n_batch = winners.shape[1]
    flat = (winners + np.arange(n_batch) * n_arms).ravel()
    counts = np.bincount(flat, minlength=n_batch * n_arms)
    return counts.reshape(samples.shape[1:])


def loss_sums(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum and sum of squares over draws of max_j theta_j - theta_i; (draws, *batch, K) -> 2 x (*batch, K)."""
    loss = np.max(samples, axis=-1, keepdims=True) - samples
    return loss.sum(axis=0), np.einsum("d...,d...->...", loss, loss)


def posterior_summary(
    post: Posterior,
    draws: int = DEFAULT_DRAWS,
    seed: int | None = None,
    *,
    rng: np.random.Generator | None = None,
) -> MonteCarloSummary:
    """P(best) and expected loss from the same posterior draws (so they are consistent with each other)."""
    draws = check_draws(draws)
    generator = generator_from(seed, rng)
    n_arms = post.n_arms
    wins = np.zeros(n_arms, dtype=np.int64)
    loss_sum = np.zeros(n_arms)
    loss_sq_sum = np.zeros(n_arms)
    chunk = max(1, _CHUNK_VALUES // n_arms)
    for start in range(0, draws, chunk):
        samples = post.sample(min(chunk, draws - start), generator)
        wins += win_counts(samples)
        chunk_sum, chunk_sq_sum = loss_sums(samples)
        loss_sum += chunk_sum
        loss_sq_sum += chunk_sq_sum
    prob = wins / draws
    loss_mean = loss_sum / draws
    loss_var = np.maximum(loss_sq_sum / draws - loss_mean**2, 0.0)
    return MonteCarloSummary(
        prob_best=prob,
        prob_best_se=np.sqrt(prob * (1.0 - prob) / draws),
        expected_loss=loss_mean,
        expected_loss_se=np.sqrt(loss_var / draws),
        draws=draws,
    )


def prob_best(
    post: Posterior,
    draws: int = DEFAULT_DRAWS,
    seed: int | None = None,
    *,
    rng: np.random.Generator | None = None,
    return_se: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """P(arm is best) by Monte Carlo; (n_arms,) summing to 1. With return_se, also its MC standard error."""
    summary = posterior_summary(post, draws, seed, rng=rng)
    if return_se:
        return summary.prob_best, summary.prob_best_se
    return summary.prob_best


def expected_loss(
    post: Posterior,
    draws: int = DEFAULT_DRAWS,
    seed: int | None = None,
    *,
    rng: np.random.Generator | None = None,
    return_se: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """E[max_j theta_j - theta_i] per arm by Monte Carlo, in reward units; (n_arms,) >= 0.

    It is what choosing arm i now costs on average if another arm is in fact better.
    With return_se, also its MC standard error.
    """
    summary = posterior_summary(post, draws, seed, rng=rng)
    if return_se:
        return summary.expected_loss, summary.expected_loss_se
    return summary.expected_loss
