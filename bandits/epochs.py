"""Epoch-stratified estimates: rates and uplift that are not fooled by allocation that moves with time.

A bandit changes the arms' shares every allocation epoch. If the base rate also drifts (weekends,
campaigns), the pooled rate S_k / N_k of an arm mixes epochs in proportion to how much traffic that
arm got in each, so an arm that was favoured while the site converted well looks better than it is
(Simpson's paradox). Stratifying by epoch compares arms within each epoch and weights every epoch by
its total traffic N_e = sum_k n_ek, the same for all arms:
  rate_k   = sum_e w_e s_ek / n_ek,           w_e = N_e / sum_e N_e
  se_k^2   = sum_e w_e^2 p_ek (1 - p_ek) / n_ek
  uplift_k = rate_k / rate_c - 1,  se by the delta method (arms independent).
Only epochs in which every arm has traffic enter (with an exploration floor > 0, all of them do).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from bandits._validation import ArrayLike, check_nonnegative, check_probability, float_array
from bandits.errors import BanditError


@dataclass(frozen=True)
class EpochEstimates:
    """Stratified and pooled rates and relative uplift vs control; arrays (n_arms,) unless noted."""

    control: int
    stratified_rate: np.ndarray
    stratified_se: np.ndarray
    pooled_rate: np.ndarray
    pooled_se: np.ndarray
    stratified_uplift: np.ndarray
    stratified_uplift_ci: tuple[np.ndarray, np.ndarray]
    pooled_uplift: np.ndarray
    pooled_uplift_ci: tuple[np.ndarray, np.ndarray]
    epoch_weights: np.ndarray  # (n_epochs,), 0 for epochs left out
    level: float


def _counts(successes: ArrayLike, trials: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    s = float_array("successes", successes, ndim=2)
    n = float_array("trials", trials, ndim=2)
    if s.shape != n.shape:
        raise BanditError(
            f"successes and trials must both be (n_epochs, n_arms), got {s.shape} and {n.shape}"
        )
    check_nonnegative("successes", s)
    if np.any(s > n):
        raise BanditError("successes must be <= trials in every epoch")
    return s, n


def _relative(rate: np.ndarray, se: np.ndarray, control: int) -> tuple[np.ndarray, np.ndarray]:
    """rate_k / rate_c - 1 and its delta-method standard error."""
    base = rate[control]
    if base <= 0:
        raise BanditError("relative uplift needs a control rate > 0")
    uplift = rate / base - 1.0
    variance = (se / base) ** 2 + (rate * se[control] / base**2) ** 2
    variance[control] = 0.0
    return uplift, np.sqrt(variance)


def epoch_estimates(
    successes: ArrayLike, trials: ArrayLike, *, control: int = 0, level: float = 0.95
) -> EpochEstimates:
    """Stratified (by allocation epoch) and pooled estimates; successes, trials: (n_epochs, n_arms)."""
    s, n = _counts(successes, trials)
    level = check_probability("level", level)
    if not 0 <= control < s.shape[1]:
        raise BanditError(f"control must be an arm index in [0, {s.shape[1]}), got {control}")
    usable = np.all(n > 0, axis=1)
    if not usable.any():
        raise BanditError("no epoch has traffic on every arm; stratified estimates need at least one")
    epoch_traffic = np.where(usable, n.sum(axis=1), 0.0)
    weights = epoch_traffic / epoch_traffic.sum()
    rates = np.divide(s, n, out=np.zeros_like(s), where=n > 0)
    stratified = weights @ rates
    variance_terms = np.divide(rates * (1.0 - rates), n, out=np.zeros_like(s), where=n > 0)
    stratified_se = np.sqrt((weights**2) @ variance_terms)
    pooled = s.sum(axis=0) / n.sum(axis=0)
    pooled_se = np.sqrt(pooled * (1.0 - pooled) / n.sum(axis=0))
    uplift, uplift_se = _relative(stratified, stratified_se, control)
    pooled_uplift, pooled_uplift_se = _relative(pooled, pooled_se, control)
    z = stats.norm.ppf(0.5 + level / 2.0)
    return EpochEstimates(
        control=control,
        stratified_rate=stratified,
        stratified_se=stratified_se,
        pooled_rate=pooled,
        pooled_se=pooled_se,
        stratified_uplift=uplift,
        stratified_uplift_ci=(uplift - z * uplift_se, uplift + z * uplift_se),
        pooled_uplift=pooled_uplift,
        pooled_uplift_ci=(pooled_uplift - z * pooled_uplift_se, pooled_uplift + z * pooled_uplift_se),
        epoch_weights=weights,
        level=level,
    )
