"""The report's arm rows, with their decision figures taken from the allocation that set the weights.

P(best), expected loss, uplift and the stopping verdict come from the latest ``PosteriorSnapshot``:
the allocation computed them and set the current weights from them, so the report shows exactly
what the bandit acted on instead of drawing again and disagreeing by Monte Carlo noise. Today's
counts and posterior mean sit beside them, with how many impressions arrived since. Before the
first allocation (an experiment just started) the figures are computed now, and the report says so.
"""

from bandits import expected_loss, prob_best
from experiments.domain import report_numbers
from experiments.domain.arm_summary import observed_mean, report_arm_row
from experiments.domain.control_uplift import uplift_rows
from experiments.models import PosteriorSnapshot
from experiments.models.experiments import Status

TIME_FORMAT = "%Y-%m-%d %H:%M UTC"


def latest_snapshot(experiment) -> PosteriorSnapshot | None:
    return PosteriorSnapshot.objects.filter(experiment=experiment).order_by("-allocation_version").first()


def latest_arm_rows(experiment_id: int) -> dict[str, dict]:
    """The latest allocation's summary row per arm key (empty before the first allocation)."""
    snapshot = (
        PosteriorSnapshot.objects.filter(experiment_id=experiment_id).order_by("-allocation_version").first()
    )
    return {row.get("arm"): row for row in snapshot.arms} if snapshot else {}


def _snapshot_rows(snapshot: PosteriorSnapshot | None, arms) -> dict | None:
    """The snapshot's row per arm key, or None when it cannot speak for every arm."""
    if snapshot is None:
        return None
    rows = {row.get("arm"): row for row in snapshot.arms}
    for arm in arms:
        row = rows.get(arm.key)
        if row is None or row.get("prob_best") is None or row.get("expected_loss") is None:
            return None
    return rows


def _live_rows(arms, stats, post, *, control: int, draws: int, seed: int) -> dict:
    """Decision figures drawn now, in the snapshot's shape, for an experiment with no usable snapshot."""
    pbest = prob_best(post, draws=draws, seed=seed)
    loss = expected_loss(post, draws=draws, seed=seed)
    uplift = uplift_rows(post, control=control, draws=draws, seed=seed)
    return {
        arm.key: {
            **uplift[i],
            "prob_best": float(pbest[i]),
            "expected_loss": float(loss[i]),
            "trials": int(stats.trials[i]),
            "successes": int(stats.successes[i]),
        }
        for i, arm in enumerate(arms)
    }


def _computed_now(latest: PosteriorSnapshot | None, *, draws: int) -> dict:
    reason = (
        "No allocation has run yet"
        if latest is None
        else f"The latest allocation snapshot (version {latest.allocation_version}) does not cover every arm"
    )
    return {
        "source": "now",
        "allocation_version": None,
        "created_at": None,
        "impressions_since": 0,
        "text": f"{reason}, so P(best), expected loss, uplift and the stopping verdict are computed now "
        f"from {report_numbers.count(draws)} posterior draws.",
    }


def _snapshot_as_of(experiment, snapshot: PosteriorSnapshot, rows: dict, stats, arms) -> dict:
    """The snapshot the decision figures come from, with the impressions that arrived since, in words too."""
    since = int(stats.trials.sum()) - sum(int(rows[a.key].get("trials", 0)) for a in arms)
    which = "which set the current weights" if experiment.status == Status.RUNNING else "the last allocation"
    since_words = (
        "no impressions since"
        if since == 0
        else f"{report_numbers.count(since)} impression{'' if since == 1 else 's'} since"
    )
    return {
        "source": "snapshot",
        "allocation_version": snapshot.allocation_version,
        "created_at": snapshot.created_at.isoformat(),
        "impressions_since": since,
        "text": f"P(best), expected loss, uplift and the stopping verdict are as of allocation version "
        f"{snapshot.allocation_version} at {snapshot.created_at.strftime(TIME_FORMAT)} ({which}); "
        f"{since_words}. Impressions, observed rates and posterior means are as of now.",
    }


def arm_summaries(
    *, experiment, arms, stats, post, control: int, holdout: float, draws: int, seed: int
) -> tuple[list[dict], dict, PosteriorSnapshot | None]:
    """The arm rows (without the report's per-arm extras), where their figures come from, and the
    snapshot they come from (None when computed now)."""
    latest = latest_snapshot(experiment)
    rows = _snapshot_rows(latest, arms)
    snapshot = latest if rows is not None else None
    if snapshot is None:
        rows = _live_rows(arms, stats, post, control=control, draws=draws, seed=seed)
        as_of = _computed_now(latest, draws=draws)
    else:
        as_of = _snapshot_as_of(experiment, snapshot, rows, stats, arms)
    mean = post.mean()
    low, high = post.interval(0.95)
    serving = experiment.status == Status.RUNNING
    result = []
    for i, arm in enumerate(arms):
        trials = int(stats.trials[i])
        observed = stats.revenue_sum[i] if experiment.reward_metric == "revenue" else stats.successes[i]
        result.append(
            report_arm_row(
                snapshot_row=rows[arm.key],
                arm_key=arm.key,
                variant=arm.variant.key,
                control=arm.is_control,
                trials=trials,
                successes=int(stats.successes[i]),
                observed=observed_mean(trials, float(observed)),
                weight=float(arm.weight),
                traffic_share=float(arm.weight * (1.0 - holdout)) if serving else None,
                posterior={"mean": float(mean[i]), "ci_low": float(low[i]), "ci_high": float(high[i])},
            )
        )
    return result, as_of, snapshot
