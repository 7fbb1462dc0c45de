"""Allocation: turn posteriors into new arm weights, publish a new allocation version, snapshot it."""

import logging
from dataclasses import replace

import numpy as np
from django.conf import settings
from django.db import transaction

from bandits import allocation_weights, expected_loss, prob_best, stopping_state
from experiments.domain.arm_summary import snapshot_arm_row
from experiments.domain.control_uplift import control_position, uplift_rows
from experiments.domain.fixed_split import fixed_split_weights
from experiments.models import Experiment, PosteriorSnapshot
from experiments.models.experiments import Status
from experiments.selectors.guardrail_rules import guardrails_evaluate, stopping_guardrail_checked
from experiments.selectors.reward_models import (
    arm_stats,
    arm_stats_discounted,
    experiment_posterior,
    stopping_rule,
)

from .arm_weights import arm_weights_apply
from .auto_conclude import experiment_auto_conclude_if_due
from .guardrail_breaches import arms_guardrail_breaches_record, weights_guardrail_hold
from .serving_version import serving_version_bump

log = logging.getLogger(__name__)


def _seed(experiment: Experiment) -> int:
    # Reproducible per version, different between versions.
    return (experiment.id * 1_000_003 + experiment.allocation_version) % (2**32)


def _snapshot_arms(arms, observed, decided, weights, pbest, loss, uplift) -> list[dict]:
    """Per arm: the counts observed so far and, for a discounted slot, the faded counts decided on.

    ``trials`` and ``successes`` are always the cumulative counts (the report's history and the
    sequential test read them as such); a discounted experiment adds ``effective_trials`` and
    ``effective_successes``, the counts behind ``prob_best`` and the weight. A session or user
    experiment adds ``units``, ``design_effect`` and ``effective_sample_size`` (trials / design
    effect), which the report's always-valid test reads at each look.
    """
    rows = []
    for i, arm in enumerate(arms):
        row = snapshot_arm_row(
            arm_key=arm.key,
            arm_id=arm.id,
            variant=arm.variant.key,
            control=arm.is_control,
            trials=int(observed.trials[i]),
            successes=int(observed.successes[i]),
            weight=float(weights[i]),
            figures={**uplift[i], "prob_best": float(pbest[i]), "expected_loss": float(loss[i])},
        )
        if decided is not observed:
            row["effective_trials"] = float(decided.trials[i])
            row["effective_successes"] = float(decided.successes[i])
        if observed.design_effect is not None and observed.units is not None:
            row["units"] = int(observed.units[i])
            row["design_effect"] = float(observed.design_effect[i])
            row["effective_sample_size"] = float(observed.effective_trials()[i])
        rows.append(row)
    return rows


def _weights_decide(experiment: Experiment, arms: list, post, stats, seed: int) -> np.ndarray:
    """The policy's weights, one per arm: a fixed split exactly as set (burn-in and the exploration
    floor are bandit mechanics), else the bandit's from the posteriors with burn-in and floor."""
    fixed = fixed_split_weights(policy=experiment.policy, fixed_weights=[a.fixed_weight for a in arms])
    if fixed is not None:
        return np.array(fixed, dtype=np.float64)
    return allocation_weights(
        post,
        experiment.policy,
        floor=experiment.exploration_floor,
        burn_in=experiment.burn_in,
        trials=stats.trials,
        draws=settings.ALLOCATION_DRAWS,
        seed=seed,
    )


def guardrails_apply(*, experiment: Experiment, arms: list, seed: int) -> None:
    """Evaluate the guardrails on the arms' cumulative posteriors and flag arms that newly breach."""
    evaluation = guardrails_evaluate(
        experiment=experiment,
        posteriors=[a.posterior for a in arms],
        control=control_position(arms),
        draws=settings.ALLOCATION_DRAWS,
        seed=seed,
    )
    arms_guardrail_breaches_record(
        experiment=experiment,
        arms=arms,
        evaluation=evaluation,
        allocation_version=experiment.allocation_version + 1,
    )


def allocation_recompute(*, experiment: Experiment) -> int:
    """Recompute one running experiment's weights. Expects a row lock on ``experiment``."""
    arms = list(experiment.arms.select_related("variant", "posterior").order_by("key"))
    observed = stats = arm_stats([a.posterior for a in arms], experiment.reward_metric)
    if experiment.discount_half_life_epochs:
        stats = arm_stats_discounted(
            arms, experiment.reward_metric, half_life_epochs=experiment.discount_half_life_epochs
        )
        # Faded counts keep the units' clustering: the cumulative design effect tempers them too.
        stats = replace(stats, units=observed.units, design_effect=observed.design_effect)
    post = experiment_posterior(
        experiment=experiment, arms=arms, stats=stats, discounted=stats is not observed
    )
    seed = _seed(experiment)
    weights = _weights_decide(experiment, arms, post, stats, seed)
    guardrails_apply(experiment=experiment, arms=arms, seed=seed)
    weights = weights_guardrail_hold(experiment=experiment, arms=arms, weights=weights)
    # Every step that changes the final weights goes before this line: it publishes them.
    weights = arm_weights_apply(experiment=experiment, arms=arms, weights=weights)
    experiment.allocation_version += 1
    if not getattr(experiment, "_change_reason", None):  # a guardrail breach names itself
        experiment._change_reason = f"Allocation recompute: version {experiment.allocation_version}"
    experiment.save(update_fields=["allocation_version", "assignment_layout"])
    pbest = prob_best(post, draws=settings.ALLOCATION_DRAWS, seed=seed)
    loss = expected_loss(post, draws=settings.ALLOCATION_DRAWS, seed=seed)
    stopping = stopping_state(
        post,
        threshold=experiment.prob_best_threshold,
        max_samples=experiment.max_samples,
        trials=stats.trials,
        draws=settings.ALLOCATION_DRAWS,
        seed=seed,
        **stopping_rule(experiment=experiment, stats=stats),
    )
    winner = arms[stopping.winner].key if stopping.winner is not None else None
    uplift = uplift_rows(post, control=control_position(arms), draws=settings.ALLOCATION_DRAWS, seed=seed)
    snapshot = PosteriorSnapshot.objects.create(
        experiment=experiment,
        allocation_version=experiment.allocation_version,
        arms=_snapshot_arms(arms, observed, stats, weights, pbest, loss, uplift),
        stopping=stopping_guardrail_checked(
            {
                "stop": bool(stopping.stop),
                "reason": stopping.reason,
                "winner": winner,
                "leader": arms[stopping.leader].key if stopping.leader is not None else None,
                "inconclusive": bool(stopping.inconclusive),
                "summary": stopping.summary,
            },
            arms=arms,
        ),
    )
    experiment_auto_conclude_if_due(experiment=experiment, stopping=snapshot.stopping)
    return experiment.allocation_version


def allocations_recompute(*, experiment_ids: list[int] | None = None) -> int:
    """Recompute every running experiment (or the given ones); return how many got a new version."""
    candidates = Experiment.objects.filter(status=Status.RUNNING)
    if experiment_ids is not None:
        candidates = candidates.filter(id__in=experiment_ids)
    done = 0
    for experiment_id in candidates.values_list("id", flat=True):
        with transaction.atomic():
            experiment = (
                Experiment.objects.select_for_update(skip_locked=True)
                .filter(id=experiment_id, status=Status.RUNNING)
                .first()
            )
            if experiment is None:
                continue
            allocation_recompute(experiment=experiment)
            done += 1
    if done:
        with transaction.atomic():
            serving_version_bump()
    return done
