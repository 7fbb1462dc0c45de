"""Off-policy value of a per-segment policy against the best single arm, from logged decisions.

Rows are logged decisions i with the request's segment s_i, the served arm a_i, its exact logged
propensity pi_0(a_i | s_i) (the segment's allocation weight in the decision token) and reward r_i.
A target policy is a (n_segments, n_arms) table pi(a | s) (rows sum to 1): the per-segment policy
(e.g. each segment's leader, `leader_policy`) or one arm for everyone. Its value per decision is
estimated with `bandits.ope`:

  snips  sum_i w_i r_i / sum_i w_i,                 w_i = pi(a_i | s_i) / pi_0(a_i | s_i)
  dr     (1/n) sum_i [v_hat_i + w_i (r_i - q_hat(s_i, a_i))],   v_hat_i = sum_a pi(a | s_i) q_hat(s_i, a)

q_hat is the partially pooled posterior mean (`bandits.segments`) cross-fitted on two folds (rows of
even and odd index): each row's prediction comes from a model fitted on the other fold, so the
reward model never saw the row it corrects (Chernozhukov et al. 2018, "Double/debiased machine
learning"). Intervals are percentile bootstraps over rows (`bandits.ope.bootstrap_ci`), and the
difference per-segment minus single arm is bootstrapped on the same resamples as its two parts.
Pitfall: when the two policies are chosen on this same log (each segment's leader, the overall
leader), both values are optimistic; evaluate on traffic logged after the choice for a clean figure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bandits import ope
from bandits._random import generator_from
from bandits._validation import ArrayLike, float_array
from bandits.errors import BanditError
from bandits.ope import BootstrapInterval
from bandits.segments import PoolingSettings, SegmentCounts, segment_posterior

_FOLDS = 2


@dataclass(frozen=True)
class SegmentLog:
    """Logged decisions: segment, arm (n,) int indices; propensity (n,) in (0, 1]; reward (n,) in [0, 1]."""

    segment: np.ndarray
    arm: np.ndarray
    propensity: np.ndarray
    reward: np.ndarray
    n_segments: int
    n_arms: int

    def __post_init__(self) -> None:
        segment = np.asarray(self.segment)
        arm = np.asarray(self.arm)
        propensity = float_array("propensity", self.propensity)
        reward = float_array("reward", self.reward)
        n = len(reward)
        if segment.shape != (n,) or arm.shape != (n,) or propensity.shape != (n,):
            raise BanditError("segment, arm, propensity and reward must be (n,) arrays of one length")
        if n < _FOLDS:
            raise BanditError(f"need at least {_FOLDS} logged decisions, got {n}")
        for name, index, size in (("segment", segment, self.n_segments), ("arm", arm, self.n_arms)):
            if not np.issubdtype(index.dtype, np.integer) or np.any(index < 0) or np.any(index >= size):
                raise BanditError(f"{name} must be integer indices in [0, {size}), got {index}")
        if np.any(propensity <= 0) or np.any(propensity > 1):
            raise BanditError("propensity must be in (0, 1]: the logged arm always had a chance")
        if np.any(reward < 0) or np.any(reward > 1):
            raise BanditError("reward must be in [0, 1] (a click or conversion) for the Beta reward model")
        object.__setattr__(self, "segment", segment)
        object.__setattr__(self, "arm", arm)
        object.__setattr__(self, "propensity", propensity)
        object.__setattr__(self, "reward", reward)

    def counts(self, rows: np.ndarray | None = None) -> SegmentCounts:
        """Per-(segment, arm) reward sums and decisions over `rows` (a boolean mask; default all)."""
        mask = np.ones(len(self.reward), dtype=bool) if rows is None else rows
        shape = (self.n_segments, self.n_arms)
        flat = self.segment[mask] * self.n_arms + self.arm[mask]
        size = self.n_segments * self.n_arms
        successes = np.bincount(flat, weights=self.reward[mask], minlength=size).reshape(shape)
        trials = np.bincount(flat, minlength=size).reshape(shape).astype(np.float64)
        return SegmentCounts(successes=successes, trials=trials)


@dataclass(frozen=True)
class EstimatorComparison:
    """One estimator's values per decision: the per-segment policy, the single arm, and their difference."""

    segment_policy: BootstrapInterval
    single_arm: BootstrapInterval
    difference: BootstrapInterval


@dataclass(frozen=True)
class PolicyValueComparison:
    """SNIPS and DR of both policies; effective_sample_size: Kish's, (per-segment policy, single arm)."""

    snips: EstimatorComparison
    dr: EstimatorComparison
    single_arm: int
    effective_sample_size: tuple[float, float]


def leader_policy(leaders: ArrayLike, n_arms: int) -> np.ndarray:
    """The deterministic policy "serve arm leaders[s] in segment s"; (n_segments, n_arms) one-hot."""
    arms = np.asarray(leaders)
    if arms.ndim != 1 or not np.issubdtype(arms.dtype, np.integer) or np.any((arms < 0) | (arms >= n_arms)):
        raise BanditError(f"leaders must be one arm index in [0, {n_arms}) per segment, got {leaders!r}")
    return np.eye(n_arms)[arms]


def segment_policy_value(
    log: SegmentLog,
    segment_policy: ArrayLike,
    single_arm: int,
    *,
    pooling: PoolingSettings | None = None,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> PolicyValueComparison:
    """SNIPS and DR values, with bootstrap intervals, of `segment_policy` ((n_segments, n_arms), rows
    summing to 1) and of serving `single_arm` to everyone, in reward per decision (module docstring)."""
    target = float_array("segment_policy", segment_policy, ndim=2)
    if target.shape != (log.n_segments, log.n_arms) or np.any(target < 0):
        raise BanditError(f"segment_policy must be ({log.n_segments}, {log.n_arms}) probabilities")
    if not np.allclose(target.sum(axis=1), 1.0):
        raise BanditError("each row of segment_policy must sum to 1 (a policy per segment)")
    if not 0 <= single_arm < log.n_arms:
        raise BanditError(f"single_arm must be an arm index in [0, {log.n_arms}), got {single_arm}")
    single = np.zeros_like(target)
    single[:, single_arm] = 1.0
    q_hat = _cross_fitted_rewards(log, pooling or PoolingSettings())  # (n, n_arms)
    rows = np.arange(len(log.reward))
    columns = (
        log.reward,
        log.propensity,
        target[log.segment, log.arm],
        single[log.segment, log.arm],
        q_hat[rows, log.arm],
        np.sum(target[log.segment] * q_hat, axis=1),
        q_hat[:, single_arm],
    )
    boot_seed = int(generator_from(seed, rng).integers(2**32))

    def interval(estimator: Callable[..., float]) -> BootstrapInterval:
        return ope.bootstrap_ci(estimator, *columns, n_boot=n_boot, level=level, seed=boot_seed)

    return PolicyValueComparison(
        snips=EstimatorComparison(
            segment_policy=interval(_snips_segment),
            single_arm=interval(_snips_single),
            difference=interval(lambda *c: _snips_segment(*c) - _snips_single(*c)),
        ),
        dr=EstimatorComparison(
            segment_policy=interval(_dr_segment),
            single_arm=interval(_dr_single),
            difference=interval(lambda *c: _dr_segment(*c) - _dr_single(*c)),
        ),
        single_arm=int(single_arm),
        effective_sample_size=(
            ope.effective_sample_size(columns[2] / log.propensity),
            ope.effective_sample_size(columns[3] / log.propensity),
        ),
    )


def _cross_fitted_rewards(log: SegmentLog, pooling: PoolingSettings) -> np.ndarray:
    """q_hat(s_i, a) for every row and arm, (n, n_arms), from the fold the row is not in."""
    fold = np.arange(len(log.reward)) % _FOLDS
    q_hat = np.empty((len(log.reward), log.n_arms))
    for part in range(_FOLDS):
        means = segment_posterior(log.counts(fold != part), pooling).mean()
        q_hat[fold == part] = means[log.segment[fold == part]]
    return q_hat


# Row-aligned columns: reward, logging, target_segment, target_single, q_logged, v_segment, v_single.
def _snips_segment(*c: np.ndarray) -> float:
    return ope.snips(c[0], c[1], c[2])


def _snips_single(*c: np.ndarray) -> float:
    return ope.snips(c[0], c[1], c[3])


def _dr_segment(*c: np.ndarray) -> float:
    return ope.dr(c[0], c[1], c[2], c[4], c[5])


def _dr_single(*c: np.ndarray) -> float:
    return ope.dr(c[0], c[1], c[3], c[4], c[6])
