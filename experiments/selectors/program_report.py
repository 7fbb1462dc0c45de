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

A metric whose holdout has fewer than ``MIN_HOLDOUT_OUTCOMES`` of the outcomes it counts (clicks
for CTR, purchasing sessions for the other three) is marked ``measurable: false`` with a warning
(code ``holdout_too_small``): its interval would be wider than any uplift worth reporting (with 30
outcomes the holdout's own rate is uncertain by about +-36% at 95%), and a ratio of two tiny
counts reads as "+982%". The figures stay in the JSON and CSV; the page shows the warning instead.
"""

from collections import defaultdict
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from bandits import BanditError, BetaBernoulli
from bandits.uplift import uplift_vs_control
from experiments.domain.report_numbers import currency_symbol
from experiments.models import Exposure, ProgramSettings, Slot
from experiments.selectors.slot_roles import baseline_changes, slot_baselines

PROGRAM_DRAWS = 50_000
BOOTSTRAP_RESAMPLES = 500
SESSION_MAX_ROWS = 500_000
GROUPS = ("holdout", "program")
MIN_HOLDOUT_OUTCOMES = 30
TIME_BUCKETS = 24
# name: (label in words with its unit, unit, the holdout outcome it counts: (one, many))
METRICS = {
    "ctr": ("Click-through rate (clicks per recommendation shown, %)", "rate", ("click", "clicks")),
    "conversion": (
        "Conversion (sessions with a purchase, %)",
        "rate",
        ("purchasing session", "purchasing sessions"),
    ),
    "average_order_value": (
        "Average order value (revenue per purchasing session, {cur})",
        "currency",
        ("order", "orders"),
    ),
    "revenue_per_session": ("Revenue per session ({cur})", "currency", ("order", "orders")),
}


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


def _ctr_over_time(since: datetime | None, until: datetime | None) -> dict:
    """Cumulative CTR of each group at the end of ``TIME_BUCKETS`` equal slices of the logged time."""
    series: dict = {"time": [], "holdout": [], "program": []}
    if since is None or until is None or until <= since:
        return series
    step = (until - since) / TIME_BUCKETS
    counts = np.zeros((2, 2, TIME_BUCKETS))  # group (holdout, program), (decisions, clicks), bucket
    rows = Exposure.objects.order_by("-id").values_list("served_at", "holdout", "clicked")
    for served_at, holdout, clicked in rows[:SESSION_MAX_ROWS].iterator():
        bucket = min(int((served_at - since) / step), TIME_BUCKETS - 1)
        group = 0 if holdout else 1
        counts[group, 0, bucket] += 1
        counts[group, 1, bucket] += clicked
    totals = counts.cumsum(axis=2)
    for b in range(TIME_BUCKETS):
        series["time"].append(since + step * (b + 1))
        for g, name in enumerate(GROUPS):
            n = totals[g, 0, b]
            series[name].append(float(totals[g, 1, b] / n) if n else None)
    return series


def _slot_ctr() -> list[dict]:
    """Per slot: decisions and CTR of each group, beside the baseline the holdout is served."""
    keys = dict(Slot.objects.values_list("id", "key"))
    baselines = {b["slot"]: b["variant"] for b in slot_baselines()}
    rows = Exposure.objects.values("slot_id", "holdout").annotate(
        decisions=Count("id"), clicks=Count("id", filter=Q(clicked=True))
    )
    by_slot: dict[str, dict] = {}
    for row in rows:
        key = keys.get(row["slot_id"], str(row["slot_id"]))
        entry = by_slot.setdefault(key, {"slot": key, "baseline": baselines.get(key)})
        group = "holdout" if row["holdout"] else "program"
        entry[f"{group}_decisions"] = row["decisions"]
        entry[f"{group}_ctr"] = row["clicks"] / row["decisions"] if row["decisions"] else None
    order = [b["slot"] for b in slot_baselines()]
    return sorted(
        by_slot.values(), key=lambda e: order.index(e["slot"]) if e["slot"] in order else len(order)
    )


def _measurability(metrics: dict, holdout_outcomes: dict[str, int], holdout_sessions: int) -> list[dict]:
    """Mark each metric measurable or not, and say why not: ``[{"code", "metric", "message"}]``."""
    warnings = []
    for name, metric in metrics.items():
        label, unit, outcome = METRICS[name]
        label = label.format(cur=currency_symbol(settings.SHOP_CURRENCY))
        have = holdout_outcomes[name]
        metric.update(label=label, unit=unit, holdout_outcomes=have)
        metric["measurable"] = have >= MIN_HOLDOUT_OUTCOMES
        if not metric["measurable"]:
            warnings.append(
                {
                    "code": "holdout_too_small",
                    "metric": name,
                    "message": f"{holdout_sessions:,} holdout sessions with {have:,} {outcome[have != 1]}: "
                    f"too few to measure {label.split(' (')[0].lower()} "
                    f"(at least {MIN_HOLDOUT_OUTCOMES} needed)",
                }
            )
    return warnings


def program_report_build() -> dict:
    """The program report (JSON-ready): decisions and sessions per group, four metrics with uplift
    (each with its label, unit and whether the holdout is big enough to measure it), warnings,
    CTR over time and per slot."""
    counts = Exposure.objects.aggregate(
        holdout_decisions=Count("id", filter=Q(holdout=True)),
        holdout_clicks=Count("id", filter=Q(holdout=True, clicked=True)),
        program_decisions=Count("id", filter=Q(holdout=False)),
        program_clicks=Count("id", filter=Q(holdout=False, clicked=True)),
        default_decisions=Count("id", filter=Q(holdout=False, experiment_id__isnull=True)),
        oldest=Min("served_at"),
        newest=Max("served_at"),
    )
    sessions = _sessions()
    arrays = {g: {k: np.array(v, dtype=float) for k, v in sessions[g].items()} for g in GROUPS}
    n_sessions = [len(arrays[g]["purchased"]) for g in GROUPS]
    buyers = [int(arrays[g]["purchased"].sum()) for g in GROUPS]
    order_values = {g: arrays[g]["revenue"][arrays[g]["purchased"] > 0] for g in GROUPS}
    metrics = {
        "ctr": _beta_metric(
            [counts["holdout_clicks"], counts["program_clicks"]],
            [counts["holdout_decisions"], counts["program_decisions"]],
        ),
        "conversion": _beta_metric(buyers, n_sessions),
        "average_order_value": _bootstrap_metric(order_values["holdout"], order_values["program"], 1),
        "revenue_per_session": _bootstrap_metric(
            arrays["holdout"]["revenue"], arrays["program"]["revenue"], 2
        ),
    }
    holdout_outcomes = {
        "ctr": counts["holdout_clicks"],
        "conversion": buyers[0],
        "average_order_value": buyers[0],
        "revenue_per_session": buyers[0],
    }
    return {
        "computed_at": timezone.now(),
        "data_from": counts["oldest"],
        "data_to": counts["newest"],
        "currency": settings.SHOP_CURRENCY,
        "holdout_share": ProgramSettings.load().holdout_share,
        "baselines": slot_baselines(),
        "baseline_changes": [c.as_dict() for c in baseline_changes(since=counts["oldest"])]
        if counts["oldest"] is not None
        else [],
        "decisions": {"holdout": counts["holdout_decisions"], "program": counts["program_decisions"]},
        "default_serving_decisions": counts["default_decisions"],
        "sessions": dict(zip(GROUPS, n_sessions, strict=True)),
        "min_holdout_outcomes": MIN_HOLDOUT_OUTCOMES,
        "warnings": _measurability(metrics, holdout_outcomes, n_sessions[0]),
        "metrics": metrics,
        "ctr_over_time": _ctr_over_time(counts["oldest"], counts["newest"]),
        "slots": _slot_ctr(),
    }
