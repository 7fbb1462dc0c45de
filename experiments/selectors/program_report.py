"""The whole program against the global holdout: CTR, conversion, AOV and revenue per session.

Exposure rows split into the holdout (``holdout=True``: each slot's baseline, whatever has been
promoted since) and the program (everything else: running experiments and default serving).
Holdout is per shopper, so a session is all-holdout or all-program. CTR is per decision (Beta
posteriors, Monte Carlo uplift); conversion is sessions with a purchase; AOV (revenue per
purchasing session) and revenue per session get a percentile bootstrap over sessions. Revenue is
what the attribution credited to decisions.

Exposures do not record the variant, so a baseline changed (``slot_baseline_change``) while the
report's data was logged mixes two baselines in the holdout: decision counts and CTR read every
exposure ever logged, so they mix for good; the session metrics read the most recent
``SESSION_MAX_ROWS`` exposures, so they mix until that many have been logged after the change.
The report lists each slot's baseline and every baseline change since its oldest exposure.
"""

from collections import defaultdict

import numpy as np
from django.db.models import Count, Min, Q

from bandits import BanditError, BetaBernoulli
from bandits.uplift import uplift_vs_control
from experiments.models import Exposure, ProgramSettings
from experiments.selectors.slot_roles import baseline_changes, slot_baselines

PROGRAM_DRAWS = 50_000
BOOTSTRAP_RESAMPLES = 500
SESSION_MAX_ROWS = 500_000
GROUPS = ("holdout", "program")


def _sessions() -> dict[str, dict[str, list[float]]]:
    """Per group: each session's purchased flag and revenue."""
    totals: dict[tuple[bool, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    rows = Exposure.objects.order_by("-id").values_list("holdout", "session_id", "purchased", "revenue")
    for holdout, session, purchased, revenue in rows[:SESSION_MAX_ROWS].iterator():
        entry = totals[(holdout, session)]
        entry[0] = max(entry[0], float(purchased))
        entry[1] += revenue
    out = {g: {"purchased": [], "revenue": []} for g in GROUPS}
    for (holdout, _), (purchased, revenue) in totals.items():
        group = out["holdout" if holdout else "program"]
        group["purchased"].append(purchased)
        group["revenue"].append(revenue)
    return out


def _beta_metric(successes: list[int], trials: list[int]) -> dict:
    values = [s / n if n else None for s, n in zip(successes, trials, strict=True)]
    row = {"holdout": values[0], "program": values[1], "uplift": None, "ci_low": None, "ci_high": None}
    if min(trials) == 0:
        return row
    post = BetaBernoulli.from_counts(successes=successes, trials=trials)
    try:
        summary = uplift_vs_control(post, control=0, draws=PROGRAM_DRAWS, seed=0)
    except BanditError:
        return row
    row.update(
        uplift=float(summary.mean[1]), ci_low=float(summary.ci_low[1]), ci_high=float(summary.ci_high[1])
    )
    row["prob_better"] = float(summary.prob_beats_control[1])
    return row


def _bootstrap_metric(holdout: np.ndarray, program: np.ndarray, seed: int) -> dict:
    """Mean of each group and the bootstrap interval of program / holdout - 1."""
    row = {
        "holdout": float(holdout.mean()) if len(holdout) else None,
        "program": float(program.mean()) if len(program) else None,
        "uplift": None,
        "ci_low": None,
        "ci_high": None,
    }
    if not len(holdout) or not len(program) or holdout.mean() <= 0:
        return row
    rng = np.random.default_rng(seed)
    ratios = []
    for _ in range(BOOTSTRAP_RESAMPLES):
        base = holdout[rng.integers(0, len(holdout), len(holdout))].mean()
        if base > 0:
            ratios.append(program[rng.integers(0, len(program), len(program))].mean() / base - 1.0)
    row["uplift"] = float(program.mean() / holdout.mean() - 1.0)
    if len(ratios) >= 2:
        row["ci_low"], row["ci_high"] = (float(x) for x in np.percentile(ratios, [2.5, 97.5]))
    return row


def program_report_build() -> dict:
    """The program report (JSON-ready): decisions and sessions per group, and four metrics with uplift."""
    counts = Exposure.objects.aggregate(
        holdout_decisions=Count("id", filter=Q(holdout=True)),
        holdout_clicks=Count("id", filter=Q(holdout=True, clicked=True)),
        program_decisions=Count("id", filter=Q(holdout=False)),
        program_clicks=Count("id", filter=Q(holdout=False, clicked=True)),
        default_decisions=Count("id", filter=Q(holdout=False, experiment_id__isnull=True)),
        oldest=Min("served_at"),
    )
    sessions = _sessions()
    arrays = {g: {k: np.array(v, dtype=float) for k, v in sessions[g].items()} for g in GROUPS}
    n_sessions = [len(arrays[g]["purchased"]) for g in GROUPS]
    buyers = [int(arrays[g]["purchased"].sum()) for g in GROUPS]
    order_values = {g: arrays[g]["revenue"][arrays[g]["purchased"] > 0] for g in GROUPS}
    return {
        "holdout_share": ProgramSettings.load().holdout_share,
        "baselines": slot_baselines(),
        "baseline_changes": [c.as_dict() for c in baseline_changes(since=counts["oldest"])]
        if counts["oldest"] is not None
        else [],
        "decisions": {"holdout": counts["holdout_decisions"], "program": counts["program_decisions"]},
        "default_serving_decisions": counts["default_decisions"],
        "sessions": dict(zip(GROUPS, n_sessions, strict=True)),
        "metrics": {
            "ctr": _beta_metric(
                [counts["holdout_clicks"], counts["program_clicks"]],
                [counts["holdout_decisions"], counts["program_decisions"]],
            ),
            "conversion": _beta_metric(buyers, n_sessions),
            "average_order_value": _bootstrap_metric(order_values["holdout"], order_values["program"], 1),
            "revenue_per_session": _bootstrap_metric(
                arrays["holdout"]["revenue"], arrays["program"]["revenue"], 2
            ),
        },
    }
