"""Recount every arm's posterior from the ledger alone, for audits and tests.

Uses the same attribution rules as the incremental update, replayed from scratch over
all ledger events in the ledger's order, (xid, id) (``services/ledger_order.py``). The
incremental posteriors must equal this exactly.
"""

from collections import defaultdict

from django.conf import settings

from bandits.clustered import ClusterSums
from experiments.domain.attribution import Attribution, ExposureState, outcomes_attribute
from experiments.domain.ledger_events import event_unit, exposure_state_new, ledger_event
from experiments.models import Event
from experiments.models.posteriors import CLUSTER_FIELDS, UNIT_OUTCOMES
from experiments.selectors.experiment_units import experiment_units

COUNTERS = ("trials", "clicks", "add_to_carts", "purchases")


def _cluster_sums(attribution: Attribution) -> dict[int, dict[str, int]]:
    """Per arm, ``CLUSTER_FIELDS`` straight from the final per-unit counts (no increments)."""
    per_arm: dict[int, list] = defaultdict(list)
    for (arm_id, _), inc in attribution.units.items():
        per_arm[arm_id].append(inc)
    result = {}
    for arm_id, units in per_arm.items():
        n = [u.trials for u in units]
        row = {}
        for outcome in UNIT_OUTCOMES:
            sums = ClusterSums.from_units([0] * len(units), n, [getattr(u, outcome) for u in units], n_arms=1)
            row |= {"units": sums.units[0], "trials_sq_sum": sums.trials_sq[0]}
            row |= {f"{outcome}_sq_sum": sums.successes_sq[0], f"{outcome}_cross_sum": sums.cross[0]}
        result[arm_id] = {name: int(row[name]) for name in CLUSTER_FIELDS}
    return result


def posteriors_recount() -> dict[int, dict[str, float]]:
    """arm_id -> {trials, clicks, add_to_carts, purchases, revenue_sum, and the sums over units of
    session and user experiments} over the whole ledger."""
    events = list(Event.objects.order_by("xid", "id"))
    units = experiment_units({e.decision["experiment_id"] for e in events if e.decision_key} - {None})
    exposures: dict[str, ExposureState] = {}
    attribution = Attribution()
    for event in events:
        if event.decision_key and event.decision_key not in exposures:
            exposure = exposure_state_new(event, event_unit(event, units))
            exposures[event.decision_key] = exposure
            attribution.trial(exposure)
    outcomes_attribute(
        [ledger_event(e) for e in events],
        exposures,
        window_s=settings.ATTRIBUTION_WINDOW_S,
        skew_s=settings.EVENT_MAX_FUTURE_SKEW_S,
        attribution=attribution,
    )
    cluster = _cluster_sums(attribution)
    empty = dict.fromkeys(CLUSTER_FIELDS, 0)
    return {
        arm_id: {
            **{c: getattr(inc, c) for c in COUNTERS},
            "revenue_sum": round(inc.revenue_sum, 6),
            **cluster.get(arm_id, empty),
        }
        for arm_id, inc in attribution.increments.items()
    }


def posteriors_stored() -> dict[int, dict[str, float]]:
    """The same figures as ``posteriors_recount``, read from the posterior rows."""
    from experiments.models import Posterior

    return {
        p.arm_id: {
            **{c: getattr(p, c) for c in COUNTERS},
            "revenue_sum": round(p.revenue_sum, 6),
            **{f: getattr(p, f) for f in CLUSTER_FIELDS},
        }
        for p in Posterior.objects.all()
        if p.trials or p.clicks or p.purchases
    }
