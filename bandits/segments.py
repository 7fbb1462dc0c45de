"""Per-segment posteriors with partial pooling, and per-segment allocation (contextual Thompson sampling).

A segment is a cell of the request context (device x new_vs_returning, a top-level category, a
cohort), named by `segment_key`. Arm k in segment s converts at p_sk. Each arm keeps Beta-Bernoulli
counts per segment, and its segments are pooled toward a centre m_sk by empirical Bayes:

  model   y_sk ~ Binomial(n_sk, p_sk),   p_sk ~ Beta(M_k m_sk, M_k (1 - m_sk))   (segments of arm k)
  centre  "arm" (default): m_sk = r_k, the arm's pooled rate (a0 + Y_k) / (a0 + b0 + N_k).
          "arm_x_segment": m_sk = r_k g_s, with g_s the segment's multiplier common to all arms
          (`segment_multipliers`, a main-effects fit), so only the arm x segment interaction is
          shrunk: a segment where every arm converts less (mobile) is not mistaken for one where
          the arms rank differently. Pitfall: under adaptive allocation g_s is fitted mostly on
          the arm served most in segment s and absorbs that arm's own interaction, so a real
          interaction is found later (bench/notes/2026-12-07-segments.md has both measured).
  M_k     the prior strength (pseudo-trials), maximising the beta-binomial marginal likelihood
              L(M) = prod_s B(M m_s + y_s, M (1 - m_s) + n_s - y_s) / B(M m_s, M (1 - m_s))
          over min_strength <= M <= N_k (Griffiths 1973 for the beta-binomial MLE; Efron and Morris
          1975 for empirical-Bayes shrinkage). Little dispersion around the centres gives a large M
          (strong pooling); a lot gives a small M (each segment on its own data).
  gate    full pooling (M = N_k) is kept unless the data reject it: 2 (log L(M_hat) - log L(inf)),
          against the binomial model (M -> infinity, no dispersion), must exceed the
          level-`full_pooling_level` critical value of the boundary likelihood-ratio test, a 50:50
          mixture of chi2_0 and chi2_1 (Self and Liang 1987). The posteriors are refitted after
          every batch, so the test is repeated many times; the default level is 0.001 for that.

Posterior of segment s (a power prior, Ibrahim and Chen 2000): the arm's other segments' data,
discounted to at most M_k pseudo-trials and moved to segment s's level, plus its own data:

  c_sk      = min(M_k, N_{-s,k})                                  pseudo-trials borrowed
  m'_sk     = g_s Y_{-s,k} / sum_{t != s} n_tk g_t                the other segments' rate, at s
  alpha_sk  = a0 + y_sk + c_sk m'_sk
  beta_sk   = b0 + (n_sk - y_sk) + c_sk (1 - m'_sk)

(Y_{-s,k}, N_{-s,k}: successes and trials of arm k outside segment s.) With centre "arm" (g = 1)
this is a0 + y_sk + lambda Y_{-s,k} with lambda = c_sk / N_{-s,k}: no trial counts twice, and at
full pooling every segment's posterior is exactly the arm's pooled posterior Beta(a0 + Y_k,
b0 + N_k - Y_k), not a point mass at the centre, so the uncertainty about the arm's rate that
plain empirical Bayes would drop (Kass and Steffey 1989) is kept. With many trials in a segment
(n_sk >> M_k) its posterior mean tends to y_sk / n_sk. With "arm_x_segment", segment s's own
clicks also enter g_s, through all arms together (about 1/K of it is arm k's).

Allocation runs per segment: `segment_allocation_weights` applies `bandits.allocation_weights` to
each segment's posterior, so row s is the exact propensity of each arm for a request in segment s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import special, stats

from bandits._random import generator_from
from bandits._validation import ArrayLike, check_probability, float_array
from bandits.allocation import DEFAULT_ALLOCATION_DRAWS, allocation_weights
from bandits.errors import BanditError
from bandits.posteriors import BetaBernoulli

_GRID_POINTS = 49
_GOLDEN_STEPS = 40
_INV_PHI = (np.sqrt(5.0) - 1.0) / 2.0
UNKNOWN_SEGMENT_VALUE = "unknown"
CENTRES = ("arm", "arm_x_segment")
_SEGMENT_SMOOTHING = 1.0  # pseudo-successes pulling a segment's multiplier toward 1
_FIT_ITERATIONS = 20
_RATE_CEILING = 1.0 - 1e-9


def segment_key(context: Mapping[str, str], keys: Sequence[str]) -> str:
    """The segment a request falls in: "device=mobile|history=new" for keys ("device", "history").

    Keys keep the experiment's order; a key missing from the context reads "unknown", so every
    request lands in exactly one segment. No keys: the one segment "all".
    """
    if not keys:
        return "all"
    return "|".join(f"{key}={context.get(key) or UNKNOWN_SEGMENT_VALUE}" for key in keys)


@dataclass(frozen=True)
class PoolingSettings:
    """How segments of an arm are pooled (formulas in the module docstring).

    prior: Beta(a0, b0) of every (segment, arm) before any data. min_strength: smallest prior
    strength M in pseudo-trials, so a freak segment never loses all pooling. full_pooling_level:
    the level of the test that must reject full pooling before the segments are split; None skips
    the test (plain maximum likelihood). centre: "arm" pools toward the arm's rate,
    "arm_x_segment" toward the arm's rate times the segment's multiplier (module docstring).
    """

    prior: tuple[float, float] = (1.0, 1.0)
    min_strength: float = 2.0
    full_pooling_level: float | None = 0.001
    centre: str = "arm"

    def __post_init__(self) -> None:
        if self.centre not in CENTRES:
            raise BanditError(f"centre must be one of {CENTRES}, got {self.centre!r}")
        if len(self.prior) != 2 or not (self.prior[0] > 0 and self.prior[1] > 0):
            raise BanditError(f"prior must be (a0, b0) with both > 0, got {self.prior!r}")
        if not self.min_strength > 0:
            raise BanditError(f"min_strength must be > 0 pseudo-trials, got {self.min_strength}")
        if self.full_pooling_level is not None:
            check_probability("full_pooling_level", self.full_pooling_level)

    @property
    def gate(self) -> float:
        """Log-likelihood margin a split must gain over full pooling: chi2_{1, 1 - 2 level} / 2."""
        if self.full_pooling_level is None:
            return 0.0
        return float(stats.chi2.isf(2.0 * self.full_pooling_level, 1)) / 2.0


@dataclass(frozen=True)
class SegmentCounts:
    """Beta-Bernoulli counts per (segment, arm); successes, trials: (n_segments, n_arms).

    labels: one name per segment (e.g. from `segment_key`); default "0", "1", ...
    """

    successes: np.ndarray
    trials: np.ndarray
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        successes = float_array("successes", self.successes, ndim=2)
        trials = float_array("trials", self.trials, ndim=2)
        if successes.shape != trials.shape or 0 in trials.shape:
            raise BanditError(
                f"successes and trials must be (n_segments, n_arms) of one shape, got "
                f"{successes.shape} and {trials.shape}"
            )
        if np.any(successes < 0) or np.any(successes > trials):
            raise BanditError("need 0 <= successes <= trials in every (segment, arm)")
        labels = self.labels or tuple(str(s) for s in range(trials.shape[0]))
        if len(labels) != trials.shape[0] or len(set(labels)) != len(labels):
            raise BanditError(f"labels must name each of the {trials.shape[0]} segments once, got {labels!r}")
        object.__setattr__(self, "successes", successes)
        object.__setattr__(self, "trials", trials)
        object.__setattr__(self, "labels", tuple(labels))

    @property
    def n_segments(self) -> int:
        return int(self.trials.shape[0])

    @property
    def n_arms(self) -> int:
        return int(self.trials.shape[1])


@dataclass(frozen=True)
class SegmentPosterior:
    """Partially pooled Beta posteriors; alpha, beta, pooling_weight: (n_segments, n_arms).

    strength: (n_arms,) the prior strength M_k in pseudo-trials. pooling_weight: lambda_sk, the
    share of the arm's other segments' trials that counts in segment s (1 = fully pooled).
    pooled: the arm's posterior over all segments (what plain Thompson sampling uses).
    """

    alpha: np.ndarray
    beta: np.ndarray
    strength: np.ndarray
    pooling_weight: np.ndarray
    pooled: BetaBernoulli
    labels: tuple[str, ...] = field(default=())

    @property
    def n_segments(self) -> int:
        return int(self.alpha.shape[0])

    @property
    def n_arms(self) -> int:
        return int(self.alpha.shape[1])

    def segment(self, index: int) -> BetaBernoulli:
        """Segment `index`'s posterior over the arms, usable wherever a `Posterior` is."""
        return BetaBernoulli(alpha=self.alpha[index], beta=self.beta[index])

    def mean(self) -> np.ndarray:
        """(n_segments, n_arms) posterior means."""
        return np.asarray(self.alpha / (self.alpha + self.beta))


def segment_posterior(counts: SegmentCounts, settings: PoolingSettings | None = None) -> SegmentPosterior:
    """Partially pooled posteriors of every (segment, arm) from its counts (module docstring)."""
    settings = settings or PoolingSettings()
    alpha, beta, strength, weight = pooled_beta_parameters(counts.successes, counts.trials, settings)
    a0, b0 = settings.prior
    total_successes = counts.successes.sum(axis=0)
    pooled = BetaBernoulli(alpha=a0 + total_successes, beta=b0 + counts.trials.sum(axis=0) - total_successes)
    return SegmentPosterior(
        alpha=alpha, beta=beta, strength=strength, pooling_weight=weight, pooled=pooled, labels=counts.labels
    )


def pooled_beta_parameters(
    successes: np.ndarray, trials: np.ndarray, settings: PoolingSettings
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(alpha, beta, strength, pooling_weight) for counts of shape (*batch, n_segments, n_arms).

    alpha, beta, pooling_weight: (*batch, n_segments, n_arms); strength: (*batch, n_arms). The batch
    axes let the simulator pool many runs at once; `segment_posterior` is the one-experiment form.
    """
    y = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    a0, b0 = settings.prior
    multiplier = segment_multipliers(y, n, settings)[..., :, None]  # (*batch, S, 1)
    exposure = n * multiplier
    arm_rate = (a0 + y.sum(axis=-2, keepdims=True)) / (a0 + b0 + exposure.sum(axis=-2, keepdims=True))
    centre = np.minimum(arm_rate * multiplier, _RATE_CEILING)
    strength = pooling_strength(
        np.swapaxes(y, -1, -2), np.swapaxes(n, -1, -2), settings, centre=np.swapaxes(centre, -1, -2)
    )
    rest_y = y.sum(axis=-2, keepdims=True) - y
    rest_n = n.sum(axis=-2, keepdims=True) - n
    rest_exposure = exposure.sum(axis=-2, keepdims=True) - exposure
    rest_rate = np.divide(rest_y, rest_exposure, out=np.zeros_like(rest_y), where=rest_exposure > 0)
    rest_centre = np.minimum(rest_rate * multiplier, _RATE_CEILING)
    borrowed = np.minimum(strength[..., None, :], rest_n)  # pseudo-trials from the other segments
    weight = np.divide(borrowed, rest_n, out=np.ones_like(rest_n), where=rest_n > 0)
    alpha = a0 + y + borrowed * rest_centre
    beta = b0 + (n - y) + borrowed * (1.0 - rest_centre)
    return alpha, beta, strength, weight


def segment_multipliers(successes: np.ndarray, trials: np.ndarray, settings: PoolingSettings) -> np.ndarray:
    """Each segment's rate relative to the arms' rates, g_s; counts (*batch, S, K) -> (*batch, S).

    All ones for centre "arm". For "arm_x_segment", the main-effects fit E[y_sk] = n_sk r_k g_s by
    iterative proportional fitting (the Poisson log-linear model of rows x columns; Bishop, Fienberg
    and Holland 1975): r_k = (a0 + Y_k) / (a0 + b0 + sum_s n_sk g_s),
    g_s = (Y_s + 1) / (sum_k n_sk r_k + 1), the + 1 keeping a segment without clicks near 1.
    """
    y = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    multiplier = np.ones(y.shape[:-1])
    if settings.centre == "arm":
        return multiplier
    a0, b0 = settings.prior
    arm_successes = y.sum(axis=-2, keepdims=True)
    segment_successes = y.sum(axis=-1)
    for _ in range(_FIT_ITERATIONS):
        exposure = np.sum(n * multiplier[..., None], axis=-2, keepdims=True)
        arm_rate = (a0 + arm_successes) / (a0 + b0 + exposure)
        expected = np.sum(n * arm_rate, axis=-1)
        multiplier = (segment_successes + _SEGMENT_SMOOTHING) / (expected + _SEGMENT_SMOOTHING)
    return multiplier


def pooling_strength(
    successes: np.ndarray,
    trials: np.ndarray,
    settings: PoolingSettings,
    *,
    centre: np.ndarray | None = None,
) -> np.ndarray:
    """Prior strength M per arm, in pseudo-trials; successes, trials (*batch, n_segments) -> (*batch,).

    The beta-binomial maximum-likelihood M on [min_strength, N] with segment s's prior mean at
    centre[..., s] (default: the pooled rate (a0 + Y) / (a0 + b0 + N) in every segment), found on
    a log grid and refined by golden-section search; M = N (full pooling) when the maximum is at the
    top, when fewer than two segments have trials, or when the gain over the binomial model (no
    dispersion around the centres) does not pass the gate (module docstring).
    """
    y = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    a0, b0 = settings.prior
    total = n.sum(axis=-1)
    if centre is None:
        centre = np.broadcast_to(((a0 + y.sum(axis=-1)) / (a0 + b0 + total))[..., None], y.shape)
    mu = np.asarray(centre, dtype=np.float64)
    low = np.full(total.shape, np.log(settings.min_strength))
    full = np.maximum(total, settings.min_strength)
    high = np.log(full)

    def log_likelihood(log_m: np.ndarray) -> np.ndarray:
        """Beta-binomial log-likelihood up to a constant; log_m (*batch, G) -> (*batch, G)."""
        m = np.exp(log_m)[..., None]
        a, b = m * mu[..., None, :], m * (1.0 - mu[..., None, :])
        yy, nn = y[..., None, :], n[..., None, :]
        return np.sum(special.betaln(a + yy, b + nn - yy) - special.betaln(a, b), axis=-1)

    grid = low[..., None] + (high - low)[..., None] * np.linspace(0.0, 1.0, _GRID_POINTS)
    values = log_likelihood(grid)
    best = np.argmax(values, axis=-1)
    left = np.take_along_axis(grid, np.maximum(best - 1, 0)[..., None], axis=-1)[..., 0]
    right = np.take_along_axis(grid, np.minimum(best + 1, _GRID_POINTS - 1)[..., None], axis=-1)[..., 0]
    log_m = _golden_maximum(log_likelihood, left, right)
    # The null is the binomial model (M -> infinity), the limit of the terms above.
    binomial = np.sum(y * np.log(mu) + (n - y) * np.log1p(-mu), axis=-1)
    gain = log_likelihood(log_m[..., None])[..., 0] - binomial
    informative = np.count_nonzero(n > 0, axis=-1) >= 2
    split = informative & (gain > max(settings.gate, 1e-9)) & (best < _GRID_POINTS - 1)
    return np.where(split, np.exp(log_m), full)


def _golden_maximum(
    function: Callable[[np.ndarray], np.ndarray], left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    """Elementwise golden-section maximum of a unimodal function on [left, right], all (*batch,).

    function maps (*batch, 1) points to (*batch, 1) values.
    """

    def evaluate(points: np.ndarray) -> np.ndarray:
        return function(points[..., None])[..., 0]

    a, b = left, right
    c, d = b - _INV_PHI * (b - a), a + _INV_PHI * (b - a)
    fc, fd = evaluate(c), evaluate(d)
    for _ in range(_GOLDEN_STEPS):
        keep_left = fc >= fd  # the maximum lies in [a, d]
        a, b = np.where(keep_left, a, c), np.where(keep_left, d, b)
        probe = np.where(keep_left, b - _INV_PHI * (b - a), a + _INV_PHI * (b - a))
        f_probe = evaluate(probe)
        c, d = np.where(keep_left, probe, d), np.where(keep_left, c, probe)
        fc, fd = np.where(keep_left, f_probe, fd), np.where(keep_left, fc, f_probe)
    return np.asarray((a + b) / 2.0)


def segment_allocation_weights(
    post: SegmentPosterior,
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
    """Traffic share per (segment, arm); (n_segments, n_arms), each row >= 0 summing to 1.

    Row s is `allocation_weights` on segment s's posterior with the same options, so it is the exact
    propensity of each arm for a request in segment s (log it in the decision token). trials:
    (n_arms,) the arm's trials over all segments, for the burn-in: a small segment borrows strength
    from the others, so it does not wait for its own `burn_in` trials per arm.
    """
    generator = generator_from(seed, rng)
    return np.stack(
        [
            allocation_weights(
                post.segment(index),
                policy,
                floor=floor,
                burn_in=burn_in,
                trials=trials,
                fixed_weights=fixed_weights,
                live=live,
                draws=draws,
                rng=generator,
                top_two_beta=top_two_beta,
            )
            for index in range(post.n_segments)
        ]
    )
