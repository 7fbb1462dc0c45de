"""Relative uplift of each arm over the control arm, with a credible interval and P(beats control).

From joint posterior draws theta^(d): uplift_i^(d) = theta_i^(d) / theta_c^(d) - 1. Reported per arm:
posterior mean of the uplift, an equal-tailed credible interval, and P(theta_i > theta_c).
Works on any posterior with `sample(draws, rng)`: conversion rates (BetaBernoulli), revenue per
impression (RevenuePosterior), or average order value alone (RevenuePosterior.aov()).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bandits._random import generator_from
from bandits._validation import check_draws, check_probability
from bandits.errors import BanditError
from bandits.posteriors import Posterior

DEFAULT_UPLIFT_DRAWS = 100_000


@dataclass(frozen=True)
class UpliftSummary:
    """Relative uplift vs control per arm; arrays (n_arms,), fractions (0.1 = +10%).

    The control's own row is 0, [0, 0] and P = 0 (it cannot beat itself); `rows()` shows it as None.
    """

    control: int
    mean: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    prob_beats_control: np.ndarray
    level: float

    def __post_init__(self) -> None:
        shapes = {a.shape for a in (self.mean, self.ci_low, self.ci_high, self.prob_beats_control)}
        if len(shapes) != 1:
            raise BanditError(f"uplift arrays must share one shape, got {shapes}")

    def rows(self) -> list[dict[str, float | bool | None]]:
        """One JSON-ready dict per arm (no NaN); the control's uplift fields are None."""
        result = []
        for arm in range(len(self.mean)):
            is_control = arm == self.control
            result.append(
                {
                    "control": is_control,
                    "uplift": None if is_control else float(self.mean[arm]),
                    "uplift_ci_low": None if is_control else float(self.ci_low[arm]),
                    "uplift_ci_high": None if is_control else float(self.ci_high[arm]),
                    "prob_beats_control": None if is_control else float(self.prob_beats_control[arm]),
                }
            )
        return result


def uplift_vs_control(
    post: Posterior,
    control: int = 0,
    draws: int = DEFAULT_UPLIFT_DRAWS,
    seed: int | None = None,
    *,
    rng: np.random.Generator | None = None,
    level: float = 0.95,
) -> UpliftSummary:
    """Relative uplift theta_i / theta_control - 1 per arm by Monte Carlo (see module docstring)."""
    if not 0 <= control < post.n_arms:
        raise BanditError(f"control must be an arm index in [0, {post.n_arms}), got {control}")
    level = check_probability("level", level)
    samples = post.sample(check_draws(draws), generator_from(seed, rng))
    control_draws = samples[:, control : control + 1]
    if np.any(control_draws <= 0):
        raise BanditError("relative uplift needs a control value > 0 in every draw")
    uplift = samples / control_draws - 1.0
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(uplift, [tail, 1.0 - tail], axis=0)
    return UpliftSummary(
        control=control,
        mean=uplift.mean(axis=0),
        ci_low=low,
        ci_high=high,
        prob_beats_control=(samples > control_draws).mean(axis=0),
        level=level,
    )
