"""Posterior and always-valid test of an interleaved experiment's preference share.

Each non-tie decision of an interleaved slot (see `bandits.interleaving`) is a Bernoulli trial: A
won with probability p, the preference share; ties carry no information about which variant is
preferred and are left out (Radlinski et al. 2008; Chapelle, Joachims, Radlinski and Yue 2012,
"Large-scale validation and analysis of interleaved search evaluation", TOIS, section 5).

Posterior (conjugate): p | data ~ Beta(a, b), a = a0 + wins_a, b = b0 + wins_b, prior Beta(1, 1).
  P(A preferred) = P(p > 1/2) = 1 - I_{1/2}(a, b) = I_{1/2}(b, a)      (I: regularized incomplete beta)
Expected loss of choosing a variant, in preference-share points (the other variant's share minus
the chosen one's, when that is positive), with m = a / (a + b):
  loss_A = E[max(0, 1 - 2p)] = I_{1/2}(a, b) - 2 m I_{1/2}(a + 1, b)
  loss_B = E[max(0, 2p - 1)] = loss_A + 2 m - 1
(from p f(p; a, b) = m f(p; a + 1, b)).

Always-valid test of p = 1/2 (a mixture SPRT, Robbins 1970; Johari, Koomen, Pekelis and Walsh
2017, "Peeking at A/B tests"): with s = wins_a, f = wins_b, n = s + f and a mixing prior Beta(h, h)
over p, the likelihood ratio against p0
  Lambda_n(p0) = B(h + s, h + f) / B(h, h) / (p0^s (1 - p0)^f)
is a non-negative martingale with mean 1 under p = p0 (a mixture of likelihood ratios), so by Ville's
inequality P(Lambda_n(p0) >= 1 / alpha for some n) <= alpha. Unlike the normal-mixture mSPRT of
`bandits.sequential` this one is exact for a Bernoulli proportion, no normal approximation.
  p-value    p_n = min(1, min_{m <= n} 1 / Lambda_m(1/2))
  CS_n       = {p0 : Lambda_n(p0) < 1 / alpha}, an interval around s / n
The mixing scale tau is the prior's standard deviation around 1/2 (Var Beta(h, h) = 1 / (4 (2h + 1)),
so h = (1 / (4 tau^2) - 1) / 2): the size of preference-share differences one expects, e.g.
`bandits.mde.tau_from_mde(0.02)` for 52% vs 48%. Any tau gives a valid test; a good one is faster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from bandits._validation import ArrayLike, check_probability, float_array
from bandits.errors import BanditError

DEFAULT_PREFERENCE_TAU = 0.05
_BISECTION_STEPS = 48  # halvings for the confidence sequence's ends: within 2^-48 (4e-15) of [0, 1]


@dataclass(frozen=True)
class PreferencePosterior:
    """Beta posterior of the preference share p = P(A wins | not a tie); counts of decisions."""

    wins_a: float
    wins_b: float
    ties: float = 0.0
    prior: tuple[float, float] = (1.0, 1.0)

    def __post_init__(self) -> None:
        counts = float_array("counts", [self.wins_a, self.wins_b, self.ties])
        if np.any(counts < 0):
            raise BanditError(f"wins_a, wins_b and ties must be >= 0, got {counts.tolist()}")
        if not (self.prior[0] > 0 and self.prior[1] > 0):
            raise BanditError(f"prior must be two positive Beta parameters, got {self.prior}")

    @property
    def alpha(self) -> float:
        return self.prior[0] + self.wins_a

    @property
    def beta(self) -> float:
        return self.prior[1] + self.wins_b

    @property
    def decisions(self) -> float:
        """All decisions, ties included."""
        return self.wins_a + self.wins_b + self.ties

    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    def prob_a_preferred(self) -> float:
        """P(p > 1/2), exact."""
        return float(special.betainc(self.beta, self.alpha, 0.5))

    def prob_preferred(self) -> np.ndarray:
        """(2,): P(A preferred), P(B preferred); they sum to 1."""
        prob_a = self.prob_a_preferred()
        return np.array([prob_a, 1.0 - prob_a])

    def expected_loss(self) -> np.ndarray:
        """(2,): expected loss of choosing A, B, in preference-share points (module docstring)."""
        a, b = self.alpha, self.beta
        mean = a / (a + b)
        loss_a = float(special.betainc(a, b, 0.5) - 2.0 * mean * special.betainc(a + 1.0, b, 0.5))
        loss_a = max(loss_a, 0.0)
        return np.array([loss_a, max(loss_a + 2.0 * mean - 1.0, 0.0)])

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """Equal-tailed credible interval of p."""
        level = check_probability("level", level)
        tail = (1.0 - level) / 2.0
        low = special.betaincinv(self.alpha, self.beta, tail)
        high = special.betaincinv(self.alpha, self.beta, 1.0 - tail)
        return float(low), float(high)


@dataclass(frozen=True)
class PreferenceTest:
    """Mixture SPRT of p = 1/2 at each look; arrays (..., n_looks) following the inputs' shape.

    share: observed wins_a / (wins_a + wins_b) (1/2 before any non-tie); ci_low, ci_high: the
    confidence sequence of p at that look.
    """

    share: np.ndarray
    log_likelihood_ratio: np.ndarray
    p_value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    reject: np.ndarray
    alpha: float
    tau: float


def preference_sequential_test(
    wins_a: ArrayLike,
    wins_b: ArrayLike,
    *,
    tau: float = DEFAULT_PREFERENCE_TAU,
    alpha: float = 0.05,
    interval: bool = True,
) -> PreferenceTest:
    """Always-valid p-values and confidence sequence for the preference share at each look.

    Inputs: cumulative non-tie wins at each look, shape (..., n_looks) (leading axes such as simulated
    runs are carried along); a single look may be given as scalars. interval=False leaves ci_low and
    ci_high NaN: simulations that only need the p-value skip the bisection, which costs most of the time.
    """
    alpha = check_probability("alpha", alpha)
    if not 0.0 < tau < 0.5:
        raise BanditError(f"tau (spread of the preference share around 1/2) must be in (0, 0.5), got {tau}")
    s = np.atleast_1d(float_array("wins_a", wins_a, ndim=None))
    f = np.atleast_1d(float_array("wins_b", wins_b, ndim=None))
    if s.shape != f.shape:
        raise BanditError(f"wins_a and wins_b must have the same shape, got {s.shape} and {f.shape}")
    if np.any(s < 0) or np.any(f < 0):
        raise BanditError("wins must be >= 0 at every look")
    h = (1.0 / (4.0 * tau * tau) - 1.0) / 2.0
    log_marginal = special.betaln(h + s, h + f) - special.betaln(h, h)
    n = s + f
    log_lambda = log_marginal + n * np.log(2.0)
    p_value = np.minimum.accumulate(np.minimum(1.0, np.exp(-log_lambda)), axis=-1)
    if interval:
        low, high = _confidence_sequence(s, f, log_marginal + np.log(alpha))
    else:
        low = high = np.full_like(s, np.nan)
    share = np.divide(s, n, out=np.full_like(s, 0.5), where=n > 0)
    return PreferenceTest(
        share=share,
        log_likelihood_ratio=log_lambda,
        p_value=p_value,
        ci_low=low,
        ci_high=high,
        reject=p_value <= alpha,
        alpha=alpha,
        tau=float(tau),
    )


def _confidence_sequence(s: np.ndarray, f: np.ndarray, level: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ends of {p0 : s log p0 + f log(1 - p0) > level} by bisection on each side of the maximum s / n.

    The left side is concave and maximal at s / n, where it is >= log_marginal > level (the marginal
    likelihood is an average of p0^s (1 - p0)^f), so each side has at most one crossing. Both sides
    are bisected at once; an edge (0 or 1) inside the set is its own end.
    """
    n = s + f
    peak = np.divide(s, n, out=np.full_like(s, 0.5), where=n > 0)
    edges = np.stack([np.zeros_like(peak), np.ones_like(peak)])
    outer = edges.copy()  # last point known outside the set (or the edge)
    inner = np.stack([peak, peak])  # last point known inside
    for _ in range(_BISECTION_STEPS):
        middle = (outer + inner) / 2.0
        with np.errstate(divide="ignore", invalid="ignore"):  # a side of zero width (s or f is 0)
            keep = s * np.log(middle) + f * np.log1p(-middle) > level
        inner = np.where(keep, middle, inner)
        outer = np.where(keep, outer, middle)
    with np.errstate(divide="ignore", invalid="ignore"):
        edge_inside = special.xlogy(s, edges) + special.xlog1py(f, -edges) > level
    ends = np.where(edge_inside, edges, inner)
    return ends[0], ends[1]
