"""Simulated segmented experiments: plain Thompson sampling against per-segment Thompson sampling.

A world has segments s with traffic shares q_s and true rates p_sk (n_segments, n_arms). Every
batch of `batch_size` impressions, the segments of the requests are drawn from q, each request is
served an arm from its segment's allocation weights, and clicks are Bernoulli(p_sk). After the
batch the weights are recomputed from `draws` posterior draws (probability matching, w = P(best),
as `bandits.allocation` "thompson"), with the `floor` mixed in.

Policies
  thompson           one Beta posterior per arm from its counts over all segments; every segment
                     gets the same weights (what an experiment without segments does).
  segment_thompson   the partially pooled posteriors of `bandits.segments`, weights per segment.
  separate_thompson  an independent Beta(1, 1) posterior per (segment, arm): no pooling (reference).
Regret is expected regret against the per-segment best arm, in clicks:
  sum over impressions of (max_k p_{s,k} - p_{s,served}),
so plain Thompson sampling pays for serving one arm everywhere when the best arm differs by segment.
All runs advance together, vectorised over runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bandits._validation import float_array
from bandits.allocation import apply_floor, weights_from_samples
from bandits.errors import BanditError
from bandits.segment_ope import SegmentLog
from bandits.segments import PoolingSettings, pooled_beta_parameters

SEGMENT_POLICIES = ("thompson", "segment_thompson", "separate_thompson")


@dataclass(frozen=True)
class SegmentWorld:
    """True rates (n_segments, n_arms) in (0, 1) and traffic shares (n_segments,) summing to 1."""

    rates: np.ndarray
    shares: np.ndarray
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        rates = float_array("rates", self.rates, ndim=2)
        shares = float_array("shares", self.shares)
        if np.any(rates <= 0) or np.any(rates >= 1) or rates.shape[1] < 2:
            raise BanditError(f"rates must be (n_segments, n_arms >= 2) probabilities in (0, 1), got {rates}")
        if shares.shape != (rates.shape[0],) or np.any(shares <= 0) or not np.isclose(shares.sum(), 1.0):
            raise BanditError(f"shares must be one positive share per segment summing to 1, got {shares}")
        labels = self.labels or tuple(str(s) for s in range(rates.shape[0]))
        if len(labels) != rates.shape[0]:
            raise BanditError(f"labels must name the {rates.shape[0]} segments, got {labels!r}")
        object.__setattr__(self, "rates", rates)
        object.__setattr__(self, "shares", shares)
        object.__setattr__(self, "labels", tuple(labels))

    @property
    def gaps(self) -> np.ndarray:
        """(n_segments, n_arms) best rate in the segment - the arm's rate there."""
        return np.asarray(self.rates.max(axis=1, keepdims=True) - self.rates)

    def value(self, policy: np.ndarray) -> float:
        """True clicks per impression of a policy table pi(a | s), (n_segments, n_arms)."""
        return float(self.shares @ np.sum(policy * self.rates, axis=1))


@dataclass(frozen=True)
class SegmentSimulationSettings:
    """What to simulate: `impressions` per run, served in batches between allocation updates."""

    world: SegmentWorld
    impressions: int = 100_000
    batch_size: int = 1_000
    runs: int = 200
    draws: int = 1_000
    floor: float = 0.0
    pooling: PoolingSettings = field(default_factory=PoolingSettings)

    def __post_init__(self) -> None:
        for name in ("impressions", "batch_size", "runs", "draws"):
            if getattr(self, name) < 1:
                raise BanditError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.floor < 1.0:
            raise BanditError(f"floor must be in [0, 1), got {self.floor}")


@dataclass(frozen=True)
class SegmentPolicyOutcome:
    """One policy over all runs; regret: (runs,) expected lost clicks against the per-segment best arm."""

    policy: str
    regret: np.ndarray

    @property
    def mean(self) -> float:
        return float(np.mean(self.regret))

    @property
    def se(self) -> float:
        """Monte Carlo standard error of the mean regret over runs."""
        return float(np.std(self.regret, ddof=1) / np.sqrt(len(self.regret))) if len(self.regret) > 1 else 0.0


def regret_ratio(outcome: SegmentPolicyOutcome, baseline: SegmentPolicyOutcome) -> tuple[float, float]:
    """mean regret of outcome / mean regret of baseline, and its delta-method standard error
    (independent runs): r sqrt((se_a / a)^2 + (se_b / b)^2)."""
    ratio = outcome.mean / baseline.mean
    return ratio, ratio * float(np.hypot(outcome.se / outcome.mean, baseline.se / baseline.mean))


def simulate_segments(
    settings: SegmentSimulationSettings,
    policies: tuple[str, ...] = SEGMENT_POLICIES,
    *,
    seed: int | None = None,
) -> list[SegmentPolicyOutcome]:
    """Every policy on the same world; each gets its own child random stream of `seed`."""
    unknown = set(policies) - set(SEGMENT_POLICIES)
    if unknown:
        raise BanditError(f"unknown policies {sorted(unknown)}; choose from {SEGMENT_POLICIES}")
    streams = dict(
        zip(SEGMENT_POLICIES, np.random.default_rng(seed).spawn(len(SEGMENT_POLICIES)), strict=True)
    )
    return [
        SegmentPolicyOutcome(policy, _run(settings, policy, streams[policy], settings.runs).regret)
        for policy in policies
    ]


def segment_log(settings: SegmentSimulationSettings, policy: str, rng: np.random.Generator) -> SegmentLog:
    """One run's decisions as logged rows (segment, arm, exact propensity, click), for off-policy checks."""
    if policy not in SEGMENT_POLICIES:
        raise BanditError(f"policy must be one of {SEGMENT_POLICIES}, got {policy!r}")
    state = _run(settings, policy, rng, 1, record=True)
    shape = settings.world.rates.shape
    segment_index, arm_index = np.indices(shape)
    columns: dict[str, list[np.ndarray]] = {"segment": [], "arm": [], "propensity": [], "reward": []}
    for served, clicks, weights in state.batches:
        n = served.ravel()
        columns["segment"].append(np.repeat(segment_index.ravel(), n))
        columns["arm"].append(np.repeat(arm_index.ravel(), n))
        columns["propensity"].append(np.repeat(weights.ravel(), n))
        # Within a (segment, arm) cell the order of rows carries no information: clicks first.
        columns["reward"].append(
            np.concatenate([np.arange(count) < hits for count, hits in zip(n, clicks.ravel(), strict=True)])
        )
    return SegmentLog(
        segment=np.concatenate(columns["segment"]),
        arm=np.concatenate(columns["arm"]),
        propensity=np.concatenate(columns["propensity"]),
        reward=np.concatenate(columns["reward"]).astype(np.float64),
        n_segments=shape[0],
        n_arms=shape[1],
    )


@dataclass
class _RunState:
    """Counts of all runs of one policy (private to the loop); successes, trials (runs, S, K)."""

    successes: np.ndarray
    trials: np.ndarray
    regret: np.ndarray
    batches: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)


def _run(
    settings: SegmentSimulationSettings,
    policy: str,
    rng: np.random.Generator,
    runs: int,
    *,
    record: bool = False,
) -> _RunState:
    world = settings.world
    n_segments, n_arms = world.rates.shape
    state = _RunState(
        successes=np.zeros((runs, n_segments, n_arms)),
        trials=np.zeros((runs, n_segments, n_arms)),
        regret=np.zeros(runs),
    )
    weights = np.full((runs, n_segments, n_arms), 1.0 / n_arms)
    served_so_far = 0
    while served_so_far < settings.impressions:
        batch = min(settings.batch_size, settings.impressions - served_so_far)
        arrivals = rng.multinomial(batch, world.shares, size=runs)
        served = rng.multinomial(arrivals, weights)
        clicks = rng.binomial(served, world.rates)
        state.successes += clicks
        state.trials += served
        state.regret += np.sum(served * world.gaps, axis=(1, 2))
        if record:
            state.batches.append((served[0], clicks[0], weights[0]))
        served_so_far += batch
        weights = _next_weights(state, policy, settings, rng)
    return state


def _next_weights(
    state: _RunState, policy: str, settings: SegmentSimulationSettings, rng: np.random.Generator
) -> np.ndarray:
    """(runs, S, K) allocation for the next batch from `draws` posterior draws."""
    a0, b0 = settings.pooling.prior
    if policy == "thompson":
        successes, trials = state.successes.sum(axis=1), state.trials.sum(axis=1)
        alpha, beta = a0 + successes, b0 + trials - successes
    elif policy == "separate_thompson":
        alpha, beta = a0 + state.successes, b0 + state.trials - state.successes
    else:
        alpha, beta, _, _ = pooled_beta_parameters(state.successes, state.trials, settings.pooling)
    samples = rng.beta(alpha, beta, size=(settings.draws, *alpha.shape))
    weights = weights_from_samples(samples, "thompson")
    weights = apply_floor(weights, settings.floor, np.ones(alpha.shape[-1], dtype=bool))
    if policy == "thompson":
        weights = np.broadcast_to(weights[:, None, :], state.trials.shape)
    return np.asarray(weights / weights.sum(axis=-1, keepdims=True))
