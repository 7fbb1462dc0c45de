"""One row per experiment for the lists analysts and merchandisers scan: the reports index, its CSV
and JSON, the admin's experiment changelist and its "Needs attention" panel.

Every figure of a row comes from the experiment's latest allocation snapshot, so the leader, its
P(best), its uplift, the decisions and the stopping state belong together (they are as of the last
allocation, not the last event). The snapshots are read as subqueries of the experiment query: one
query for all experiments, one for their arms, one for the holdout share, however many there are.
"""

from django.db.models import JSONField, OuterRef, Prefetch, QuerySet, Subquery

from experiments.domain.experiment_state import (
    ATTENTION_STATES,
    GUARDRAIL_BREACHED,
    READY,
    SRM,
    STATE_LABELS,
    experiment_state,
)
from experiments.domain.fixed_split import fixed_split_weights
from experiments.models import Arm, Experiment, PosteriorSnapshot, ProgramSettings
from experiments.models.experiments import Status

from .report_sections import sample_ratio_section

# Only a running experiment serves its arms; a draft, paused or concluded one leaves the slot to its default.
SERVING_STATUSES = (Status.RUNNING,)


def experiments_with_latest_snapshot(queryset: QuerySet) -> QuerySet:
    """``queryset`` of experiments annotated with their latest snapshot's ``snapshot_arms``,
    ``snapshot_stopping`` and ``snapshot_at`` (None before the first allocation), with its slot, winner
    and ``overview_arms`` (by key, with variants)."""
    latest = PosteriorSnapshot.objects.filter(experiment=OuterRef("pk")).order_by("-allocation_version")
    # Its own attribute, so that it sits beside a plain prefetch of "arms" (the admin's queryset has one).
    by_key = Arm.objects.select_related("variant").order_by("key")
    arms = Prefetch("arms", queryset=by_key, to_attr="overview_arms")
    return (
        queryset.select_related("slot", "winner__variant")
        .prefetch_related(arms)
        .annotate(
            snapshot_arms=Subquery(latest.values("arms")[:1], output_field=JSONField()),
            snapshot_stopping=Subquery(latest.values("stopping")[:1], output_field=JSONField()),
            snapshot_at=Subquery(latest.values("created_at")[:1]),
        )
    )


def _srm_mismatch(experiment: Experiment, arms: list, snapshot_arms: list[dict]) -> bool:
    """The report's sample-ratio check on the snapshot's trials; False for a bandit policy."""
    intended = fixed_split_weights(policy=experiment.policy, fixed_weights=[a.fixed_weight for a in arms])
    if intended is None or not snapshot_arms:
        return False
    trials = {row["arm"]: row.get("trials", 0) for row in snapshot_arms}
    srm = sample_ratio_section(intended, [trials.get(a.key, 0) for a in arms])["srm"]
    return bool(srm and srm["mismatch"])


def _leader_row(snapshot_arms: list[dict], stopping: dict) -> dict | None:
    """The stopping rule's leader as the allocation stored it (a revenue arm below the minimum
    purchases cannot lead); older snapshots without one: the highest P(best)."""
    if "leader" in stopping:
        return next((row for row in snapshot_arms if row["arm"] == stopping["leader"]), None)
    return max(snapshot_arms, key=lambda row: row.get("prob_best", 0.0), default=None)


def overview_row(experiment: Experiment, *, holdout_share: float) -> dict:
    """The row of one experiment from ``experiments_with_latest_snapshot``; JSON-ready."""
    arms = experiment.overview_arms
    snapshot_arms = getattr(experiment, "snapshot_arms", None) or []
    stopping = getattr(experiment, "snapshot_stopping", None) or {}
    decisions = sum(row.get("trials", 0) for row in snapshot_arms)
    # Before any decision the figures are the prior's (P(best) ~ 1/arms, uplift intervals of +-2000%):
    # noise that would read as a leader.
    leader = _leader_row(snapshot_arms, stopping) if decisions else None
    breached = [
        f"{a.variant.key} on {(a.guardrail_breach or {}).get('metric', 'a metric')}"
        for a in arms
        if a.guardrail_breached_at is not None
    ]
    srm = _srm_mismatch(experiment, arms, snapshot_arms)
    winner = experiment.winner
    state = experiment_state(
        status=experiment.status,
        stopping=stopping,
        threshold=experiment.prob_best_threshold,
        leader_prob_best=leader["prob_best"] if leader else None,
        srm_mismatch=srm,
        breached_arms=breached,
        winner=winner.variant.key if winner else None,
    )
    serving = experiment.status in SERVING_STATUSES
    return {
        "id": experiment.pk,
        "key": experiment.key,
        "slot": experiment.slot.key,
        "status": experiment.status,
        "policy": experiment.policy,
        "reward_metric": experiment.reward_metric,
        "allocation_version": experiment.allocation_version,
        "started_at": experiment.started_at,
        "concluded_at": experiment.concluded_at,
        "winner": winner.key if winner else None,
        "leader": leader["variant"] if leader else None,
        "leader_arm": leader["arm"] if leader else None,
        "leader_is_control": bool(leader and leader.get("control")),
        "prob_best": leader["prob_best"] if leader else None,
        "uplift": leader.get("uplift") if leader else None,
        "uplift_ci_low": leader.get("uplift_ci_low") if leader else None,
        "uplift_ci_high": leader.get("uplift_ci_high") if leader else None,
        "traffic_share": (leader["weight"] * (1.0 - holdout_share) if leader else None) if serving else 0.0,
        "decisions": decisions,
        "state": state.state,
        "state_label": STATE_LABELS[state.state],
        "stopping_state": state.phrase,
        "srm_mismatch": srm,
        "guardrail_breaches": breached,
        "as_of": getattr(experiment, "snapshot_at", None),
    }


def experiment_overview(*, queryset: QuerySet | None = None, state: str | None = None) -> list[dict]:
    """One row per experiment (of ``queryset``, default all), by slot then key; only ``state``'s if given."""
    queryset = Experiment.objects.all() if queryset is None else queryset
    experiments = experiments_with_latest_snapshot(queryset).order_by("slot__position", "key")
    holdout = ProgramSettings.load().holdout_share
    rows = [overview_row(e, holdout_share=holdout) for e in experiments]
    return [r for r in rows if state is None or r["state"] == state]


def experiments_needing_attention() -> list[dict]:
    """Running experiments someone should look at, by reason, in the order of ``ATTENTION_STATES``:
    ``[{"state", "label", "rows"}]``. A reason lists every experiment it holds for (an experiment
    whose state is "ready" but with a breached arm shows under both), so nothing hides behind
    another state; reasons without experiments are left out."""
    rows = experiment_overview(queryset=Experiment.objects.filter(status=Status.RUNNING))
    holds = {
        SRM: lambda row: row["srm_mismatch"],
        GUARDRAIL_BREACHED: lambda row: bool(row["guardrail_breaches"]),
        READY: lambda row: row["state"] == READY,
    }
    groups = [
        {"state": state, "label": STATE_LABELS[state], "rows": [r for r in rows if holds[state](r)]}
        for state in ATTENTION_STATES
    ]
    return [group for group in groups if group["rows"]]
