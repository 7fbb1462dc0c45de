"""Stopping rule of an adaptive experiment, with a plain-words summary.

Stop as "confident" when the leading arm has P(best) >= threshold AND expected loss < epsilon
(the cost of choosing it now, in reward units, is negligible). Otherwise, once `max_samples` trials
are spent, stop as "max_samples" and say honestly that the result is inconclusive: `winner` is then
None, and `leader` names the arm with the highest P(best) so far. Otherwise "continue".
The leader is argmax P(best), not argmin expected loss: with heavy-tailed rewards an arm with no
data has a wide posterior, and one huge draw can make the expected loss of a good arm enormous.
`min_successes` (e.g. 30 purchases for revenue, whose order-value part needs orders to learn from)
keeps an arm with fewer successes from leading or winning; with no eligible arm `leader` is None.
An interleaved slot has one preference posterior instead of per-arm posteriors:
`preference_stopping_state` applies the same rule to it, with P(best) = P(variant preferred).
Checking this rule after every allocation batch is optional stopping: the realised error rate is
somewhat above 1 - threshold (see bench/notes/2026-11-23-bandits.md for measured correct rates).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bandits._validation import ArrayLike, check_probability, float_array
from bandits.decisions import posterior_summary
from bandits.errors import BanditError
from bandits.posteriors import Posterior
from bandits.preference import PreferencePosterior

DEFAULT_STOPPING_DRAWS = 100_000
REASONS = ("confident", "max_samples", "continue")
DEFAULT_PREFERENCE_EPSILON = 0.01  # preference-share points: 1 point of share


@dataclass(frozen=True)
class StoppingState:
    """Where an experiment stands; prob_best, expected_loss: (n_arms,)."""

    stop: bool
    winner: int | None
    reason: str
    prob_best: np.ndarray
    expected_loss: np.ndarray
    inconclusive: bool
    summary: str
    leader: int | None
    total_trials: float | None = None

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise BanditError(f"reason must be one of {REASONS}, got {self.reason!r}")
        if self.winner is not None and not self.stop:
            raise BanditError("a winner is only named when the experiment stops")


def stopping_state(
    post: Posterior,
    *,
    threshold: float = 0.95,
    epsilon: float = 0.001,
    max_samples: float | None = None,
    trials: ArrayLike | None = None,
    draws: int = DEFAULT_STOPPING_DRAWS,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    arm_names: Sequence[str] | None = None,
    successes: ArrayLike | None = None,
    min_successes: float = 0.0,
) -> StoppingState:
    """Apply the stopping rule to a posterior (see module docstring).

    threshold: P(best) needed, in (0, 1). epsilon: largest acceptable expected loss, in reward units
    (0.001 = 0.1 percentage points of conversion). max_samples: cap on total trials (needs `trials`,
    (n_arms,)). arm_names: labels for the summary, default "Arm 0", "Arm 1", ...
    successes, min_successes: an arm with fewer than `min_successes` successes ((n_arms,), e.g.
    purchases) can neither lead nor win.
    """
    threshold = check_probability("threshold", threshold)
    if not epsilon > 0:
        raise BanditError(f"epsilon must be > 0 (reward units), got {epsilon}")
    names = _arm_names(arm_names, post.n_arms)
    total = _total_trials(trials, post.n_arms, max_samples)
    summary = posterior_summary(post, draws, seed, rng=rng)
    prob, loss = summary.prob_best, summary.expected_loss
    eligible = _eligible(successes, min_successes, post.n_arms)
    leader = int(np.argmax(np.where(eligible, prob, -1.0))) if eligible.any() else None
    best = int(np.argmax(prob))
    confident = bool(eligible[best] and prob[best] >= threshold and loss[best] < epsilon)
    describe = _describer(post)
    if confident:
        text = (
            f"{names[best]} is best with {_percent(prob[best])} probability; "
            f"choosing it now risks {_at_most(describe(loss[best]))}"
        )
        return StoppingState(True, best, "confident", prob, loss, False, text, best, total)
    at_cap = max_samples is not None and total is not None and total >= max_samples
    if leader is None:
        lead_text = f"no arm can lead before it has {min_successes:,.0f} successes (purchases)"
    else:
        lead_text = (
            f"{names[leader]} leads with {_percent(prob[leader])} probability of being best; "
            f"choosing it now risks {describe(loss[leader])} on average"
        )
    if leader is not None and not eligible.all():
        waiting = ", ".join(names[arm] for arm in range(post.n_arms) if not eligible[arm])
        lead_text += f" ({waiting} cannot lead before {min_successes:,.0f} successes)"
    if at_cap:
        text = (
            f"Inconclusive: the sample cap of {max_samples:,.0f} trials is reached and no arm is "
            f"clearly best. {lead_text}."
        )
        return StoppingState(True, None, "max_samples", prob, loss, True, text, leader, total)
    text = (
        f"Keep going: {lead_text}; the rule needs {_percent(threshold)} and a risk below {describe(epsilon)}."
    )
    return StoppingState(False, None, "continue", prob, loss, False, text, leader, total)


def _arm_names(arm_names: Sequence[str] | None, n_arms: int) -> list[str]:
    if arm_names is None:
        return [f"Arm {arm}" for arm in range(n_arms)]
    if len(arm_names) != n_arms:
        raise BanditError(f"arm_names must name all {n_arms} arms, got {list(arm_names)}")
    return [str(name) for name in arm_names]


def _eligible(successes: ArrayLike | None, min_successes: float, n_arms: int) -> np.ndarray:
    if not min_successes > 0:
        return np.ones(n_arms, dtype=bool)
    if successes is None:
        raise BanditError("min_successes needs the per-arm successes array (successes=...)")
    counts = float_array("successes", successes)
    if counts.shape != (n_arms,):
        raise BanditError(f"successes must have one value per arm ({n_arms}), got {counts.shape}")
    return np.asarray(counts >= min_successes)


def _total_trials(trials: ArrayLike | None, n_arms: int, max_samples: float | None) -> float | None:
    if max_samples is not None and trials is None:
        raise BanditError("max_samples needs the per-arm trials array (trials=...)")
    if max_samples is not None and not max_samples > 0:
        raise BanditError(f"max_samples must be > 0, got {max_samples}")
    if trials is None:
        return None
    counts = float_array("trials", trials)
    if counts.shape != (n_arms,):
        raise BanditError(f"trials must have one value per arm ({n_arms}), got {counts.shape}")
    return float(counts.sum())


def _percent(probability: float) -> str:
    """Rounded down, so 0.996 reads "99%" rather than an overconfident "100%"."""
    if probability > 0.99:
        return "over 99%"
    return f"{int(np.floor(probability * 100 + 1e-9))}%"


def _describer(post: Posterior) -> Callable[[float], str]:
    """Loss in words: percentage points for rates, reward units per impression otherwise."""
    if post.reward_kind == "rate":
        return lambda loss: f"{_small_number(loss * 100)} percentage points"
    return lambda loss: f"{_small_number(loss)} per impression"


def _small_number(value: float) -> str:
    if value < 0.001:
        return "less than 0.001"
    return f"{value:.2g}"


def _at_most(amount: str) -> str:
    return amount if amount.startswith("less than") else f"at most {amount}"


def preference_stopping_state(
    post: PreferencePosterior,
    *,
    threshold: float = 0.95,
    epsilon: float = DEFAULT_PREFERENCE_EPSILON,
    max_decisions: float | None = None,
    arm_names: Sequence[str] | None = None,
) -> StoppingState:
    """The same rule for an interleaved slot, on its preference posterior (`bandits.preference`).

    prob_best is (P(A preferred), P(B preferred)), exact; expected_loss and epsilon are in
    preference-share points (0.01: choosing it risks one point of share going to the other variant).
    max_decisions caps all decisions, ties included; total_trials reports them.
    """
    threshold = check_probability("threshold", threshold)
    if not epsilon > 0:
        raise BanditError(f"epsilon must be > 0 (preference-share points), got {epsilon}")
    if max_decisions is not None and not max_decisions > 0:
        raise BanditError(f"max_decisions must be > 0, got {max_decisions}")
    names = _arm_names(arm_names, 2)
    prob, loss = post.prob_preferred(), post.expected_loss()
    best = int(np.argmax(prob))
    total = post.decisions
    ties = f"{total:,.0f} decisions, {_tie_share(post)} ties"

    def risk(value: float) -> str:
        return f"{_small_number(value * 100)} points of preference share"

    if prob[best] >= threshold and loss[best] < epsilon:
        text = (
            f"{names[best]} is preferred with {_percent(prob[best])} probability ({ties}); "
            f"choosing it now risks {_at_most(risk(loss[best]))}"
        )
        return StoppingState(True, best, "confident", prob, loss, False, text, best, total)
    lead_text = (
        f"{names[best]} leads with {_percent(prob[best])} probability of being preferred ({ties}); "
        f"choosing it now risks {risk(loss[best])} on average"
    )
    if max_decisions is not None and total >= max_decisions:
        text = (
            f"Inconclusive: the cap of {max_decisions:,.0f} decisions is reached and neither variant is "
            f"clearly preferred. {lead_text}."
        )
        return StoppingState(True, None, "max_samples", prob, loss, True, text, best, total)
    text = f"Keep going: {lead_text}; the rule needs {_percent(threshold)} and a risk below {risk(epsilon)}."
    return StoppingState(False, None, "continue", prob, loss, False, text, best, total)


def _tie_share(post: PreferencePosterior) -> str:
    return "–" if post.decisions == 0 else f"{post.ties / post.decisions:.1%}"
