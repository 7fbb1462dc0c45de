"""Experiment reports: read-only figures computed from the arms' posteriors and the exposure log.

``report_build`` returns one JSON-ready dict (no NaN or infinity). Its core fields are the REST
contract of DESIGN.md (experiment, slot, status, reward_metric, allocation_version and per arm
trials .. weight); the analyst sections (uplift, stopping, guardrails, epochs, off-policy, history)
sit beside them and are built in ``report_sections``, ``report_history`` and ``off_policy``.
"""

from django.conf import settings

from experiments.domain.control_uplift import control_position
from experiments.models import Experiment, ProgramSettings
from experiments.selectors.reward_models import arm_stats, experiment_posterior

from .arm_summary import arm_summaries
from .experiment_overview import experiment_overview
from .off_policy import off_policy_section
from .report_history import history_section
from .report_sections import (
    arm_guardrail_breach,
    densities_section,
    epochs_section,
    finite,
    fixed_split_section,
    guardrails_section,
)
from .report_stopping import stopping_section

# 50k draws keep the Monte Carlo error of P(best) under 0.5 percentage points and a report under ~1 s;
# they serve an experiment before its first allocation and the sections the report draws itself.
REPORT_DRAWS = 50_000


def experiment_list(*, state: str | None = None) -> list[dict]:
    """The experiment list of /reports/, its CSV and /api/v1/experiments/: one overview row each."""
    return experiment_overview(state=state)


def _revenue_observed(stats, i: int) -> dict:
    """The uncapped figures beside the decision figures, which count order values at the cap."""
    trials, purchases, revenue = stats.trials[i], stats.purchases[i], float(stats.revenue_sum[i])
    return {
        "revenue_observed": revenue,
        "revenue_per_impression_observed": revenue / trials if trials else 0.0,
        "aov_observed": revenue / purchases if purchases else None,
    }


def _clustering(stats, i: int) -> dict:
    """Effective sample size beside trials: trials / design effect for session and user units (their
    decisions are correlated), the trials themselves for request units (design effect 1, no units)."""
    clustered = stats.design_effect is not None
    return {
        "effective_sample_size": float(stats.effective_trials()[i]),
        "design_effect": float(stats.design_effect[i]) if clustered else 1.0,
        "units": int(stats.units[i]) if clustered else None,
    }


def _arm_extras(experiment, arm, stats, i: int) -> dict:
    """The report's per-arm figures beyond the shared summary row."""
    extras = {**_clustering(stats, i), "guardrail_breach": arm_guardrail_breach(arm)}
    if experiment.reward_metric == "revenue":
        extras |= _revenue_observed(stats, i)
    return extras


def report_build(
    *, experiment: Experiment, draws: int = REPORT_DRAWS, seed: int = 0, full: bool = True
) -> dict:
    """The report: the contract's core per arm, then (``full``) every analyst section beside it.

    P(best), expected loss, uplift and the stopping verdict are the latest allocation snapshot's
    (``figures_as_of`` says which, and how many impressions arrived since); ``draws`` and ``seed``
    only serve an experiment no allocation has run for yet, and the sections drawn for the report.
    """
    arms = list(experiment.arms.select_related("variant", "posterior").order_by("key"))
    posteriors = [getattr(a, "posterior", None) for a in arms]
    report = {
        "experiment": experiment.key,
        "slot": experiment.slot.key,
        "status": experiment.status,
        "policy": experiment.policy,
        "reward_metric": experiment.reward_metric,
        "randomization_unit": experiment.randomization_unit,
        "allocation_version": experiment.allocation_version,
        "winner": experiment.winner.key if experiment.winner_id else None,
        "winner_variant": experiment.winner.variant.key if experiment.winner_id else None,
        "concluded_at": experiment.concluded_at.isoformat() if experiment.concluded_at else None,
        "currency": settings.SHOP_CURRENCY,
        "arms": [],
    }
    if not arms or any(p is None for p in posteriors):
        return report
    stats = arm_stats(posteriors, experiment.reward_metric)
    post = experiment_posterior(experiment=experiment, arms=arms, stats=stats)
    holdout = ProgramSettings.load().holdout_share
    control = control_position(arms)
    rows, as_of, snapshot = arm_summaries(
        experiment=experiment,
        arms=arms,
        stats=stats,
        post=post,
        control=control,
        holdout=holdout,
        draws=draws,
        seed=seed,
    )
    report["arms"] = [
        {**row, **_arm_extras(experiment, arm, stats, i)}
        for i, (arm, row) in enumerate(zip(arms, rows, strict=True))
    ]
    report["figures_as_of"] = as_of
    if experiment.reward_metric == "revenue":
        report["order_value_cap"] = finite(post.order_value.value_cap)
        report["order_value_cap_quantile"] = settings.REVENUE_VALUE_CAP_QUANTILE
    report["control_arm"] = arms[control].key
    report["allocation_draws"] = settings.ALLOCATION_DRAWS
    report["report_draws"] = draws
    report["holdout_share"] = holdout
    if not full:
        return report
    report["stopping"] = stopping_section(
        experiment, arms, report["arms"], snapshot, post, stats, draws=draws, seed=seed
    )
    report["guardrails"] = guardrails_section(experiment, posteriors, control, draws=draws, seed=seed)
    report["epochs"] = epochs_section(experiment, arms, control)
    report["fixed_split"] = fixed_split_section(experiment, arms, stats, control)
    report["off_policy"] = off_policy_section(experiment, arms)
    report["history"] = history_section(experiment, arms, report["arms"])
    report["densities"] = densities_section(post, arms, draws=draws, seed=seed)
    return report
