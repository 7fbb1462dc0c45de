"""The fixed-split rule: what a ``fixed`` experiment serves, and when its fixed weights are valid.

One rule for every caller: start, the start confirmation page, every recompute, the report's
sample-ratio check and the admin's arm formset. It lives here, a pure module below services and
selectors, because both a write (the recompute) and a read (the report) need it and a read never
imports a write.

- A fixed split is served exactly as set: burn-in and the exploration floor are bandit mechanics
  and do not apply to it.
- Fixed weights are all-or-none. All set: each is >= 0 and they sum to 1 (within
  ``FIXED_WEIGHT_SUM_TOLERANCE``; they are then divided by their sum). None set: an even split.
- Under a bandit policy the weights come from the posteriors, so fixed weights there are refused
  rather than ignored: a merchandiser who typed 90/10 and left the policy on Thompson sampling
  would otherwise believe the slot serves 90/10.
"""

from collections.abc import Sequence

FIXED_POLICY = "fixed"
FIXED_WEIGHT_SUM_TOLERANCE = 1e-6


def fixed_split_problem(*, policy: str, fixed_weights: Sequence[float | None]) -> tuple[str, str] | None:
    """``(code, message)`` of the first broken fixed-split rule, or None when the arms are fine."""
    given = [w for w in fixed_weights if w is not None]
    if not given:
        return None
    if policy != FIXED_POLICY:
        return (
            "fixed_weights_need_fixed_policy",
            "Fixed weights apply only to the fixed-split policy: choose Fixed split, or clear the "
            "fixed weights and let the bandit allocate.",
        )
    if len(given) != len(fixed_weights):
        return (
            "fixed_weights_incomplete",
            "Give every arm a fixed weight, or none for an even split.",
        )
    if any(w < 0 for w in given):
        return ("fixed_weight_negative", "Fixed weights cannot be negative.")
    total = sum(given)
    if abs(total - 1.0) > FIXED_WEIGHT_SUM_TOLERANCE:
        return (
            "fixed_weights_sum",
            f"Fixed weights must add up to 1; these add up to {total:g}.",
        )
    return None


def fixed_split_weights(*, policy: str, fixed_weights: Sequence[float | None]) -> list[float] | None:
    """The weights a fixed split serves, one per arm summing to 1; None when the policy is a bandit.

    Expects arms that passed ``fixed_split_problem``; an experiment saved before that check with
    only some weights set gets an even split rather than a guess.
    """
    if policy != FIXED_POLICY:
        return None
    n_arms = len(fixed_weights)
    if any(w is None for w in fixed_weights):
        return [1.0 / n_arms] * n_arms
    total = float(sum(fixed_weights))  # type: ignore[arg-type]
    if total <= 0:
        return [1.0 / n_arms] * n_arms
    return [float(w) / total for w in fixed_weights]  # type: ignore[arg-type]


def start_weights(*, policy: str, fixed_weights: Sequence[float | None]) -> list[float]:
    """The weights an experiment starts with: a fixed split as served, else an even split."""
    fixed = fixed_split_weights(policy=policy, fixed_weights=fixed_weights)
    return fixed if fixed is not None else [1.0 / len(fixed_weights)] * len(fixed_weights)
