"""The mSPRT's mixing scale from a minimum detectable effect, and its type-I error and power by simulation.

`bandits.sequential.msprt_two_proportions` mixes over theta ~ N(0, tau^2). Its log likelihood ratio at
an observed difference d with variance V is
    log Lambda = 1/2 log(V / (V + tau^2)) + tau^2 d^2 / (2 V (V + tau^2)),
which, as a function of s = V + tau^2, is largest at s = d^2, i.e. tau^2 = d^2 - V. At the sample size
where an effect of the MDE becomes detectable, V is much smaller than MDE^2, so tau = MDE puts the
most evidence on the effect the experiment is sized for (Johari et al. 2017, section 4.2, choose tau
from the effects one expects). The trade-off: a smaller tau detects effects near the MDE sooner and
pays with slower detection of large effects (and the reverse for a larger tau); the type-I error
stays <= alpha for any tau, because the p-value is always valid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bandits._validation import check_probability
from bandits.errors import BanditError
from bandits.sequential import msprt_two_proportions


def tau_from_mde(mde: float) -> float:
    """Mixing scale tau (absolute difference of rates) for a minimum detectable effect `mde` (same unit)."""
    if not 0.0 < mde < 1.0:
        raise BanditError(f"mde must be an absolute difference of rates in (0, 1), e.g. 0.004, got {mde}")
    return float(mde)


@dataclass(frozen=True)
class MsprtRejections:
    """Share of simulated fixed-split runs whose mSPRT rejected "no difference" by the last look.

    rejected: (runs,) bool; samples_to_reject: (runs,) impressions per arm at the first rejection
    (NaN where it never rejected).
    """

    rejected: np.ndarray
    samples_to_reject: np.ndarray

    @property
    def rate(self) -> float:
        return float(np.mean(self.rejected))


def msprt_rejections(
    rate_a: float,
    difference: float,
    *,
    tau: float,
    per_arm: int,
    looks: int,
    runs: int,
    rng: np.random.Generator,
    alpha: float = 0.05,
) -> MsprtRejections:
    """Even split of two arms at rates (rate_a, rate_a + difference), `looks` equally spaced looks up to
    `per_arm` impressions per arm, mSPRT at `tau` checked at every look. difference 0 gives the type-I
    error, difference = MDE the power at that horizon.
    """
    check_probability("rate_a", rate_a)
    check_probability("rate_b", rate_a + difference)
    if per_arm < looks or looks < 1 or runs < 1:
        raise BanditError("need runs >= 1 and 1 <= looks <= per_arm")
    edges = np.linspace(0, per_arm, looks + 1).round().astype(np.int64)
    step = np.diff(edges)
    trials = np.broadcast_to(np.cumsum(step), (runs, looks)).astype(np.float64)
    successes_a = np.cumsum(rng.binomial(step, rate_a, size=(runs, looks)), axis=1).astype(np.float64)
    successes_b = np.cumsum(rng.binomial(step, rate_a + difference, size=(runs, looks)), axis=1).astype(
        np.float64
    )
    test = msprt_two_proportions(successes_a, trials, successes_b, trials, tau=tau, alpha=alpha)
    rejected = test.reject[:, -1]
    first = np.argmax(test.reject, axis=1)
    samples = np.where(rejected, trials[0, first], np.nan)
    return MsprtRejections(rejected=np.asarray(rejected), samples_to_reject=np.asarray(samples))
