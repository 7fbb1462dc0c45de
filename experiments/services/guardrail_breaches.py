"""What a guardrail breach does: the arm is flagged for good, held at the floor, never promoted.

A breach is sticky. Once an arm's P(worse than control beyond tolerance) reaches a rule's breach
probability, ``Arm.guardrail_breached_at`` stays set even if later data or an edited rule would
clear it: the arm can never be promoted (only a manual promote with a recorded override reason
can ship it), and an arm that cannot ship has no use for more than the exploration floor.
Un-flagging on the next recompute would let a noisy metric flap the arm in and out of the hold.
"""

import numpy as np
from django.utils import timezone

from bandits import guardrail_hold
from experiments.models import Arm, Experiment
from experiments.models.experiments import Policy
from experiments.selectors.guardrail_rules import GuardrailEvaluation

# Under a fixed split the weights are the design: holding an arm mid-test would confound the
# comparison, so a breached arm there is flagged (and cannot be promoted) but keeps its share.
HOLDING_POLICIES = (Policy.THOMPSON, Policy.TOP_TWO_THOMPSON)


def guardrail_breach_words(arm: Arm) -> str:
    """'B breached the revenue guardrail (P(worse by > 5%) = 97% >= 95%) at allocation version 12'."""
    breach = arm.guardrail_breach or {}
    return (
        f"{arm.key} breached the {breach.get('metric', '?')} guardrail "
        f"(P(worse by > {breach.get('tolerance', 0):.0%}) = {breach.get('prob_worse', 0):.0%} "
        f">= {breach.get('threshold', 0):.0%}) at allocation version {breach.get('allocation_version', '?')}"
    )


def arms_guardrail_breaches_record(
    *, experiment: Experiment, arms: list[Arm], evaluation: GuardrailEvaluation, allocation_version: int
) -> list[Arm]:
    """Flag the arms that newly breach a guardrail; return them. Expects a row lock on ``experiment``.

    ``arms`` in the order ``evaluation`` was computed over. ``allocation_version``: the version whose
    weights first hold the arm. Each newly breached arm gets a history record naming the metric, and
    the experiment's next saved history record says so too (its ``_change_reason``).
    """
    now = timezone.now()
    newly = []
    for i, arm in enumerate(arms):
        if arm.guardrail_breached_at is not None:
            continue  # sticky: the first breach stays the record
        check = next((c for c in evaluation.checks.values() if c.breach[i]), None)
        if check is None:
            continue
        arm.guardrail_breached_at = now
        arm.guardrail_breach = {
            "metric": check.metric,
            "tolerance": check.tolerance,
            "threshold": check.breach_probability,
            "prob_worse": float(check.prob_worse[i]),
            "allocation_version": allocation_version,
        }
        arm._change_reason = f"Guardrail breached: {guardrail_breach_words(arm)}"[:100]
        arm.save(update_fields=["guardrail_breached_at", "guardrail_breach"])
        newly.append(arm)
    if newly:
        metrics = ", ".join(f"{a.key} on {a.guardrail_breach['metric']}" for a in newly)
        experiment._change_reason = f"Guardrail breached: {metrics}; held, cannot be promoted"[:100]
    return newly


def weights_guardrail_hold(*, experiment: Experiment, arms: list[Arm], weights: np.ndarray) -> np.ndarray:
    """The weights to publish: under a bandit policy each breached arm held at floor / arms.

    Apply to the final weights, after the policy, floor and burn-in, before they are saved.
    """
    held = np.array([arm.guardrail_breached_at is not None for arm in arms], dtype=bool)
    if experiment.policy not in HOLDING_POLICIES or not held.any() or held.all():
        return weights
    return guardrail_hold(weights, held, floor=experiment.exploration_floor)
