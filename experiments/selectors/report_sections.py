"""Analyst sections of the experiment report, each a JSON-ready dict built from the bandits package.

Every section degrades to a ``note`` instead of failing the whole report when the data cannot
support it yet (no traffic, a control without successes, no finished epoch).
"""

import math

import numpy as np
from scipy import stats as scipy_stats

from bandits import BanditError, BetaBernoulli
from bandits.epochs import epoch_estimates
from bandits.mde import tau_from_mde
from bandits.sample_ratio import sample_ratio_check
from bandits.sequential import msprt_two_proportions
from experiments.domain import report_numbers
from experiments.domain.fixed_split import fixed_split_weights
from experiments.models import PosteriorEpoch
from experiments.selectors.guardrail_rules import guardrails_evaluate
from experiments.selectors.reward_models import SUCCESS_FIELD

DENSITY_POINTS = 120


def finite(value) -> float | None:
    """A JSON-safe float: None for NaN or infinity."""
    value = float(value)
    return value if math.isfinite(value) else None


def guardrails_section(experiment, posteriors, control: int, *, draws: int, seed: int) -> list[dict]:
    """Each guardrail row: P(worse than control beyond tolerance) per arm, with the rule's threshold.

    ``breach`` is today's verdict; an arm's sticky flag (it breached once, so it stays held and
    cannot be promoted) is the report arm's ``guardrail_breach``.
    """
    arms = [p.arm for p in posteriors]
    evaluation = guardrails_evaluate(
        experiment=experiment, posteriors=posteriors, control=control, draws=draws, seed=seed
    )
    result = [
        {
            "metric": metric,
            "tolerance": check.tolerance,
            "breach": check.any_breach,
            "breach_probability": check.breach_probability,
            "arms": [
                {"arm": arm.key, "prob_worse": float(check.prob_worse[i]), "breach": bool(check.breach[i])}
                for i, arm in enumerate(arms)
            ],
        }
        for metric, check in evaluation.checks.items()
    ]
    unchecked = [
        {"metric": str(rule.metric), "breach": False, "note": f"not checked: {problem}"}
        for rule, problem in evaluation.unchecked
    ]
    return result + unchecked


def arm_guardrail_breach(arm) -> dict | None:
    """The arm's sticky guardrail flag for the report: the rule and figures, and since when."""
    if arm.guardrail_breached_at is None:
        return None
    return {**(arm.guardrail_breach or {}), "since": arm.guardrail_breached_at.isoformat()}


def _epoch_matrix(experiment, arms) -> tuple[np.ndarray, np.ndarray, list[int]]:
    field = SUCCESS_FIELD[experiment.reward_metric]
    rows = PosteriorEpoch.objects.filter(arm__in=arms).values_list(
        "arm_id", "allocation_version", "trials", field
    )
    versions = sorted({r[1] for r in rows})
    index = {a.id: k for k, a in enumerate(arms)}
    where = {v: e for e, v in enumerate(versions)}
    s = np.zeros((len(versions), len(arms)))
    n = np.zeros((len(versions), len(arms)))
    for arm_id, version, trials, successes in rows:
        n[where[version], index[arm_id]] = trials
        s[where[version], index[arm_id]] = successes
    return s, n, versions


def _epoch_disagreement(arm, row: dict) -> str | None:
    """How one arm's pooled and stratified uplift differ, or None when each lies in the other's interval."""
    if row["stratified_uplift"] is None or row["pooled_uplift"] is None:
        return None
    inside_stratified = (
        row["stratified_uplift_ci_low"] <= row["pooled_uplift"] <= row["stratified_uplift_ci_high"]
    )
    inside_pooled = row["pooled_uplift_ci_low"] <= row["stratified_uplift"] <= row["pooled_uplift_ci_high"]
    if inside_stratified and inside_pooled:
        return None
    stratified_ci = report_numbers.interval(
        report_numbers.signed_percent(row["stratified_uplift_ci_low"]),
        report_numbers.signed_percent(row["stratified_uplift_ci_high"]),
    )
    return (
        f"{arm.variant.key} (arm {arm.key}) pooled {report_numbers.signed_percent(row['pooled_uplift'])} vs "
        f"stratified {report_numbers.signed_percent(row['stratified_uplift'])} ({stratified_ci})"
    )


def _epoch_rows(arms, control: int, est, with_data: list[int]) -> list[dict]:
    """One row per arm; an arm without impressions, or the control, has no uplift ("–")."""
    rows = []
    position = {arm_index: k for k, arm_index in enumerate(with_data)}
    low, high = est.stratified_uplift_ci
    pooled_low, pooled_high = est.pooled_uplift_ci
    # The delta-method intervals are symmetric and can reach below -100%, which no rate can lose:
    # the shown interval stops at -100%.
    low, pooled_low = np.maximum(low, -1.0), np.maximum(pooled_low, -1.0)
    for i, arm in enumerate(arms):
        k = position.get(i)
        compared = k is not None and i != control
        rows.append(
            {
                "arm": arm.key,
                "stratified_rate": finite(est.stratified_rate[k]) if k is not None else None,
                "pooled_rate": finite(est.pooled_rate[k]) if k is not None else None,
                "stratified_uplift": finite(est.stratified_uplift[k]) if compared else None,
                "stratified_uplift_ci_low": finite(low[k]) if compared else None,
                "stratified_uplift_ci_high": finite(high[k]) if compared else None,
                "pooled_uplift": finite(est.pooled_uplift[k]) if compared else None,
                "pooled_uplift_ci_low": finite(pooled_low[k]) if compared else None,
                "pooled_uplift_ci_high": finite(pooled_high[k]) if compared else None,
            }
        )
    return rows


def epochs_section(experiment, arms, control: int) -> dict:
    """Epoch-stratified rates and uplift beside the pooled ones. They "agree" only when each arm's
    pooled uplift lies in its stratified interval and the other way round; otherwise one sentence
    says which arms differ and why. Arms without impressions are left out of the estimates."""
    s, n, versions = _epoch_matrix(experiment, arms)
    if not versions:
        return {"available": False, "note": "No allocation epoch has traffic yet."}
    with_data = [i for i in range(len(arms)) if n[:, i].sum() > 0]
    if control not in with_data:
        return {
            "available": False,
            "note": "The control has no impressions yet, so there is no uplift to stratify.",
        }
    try:
        est = epoch_estimates(s[:, with_data], n[:, with_data], control=with_data.index(control))
    except BanditError as exc:
        return {"available": False, "note": str(exc)}
    rows = _epoch_rows(arms, control, est, with_data)
    differences = [d for arm, row in zip(arms, rows, strict=True) if (d := _epoch_disagreement(arm, row))]
    if differences:
        note = (
            "Pooled and epoch-stratified uplift differ beyond their 95% intervals for "
            f"{'; '.join(differences)}: "
            "the base rate drifted while the weights moved, so trust the stratified figure."
        )
    elif any(row["stratified_uplift"] is not None for row in rows):
        note = "Pooled and epoch-stratified uplift agree: each lies within the other's 95% interval."
    else:
        note = "No arm beside the control has impressions yet, so there is no uplift to compare."
    return {
        "available": True,
        "epochs": len(versions),
        "arms": rows,
        "disagree": bool(differences),
        "note": note,
    }


def _looks(experiment, arms, stats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative (trials, successes, design effect) per arm at each allocation snapshot and now;
    each (n_arms, n_looks). A snapshot without a design effect (request units, or taken before
    units were counted) reads today's, which is 1 for request units."""
    current = np.ones(len(arms)) if stats.design_effect is None else stats.design_effect
    trials, successes, effects = [], [], []
    for snapshot in experiment.snapshots.order_by("allocation_version"):
        by_arm = {row["arm"]: row for row in snapshot.arms}
        if all(a.key in by_arm for a in arms):
            trials.append([by_arm[a.key]["trials"] for a in arms])
            successes.append([by_arm[a.key]["successes"] for a in arms])
            effects.append([by_arm[a.key].get("design_effect", current[i]) for i, a in enumerate(arms)])
    trials.append(stats.trials.tolist())
    successes.append(stats.successes.tolist())
    effects.append(current.tolist())
    return (
        np.array(trials, dtype=float).T,
        np.array(successes, dtype=float).T,
        np.array(effects, dtype=float).T,
    )


def sample_ratio_section(intended: list[float], trials) -> dict:
    """A fixed split's sample-ratio check of the arms' trials (n_arms,) against the intended split:
    ``{"srm": {...}}``, or ``{"srm": None, "srm_note": why}`` when it cannot run yet. The report's
    fixed-split section and the experiment lists both read it, so they warn alike."""
    try:
        srm = sample_ratio_check(trials, intended)
    except BanditError as exc:
        return {"srm": None, "srm_note": str(exc)}
    return {
        "srm": {
            "p_value": finite(srm.p_value),
            "mismatch": srm.mismatch,
            "alpha": srm.alpha,
            "observed_share": [float(x) for x in srm.observed_share],
            "intended_share": intended,
        }
    }


def fixed_split_section(experiment, arms, stats, control: int) -> dict | None:
    """For fixed splits: the sample-ratio check and the always-valid (mSPRT) interval of each arm."""
    intended = fixed_split_weights(policy=experiment.policy, fixed_weights=[a.fixed_weight for a in arms])
    if intended is None:
        return None
    section: dict = {**sample_ratio_section(intended, stats.trials), "sequential": []}
    if experiment.reward_metric == "revenue":
        return section
    trials, successes, effects = _looks(experiment, arms, stats)
    mde = experiment.minimum_detectable_effect
    section["mde"] = mde
    section["mde_note"] = (
        f"The always-valid test is tuned to detect a difference of {mde:.4g} (the experiment's minimum "
        "detectable effect): most powerful there, somewhat slower for much larger differences; its "
        "false-positive rate stays at or below 5% whatever the setting."
    )
    for i, arm in enumerate(arms):
        if i == control:
            continue
        test = msprt_two_proportions(
            successes[control],
            trials[control],
            successes[i],
            trials[i],
            tau=tau_from_mde(mde),
            design_effect_a=effects[control],
            design_effect_b=effects[i],
        )
        section["sequential"].append(
            {
                "arm": arm.key,
                "difference": finite(test.difference[-1]),
                "ci_low": finite(test.ci_low[-1]),
                "ci_high": finite(test.ci_high[-1]),
                "p_value": finite(test.p_value[-1]),
                "reject": bool(test.reject[-1]),
            }
        )
    return section


def densities_section(post, arms, *, draws: int, seed: int) -> dict:
    """Posterior density of each arm's rate (exact Beta pdf) or revenue per impression (histogram)."""
    if isinstance(post, BetaBernoulli):
        lo = float(np.min(scipy_stats.beta.ppf(0.0005, post.alpha, post.beta)))
        hi = float(np.max(scipy_stats.beta.ppf(0.9995, post.alpha, post.beta)))
        x = np.linspace(lo, hi, DENSITY_POINTS)
        curves = [scipy_stats.beta.pdf(x, post.alpha[i], post.beta[i]) for i in range(post.n_arms)]
        return {
            "kind": "rate",
            "x": x.tolist(),
            "arms": [
                {"arm": a.key, "density": [finite(v) for v in c]} for a, c in zip(arms, curves, strict=True)
            ],
        }
    samples = post.sample(min(draws, 20_000), np.random.default_rng(seed))
    low, high = np.quantile(samples, [0.001, 0.999])
    bins = np.linspace(low, max(high, low + 1e-9), 61)
    centres = (bins[:-1] + bins[1:]) / 2
    curves = [np.histogram(samples[:, i], bins=bins, density=True)[0] for i in range(post.n_arms)]
    return {
        "kind": "revenue_per_impression",
        "x": centres.tolist(),
        "arms": [
            {"arm": a.key, "density": [finite(v) for v in c]} for a, c in zip(arms, curves, strict=True)
        ],
    }
