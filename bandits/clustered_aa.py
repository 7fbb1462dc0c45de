"""A/A simulation with clustered units: how often P(best) and the mSPRT call a winner between equal arms.

Each run has two identical arms of `units_per_arm` units (sessions). A unit shows 1 + Poisson(mean
decisions - 1) decisions and has its own propensity p_u ~ Beta(a, b) with mean `rate` and
intra-unit correlation icc = 1 / (a + b + 1), so its clicks are correlated (y_u ~ Binomial(n_u, p_u)).
Units arrive evenly over `looks` looks. Per run, with the per-decision (naive) analysis and with
the clustered one (`bandits.clustered`), from the same data:

- declare: at the last look, some arm has P(best) >= threshold (a fixed-horizon read). With a
  correct posterior this happens with probability 2 (1 - threshold) between two equal arms
  (0.10 at 0.95): P(best) of arm B is Phi(d / se), above 0.95 for d / se > 1.645, either sign.
- msprt: the always-valid test rejects "no difference" at any look; nominal at most alpha.

P(best) is Monte Carlo over `pbest_draws` joint Beta draws per run (its error at 0.95 is about
sqrt(0.95 * 0.05 / draws)). Pure numpy; the generator is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bandits.clustered import ClusterSums
from bandits.errors import BanditError
from bandits.sequential import msprt_two_proportions


@dataclass(frozen=True)
class ClusteredAASettings:
    """The simulated world and the rules read in it."""

    runs: int = 2_000
    units_per_arm: int = 1_000
    mean_decisions: float = 10.0
    rate: float = 0.05
    icc: float = 0.1
    looks: int = 20
    threshold: float = 0.95
    alpha: float = 0.05
    tau: float = 0.01
    pbest_draws: int = 4_000
    chunk_runs: int = 250

    def __post_init__(self) -> None:
        if not 0 < self.icc < 1:
            raise BanditError(f"icc must be in (0, 1), got {self.icc}")
        if not 0 < self.rate < 1:
            raise BanditError(f"rate must be in (0, 1), got {self.rate}")
        if self.mean_decisions < 1:
            raise BanditError(f"mean_decisions must be >= 1, got {self.mean_decisions}")
        if self.looks < 1 or self.units_per_arm < self.looks or self.runs < 1:
            raise BanditError("need runs >= 1 and units_per_arm >= looks >= 1")


@dataclass(frozen=True)
class AARate:
    """A rate over runs and its Monte Carlo standard error sqrt(r (1 - r) / runs)."""

    rate: float
    se: float

    @classmethod
    def of(cls, hits: np.ndarray) -> AARate:
        rate = float(np.mean(hits))
        return cls(rate, float(np.sqrt(rate * (1.0 - rate) / hits.size)))


@dataclass(frozen=True)
class ClusteredAAResult:
    """Naive (per decision) vs clustered rates of calling a winner between equal arms."""

    settings: ClusteredAASettings
    declare_naive: AARate
    declare_clustered: AARate
    msprt_naive: AARate
    msprt_clustered: AARate
    mean_design_effect: float
    nominal_declare: float


def _pbest_b(successes: np.ndarray, trials: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """P(arm 1 beats arm 0) per run under Beta(1 + s, 1 + n - s); successes, trials: (runs, 2)."""
    alpha, beta = 1.0 + successes, 1.0 + trials - successes
    theta = rng.beta(alpha, beta, size=(draws, *alpha.shape))
    return np.asarray((theta[..., 1] > theta[..., 0]).mean(axis=0))


def _looks(settings: ClusteredAASettings, runs: int, rng: np.random.Generator) -> ClusterSums:
    """Cumulative per-arm cluster sums at each look; fields (runs, 2, looks)."""
    shape = (runs, 2, settings.units_per_arm)
    strength = 1.0 / settings.icc - 1.0
    propensity = rng.beta(settings.rate * strength, (1.0 - settings.rate) * strength, size=shape)
    n = 1.0 + rng.poisson(settings.mean_decisions - 1.0, size=shape)
    y = rng.binomial(n.astype(np.int64), propensity).astype(np.float64)
    ends = np.linspace(0, settings.units_per_arm, settings.looks + 1).astype(np.int64)[1:] - 1
    cumulative = [np.cumsum(v, axis=-1)[..., ends] for v in (np.ones(shape), n, y, n * n, y * y, n * y)]
    return ClusterSums(*cumulative)


def clustered_aa(settings: ClusteredAASettings, rng: np.random.Generator) -> ClusteredAAResult:
    """Run the A/A simulation (see the module docstring); memory grows with `chunk_runs`."""
    declare_naive: list[np.ndarray] = []
    declare_clustered: list[np.ndarray] = []
    msprt_naive: list[np.ndarray] = []
    msprt_clustered: list[np.ndarray] = []
    deffs: list[np.ndarray] = []
    done = 0
    while done < settings.runs:
        runs = min(settings.chunk_runs, settings.runs - done)
        done += runs
        sums = _looks(settings, runs, rng)
        deff = sums.design_effect()  # (runs, 2, looks)
        deffs.append(deff[..., -1])
        s, n = sums.successes, sums.trials
        for scale, declared in ((np.ones_like(deff), declare_naive), (deff, declare_clustered)):
            p = _pbest_b(s[..., -1] / scale[..., -1], n[..., -1] / scale[..., -1], settings.pbest_draws, rng)
            declared.append(np.asarray(np.maximum(p, 1.0 - p) >= settings.threshold))
        for effects, rejected in (((1.0, 1.0), msprt_naive), ((deff[:, 0], deff[:, 1]), msprt_clustered)):
            test = msprt_two_proportions(
                s[:, 0],
                n[:, 0],
                s[:, 1],
                n[:, 1],
                tau=settings.tau,
                alpha=settings.alpha,
                design_effect_a=effects[0],
                design_effect_b=effects[1],
            )
            rejected.append(np.asarray(test.reject.any(axis=-1)))
    return ClusteredAAResult(
        settings=settings,
        declare_naive=AARate.of(np.concatenate(declare_naive)),
        declare_clustered=AARate.of(np.concatenate(declare_clustered)),
        msprt_naive=AARate.of(np.concatenate(msprt_naive)),
        msprt_clustered=AARate.of(np.concatenate(msprt_clustered)),
        mean_design_effect=float(np.mean(np.concatenate(deffs))),
        nominal_declare=2.0 * (1.0 - settings.threshold),
    )
