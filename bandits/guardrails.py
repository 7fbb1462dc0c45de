"""Guardrail metrics: is an arm likely worse than control on a metric we must not hurt?

For each guardrail metric (its own posterior over the same arms, e.g. add-to-cart rate, revenue per
impression), with tolerance t:
  relative, higher is better:  P(theta_i < theta_c (1 - t))      absolute: P(theta_i < theta_c - t)
  relative, lower is better:   P(theta_i > theta_c (1 + t))      absolute: P(theta_i > theta_c + t)
An arm breaches the guardrail when that probability is at least `breach_probability`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from bandits._random import generator_from
from bandits._validation import check_draws, check_probability
from bandits.errors import BanditError
from bandits.posteriors import Posterior

DEFAULT_GUARDRAIL_DRAWS = 100_000


@dataclass(frozen=True)
class GuardrailCheck:
    """One guardrail; prob_worse and breach: (n_arms,) (the control's entries are 0 and False)."""

    metric: str
    control: int
    tolerance: float
    relative: bool
    higher_is_better: bool
    breach_probability: float
    prob_worse: np.ndarray
    breach: np.ndarray

    @property
    def any_breach(self) -> bool:
        return bool(self.breach.any())


def guardrail_check(
    post: Posterior,
    *,
    control: int = 0,
    tolerance: float = 0.0,
    relative: bool = True,
    higher_is_better: bool = True,
    breach_probability: float = 0.95,
    metric: str = "guardrail",
    draws: int = DEFAULT_GUARDRAIL_DRAWS,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> GuardrailCheck:
    """P(arm worse than control by more than `tolerance`) per arm, and the breach flags."""
    if not 0 <= control < post.n_arms:
        raise BanditError(f"control must be an arm index in [0, {post.n_arms}), got {control}")
    if not tolerance >= 0:
        raise BanditError(f"tolerance must be >= 0, got {tolerance}")
    breach_probability = check_probability("breach_probability", breach_probability)
    samples = post.sample(check_draws(draws), generator_from(seed, rng))
    reference = samples[:, control : control + 1]
    if higher_is_better:
        limit = reference * (1.0 - tolerance) if relative else reference - tolerance
        worse = samples < limit
    else:
        limit = reference * (1.0 + tolerance) if relative else reference + tolerance
        worse = samples > limit
    prob_worse = worse.mean(axis=0)
    prob_worse[control] = 0.0
    return GuardrailCheck(
        metric=metric,
        control=control,
        tolerance=float(tolerance),
        relative=relative,
        higher_is_better=higher_is_better,
        breach_probability=breach_probability,
        prob_worse=prob_worse,
        breach=prob_worse >= breach_probability,
    )


def guardrails_check(
    posteriors: Mapping[str, Posterior],
    tolerances: Mapping[str, float],
    *,
    control: int = 0,
    relative: bool = True,
    lower_is_better: frozenset[str] = frozenset(),
    breach_probability: float | Mapping[str, float] = 0.95,
    draws: int = DEFAULT_GUARDRAIL_DRAWS,
    seed: int | None = None,
) -> dict[str, GuardrailCheck]:
    """Every guardrail metric at once: {metric: posterior} with {metric: tolerance}.

    lower_is_better: metrics where an increase is harm (e.g. return rate). breach_probability: one
    for all metrics, or {metric: probability}. One child random stream per metric, so adding a
    metric does not change the others' numbers.
    """
    missing = set(posteriors) ^ set(tolerances)
    if missing:
        raise BanditError(f"every guardrail metric needs a posterior and a tolerance; mismatched: {missing}")
    if isinstance(breach_probability, Mapping):
        thresholds = dict(breach_probability)
        if set(thresholds) != set(posteriors):
            raise BanditError(
                f"breach_probability needs one entry per metric {sorted(posteriors)}, "
                f"got {sorted(thresholds)}"
            )
    else:
        thresholds = dict.fromkeys(posteriors, breach_probability)
    streams = np.random.default_rng(seed).spawn(len(posteriors))
    return {
        metric: guardrail_check(
            post,
            control=control,
            tolerance=tolerances[metric],
            relative=relative,
            higher_is_better=metric not in lower_is_better,
            breach_probability=thresholds[metric],
            metric=metric,
            draws=draws,
            rng=stream,
        )
        for (metric, post), stream in zip(sorted(posteriors.items()), streams, strict=True)
    }


def guardrail_hold(weights: np.ndarray, held: np.ndarray, *, floor: float) -> np.ndarray:
    """Weights with each held arm at the floor share, the rest renormalised over the other arms.

    weights: (n_arms,) >= 0 summing to 1; held: (n_arms,) bool (arms that breached a guardrail);
    floor: the total exploration share in [0, 1). A held arm gets floor / n_arms (0 when the floor
    is 0); the other arms keep their proportions and share what is left, evenly if they had none.
    """
    weights = np.asarray(weights, dtype=np.float64)
    held = np.asarray(held, dtype=bool)
    if weights.shape != held.shape or weights.ndim != 1:
        raise BanditError(f"weights and held must be (n_arms,), got {weights.shape} and {held.shape}")
    if not 0.0 <= floor < 1.0:
        raise BanditError(f"floor is the total exploration share and must be in [0, 1), got {floor}")
    if held.all():
        raise BanditError("at least one arm must not be held (the control never breaches)")
    if not held.any():
        return weights.copy()
    share = floor / len(weights)
    free = ~held
    rest = weights[free]
    rest = rest / rest.sum() if rest.sum() > 0 else np.full(rest.shape, 1.0 / rest.size)
    result = np.empty_like(weights)
    result[held] = share
    result[free] = rest * (1.0 - share * np.count_nonzero(held))
    return result
