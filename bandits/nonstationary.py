"""Forgetting old traffic: discounted or sliding-window sums of per-epoch sufficient statistics.

Per-epoch statistics (successes and trials, or the revenue sums) have shape (n_epochs, ...), oldest
epoch first. Feed the result to a posterior, e.g.
    BetaBernoulli.from_counts(discounted_stats(s, 0.9), discounted_stats(n, 0.9), prior=(1, 1)).
The prior is added after forgetting, so an arm whose traffic has all decayed returns to its prior.
Discounting: sum_e gamma^(T - 1 - e) stats_e (discounted Thompson sampling, Raj and Kalyani 2017);
the effective memory is about 1 / (1 - gamma) epochs. Sliding window: the last `window` epochs
(Garivier and Moulines 2011). Both trade variance for tracking a drifting rate; use them only when
rates do drift, since they also slow convergence on a stationary slot.
"""

from __future__ import annotations

import numpy as np

from bandits._validation import ArrayLike, check_nonnegative, float_array
from bandits.errors import BanditError


def _per_epoch(stats: ArrayLike) -> np.ndarray:
    array = float_array("per-epoch stats", stats, ndim=None)
    if array.ndim == 0 or len(array) == 0:
        raise BanditError("per-epoch stats need a leading epoch axis with at least one epoch")
    check_nonnegative("per-epoch stats", array)
    return array


def discounted_stats(stats: ArrayLike, discount: float) -> np.ndarray:
    """sum_e discount^(T - 1 - e) stats[e]; stats (n_epochs, ...) oldest first -> (...).

    discount in (0, 1]; 1 keeps everything (plain sum).
    """
    array = _per_epoch(stats)
    if not 0.0 < discount <= 1.0:
        raise BanditError(f"discount must be in (0, 1], got {discount}")
    n_epochs = array.shape[0]
    factors = discount ** np.arange(n_epochs - 1, -1, -1, dtype=np.float64)
    return np.tensordot(factors, array, axes=(0, 0))


def windowed_stats(stats: ArrayLike, window: int) -> np.ndarray:
    """Sum of the last `window` epochs; stats (n_epochs, ...) oldest first -> (...)."""
    array = _per_epoch(stats)
    if isinstance(window, bool) or int(window) != window or window < 1:
        raise BanditError(f"window must be a whole number of epochs >= 1, got {window!r}")
    return array[-int(window) :].sum(axis=0)


def effective_memory(discount: float) -> float:
    """Epochs of memory of a discount factor: 1 / (1 - discount) (inf for 1)."""
    if not 0.0 < discount <= 1.0:
        raise BanditError(f"discount must be in (0, 1], got {discount}")
    return float("inf") if discount == 1.0 else 1.0 / (1.0 - discount)
