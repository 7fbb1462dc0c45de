"""Off-policy estimates of a target policy's value per decision, from logged decisions.

Inputs are row-aligned arrays, one row per logged decision i:
  reward[i]              observed reward of the logged arm (click 0/1, revenue, ...)
  logging_propensity[i]  probability the logging policy gave the logged arm, in (0, 1]
  target_propensity[i]   probability the evaluated policy gives that same logged arm, in [0, 1]
and w_i = target_propensity[i] / logging_propensity[i].

Why not the naive mean: under adaptive allocation (Thompson sampling) the arms' shares change with
time and with past rewards, so a plain mean of rewards per arm, or of all rewards, weights periods
and arms by how the bandit happened to allocate; it is biased for the value of any fixed policy (and
per-arm sample means are biased downwards by adaptive sampling itself, Nie et al. 2018). Weighting
every row by w_i with the propensity that was really used when it was logged removes that bias:
E[w r] = E_target[r] (Horvitz and Thompson 1952). The propensities must be the exact logged ones.

  ips     (1/n) sum_i w_i r_i                                   unbiased, high variance
  snips   sum_i w_i r_i / sum_i w_i                             self-normalised: slightly biased,
                                                                much lower variance (Swaminathan and
                                                                Joachims 2015)
  dr      (1/n) sum_i [v_hat_i + w_i (r_i - q_hat_i)]           doubly robust (Dudik, Langford and Li
                                                                2011): unbiased if either the
                                                                propensities or the reward model is right
  replay  mean of r_i over rows where the target's action equals the logged one (Li, Chu, Langford and
          Wang 2011); unbiased only when logging was uniformly random.
`bootstrap_ci` gives a percentile interval for any of them by resampling rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bandits._random import generator_from
from bandits._validation import ArrayLike, check_probability, check_same_length, float_array
from bandits.errors import BanditError


def _logged(
    reward: ArrayLike, logging_propensity: ArrayLike, target_propensity: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """(reward, importance weights w), both (n,), after checking the inputs."""
    rewards = float_array("reward", reward)
    logging = float_array("logging_propensity", logging_propensity)
    target = float_array("target_propensity", target_propensity)
    n = check_same_length(reward=rewards, logging_propensity=logging, target_propensity=target)
    if n == 0:
        raise BanditError("off-policy estimates need at least one logged decision")
    if np.any(logging <= 0) or np.any(logging > 1):
        raise BanditError("logging_propensity must be in (0, 1]; a logged arm always had a positive chance")
    if np.any(target < 0) or np.any(target > 1):
        raise BanditError("target_propensity must be in [0, 1]")
    return rewards, target / logging


def importance_weights(logging_propensity: ArrayLike, target_propensity: ArrayLike) -> np.ndarray:
    """w_i = target_propensity[i] / logging_propensity[i]; (n,)."""
    n = len(np.atleast_1d(logging_propensity))
    _, weights = _logged(np.zeros(n), logging_propensity, target_propensity)
    return weights


def effective_sample_size(weights: ArrayLike) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2; small values warn of a high-variance estimate."""
    w = float_array("weights", weights)
    squares = float(np.sum(w * w))
    return float(np.sum(w)) ** 2 / squares if squares > 0 else 0.0


def ips(reward: ArrayLike, logging_propensity: ArrayLike, target_propensity: ArrayLike) -> float:
    """Inverse propensity scoring: (1/n) sum_i w_i r_i, in reward units per decision."""
    rewards, weights = _logged(reward, logging_propensity, target_propensity)
    return float(np.mean(weights * rewards))


def snips(reward: ArrayLike, logging_propensity: ArrayLike, target_propensity: ArrayLike) -> float:
    """Self-normalised IPS: sum_i w_i r_i / sum_i w_i; undefined (BanditError) when all w_i are 0."""
    rewards, weights = _logged(reward, logging_propensity, target_propensity)
    total_weight = float(np.sum(weights))
    if total_weight <= 0:
        raise BanditError("snips is undefined: the target policy never takes any logged action")
    return float(np.sum(weights * rewards) / total_weight)


def dr(
    reward: ArrayLike,
    logging_propensity: ArrayLike,
    target_propensity: ArrayLike,
    predicted_reward: ArrayLike,
    predicted_target_value: ArrayLike,
) -> float:
    """Doubly robust estimate (1/n) sum_i [v_hat_i + w_i (r_i - q_hat_i)].

    predicted_reward[i] = q_hat(x_i, a_i), the reward model's prediction for the logged arm;
    predicted_target_value[i] = v_hat_i = sum_a target(a | x_i) q_hat(x_i, a), its prediction of the
    target policy's reward in row i's context. Both (n,), from a model fitted on other data.
    """
    rewards, weights = _logged(reward, logging_propensity, target_propensity)
    q_hat = float_array("predicted_reward", predicted_reward)
    v_hat = float_array("predicted_target_value", predicted_target_value)
    check_same_length(reward=rewards, predicted_reward=q_hat, predicted_target_value=v_hat)
    return float(np.mean(v_hat + weights * (rewards - q_hat)))


def replay(reward: ArrayLike, logged_action: ArrayLike, target_action: ArrayLike) -> float:
    """Replay estimate (Li et al. 2011): mean reward over rows where target_action == logged_action.

    logged_action, target_action: (n,) arm indices (the target's deterministic choice in row i).
    Unbiased only for uniformly random logging; with adaptive logging use ips or snips.
    """
    rewards = float_array("reward", reward)
    logged = np.asarray(logged_action)
    target = np.asarray(target_action)
    if logged.shape != rewards.shape or target.shape != rewards.shape:
        raise BanditError("reward, logged_action and target_action must be (n,) arrays of one length")
    matches = logged == target
    if not matches.any():
        raise BanditError("replay is undefined: the target policy matches no logged action")
    return float(np.mean(rewards[matches]))


@dataclass(frozen=True)
class BootstrapInterval:
    """Point estimate on all rows and a percentile bootstrap interval [low, high] at `level`."""

    estimate: float
    low: float
    high: float
    se: float
    level: float
    n_boot: int
    n_failed: int  # resamples on which the estimator was undefined (e.g. replay without matches)


def bootstrap_ci(
    estimator: Callable[..., float],
    *arrays: ArrayLike,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> BootstrapInterval:
    """Percentile bootstrap over rows for an estimator of row-aligned arrays.

    Example: bootstrap_ci(ope.snips, reward, logging_propensity, target_propensity, n_boot=2000, seed=0).
    Rows are resampled with replacement (i.i.d. rows assumed: resample sessions, not decisions, when
    a session holds many decisions).
    """
    level = check_probability("level", level)
    if n_boot < 2:
        raise BanditError(f"n_boot must be >= 2, got {n_boot}")
    columns = [np.asarray(array) for array in arrays]
    if not columns or len({len(column) for column in columns}) != 1:
        raise BanditError("bootstrap_ci needs one or more row-aligned arrays of the same length")
    generator = generator_from(seed, rng)
    estimate = float(estimator(*columns))
    n_rows = len(columns[0])
    replicates = np.full(n_boot, np.nan)
    for b in range(n_boot):
        rows = generator.integers(0, n_rows, size=n_rows)
        try:
            replicates[b] = estimator(*(column[rows] for column in columns))
        except BanditError:
            continue
    finite = replicates[np.isfinite(replicates)]
    if len(finite) < 2:
        raise BanditError("the estimator was undefined on almost every bootstrap resample")
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(finite, [tail, 100.0 - tail])
    return BootstrapInterval(
        estimate=estimate,
        low=float(low),
        high=float(high),
        se=float(np.std(finite, ddof=1)),
        level=level,
        n_boot=n_boot,
        n_failed=n_boot - len(finite),
    )
