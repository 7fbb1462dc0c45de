"""Sample-ratio mismatch (SRM) check for fixed-split experiments.

Pearson chi-square goodness of fit of the observed assignment counts to the intended split
(scipy.stats.chisquare, K - 1 degrees of freedom). A tiny p-value means the assignment or the
logging is broken (bots, redirects, lost events), so no result of the experiment can be trusted.
The conventional alarm is p < 0.001 (Fabijan et al. 2019, "Diagnosing sample ratio mismatch").
Only for fixed splits: under a bandit the intended weights change every allocation epoch; check
each epoch's counts against that epoch's weights instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from bandits._validation import ArrayLike, check_nonnegative, check_probability, float_array
from bandits.errors import BanditError

SRM_ALPHA = 0.001


@dataclass(frozen=True)
class SampleRatioCheck:
    """statistic: chi-square; expected, observed_share: (n_arms,); mismatch: p_value < alpha."""

    statistic: float
    p_value: float
    mismatch: bool
    expected: np.ndarray
    observed_share: np.ndarray
    alpha: float


def sample_ratio_check(
    assignment_counts: ArrayLike, intended_weights: ArrayLike, *, alpha: float = SRM_ALPHA
) -> SampleRatioCheck:
    """Chi-square test of assignment counts (n_arms,) against intended weights (n_arms,), any scale."""
    counts = float_array("assignment_counts", assignment_counts)
    weights = float_array("intended_weights", intended_weights)
    alpha = check_probability("alpha", alpha)
    if counts.shape != weights.shape or len(counts) < 2:
        raise BanditError("assignment_counts and intended_weights need one value per arm, two arms or more")
    check_nonnegative("assignment_counts", counts)
    check_nonnegative("intended_weights", weights)
    total = counts.sum()
    if total <= 0 or weights.sum() <= 0:
        raise BanditError("the sample-ratio check needs some assignments and some positive weight")
    expected = total * weights / weights.sum()
    share = counts / total
    planned = weights > 0
    if np.any(counts[~planned] > 0):
        # Traffic on an arm meant to get none is a mismatch whatever the test says.
        return SampleRatioCheck(float("inf"), 0.0, True, expected, share, alpha)
    if np.count_nonzero(planned) < 2:
        return SampleRatioCheck(0.0, 1.0, False, expected, share, alpha)
    statistic, p_value = stats.chisquare(counts[planned], expected[planned])
    return SampleRatioCheck(float(statistic), float(p_value), bool(p_value < alpha), expected, share, alpha)
