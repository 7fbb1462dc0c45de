"""Recount every arm's posterior from the ledger alone, for audits and tests.

Uses the same attribution rules as the incremental update, replayed from scratch over
all ledger events in order. The incremental posteriors must equal this exactly.
"""

from django.conf import settings

from experiments.models import Event
from experiments.services.attribution import Attribution, ExposureState, outcomes_attribute
from experiments.services.posteriors import exposure_state_new, ledger_event

COUNTERS = ("trials", "clicks", "add_to_carts", "purchases")


def posteriors_recount() -> dict[int, dict[str, float]]:
    """arm_id -> {trials, clicks, add_to_carts, purchases, revenue_sum} over the whole ledger."""
    events = list(Event.objects.order_by("id"))
    exposures: dict[str, ExposureState] = {}
    attribution = Attribution()
    for event in events:
        if event.decision_key and event.decision_key not in exposures:
            exposure = exposure_state_new(event)
            exposures[event.decision_key] = exposure
            attribution.trial(exposure)
    outcomes_attribute(
        [ledger_event(e) for e in events],
        exposures,
        window_s=settings.ATTRIBUTION_WINDOW_S,
        skew_s=settings.EVENT_MAX_FUTURE_SKEW_S,
        attribution=attribution,
    )
    return {
        arm_id: {**{c: getattr(inc, c) for c in COUNTERS}, "revenue_sum": round(inc.revenue_sum, 6)}
        for arm_id, inc in attribution.increments.items()
    }


def posteriors_stored() -> dict[int, dict[str, float]]:
    """The same figures as ``posteriors_recount``, read from the posterior rows."""
    from experiments.models import Posterior

    return {
        p.arm_id: {**{c: getattr(p, c) for c in COUNTERS}, "revenue_sum": round(p.revenue_sum, 6)}
        for p in Posterior.objects.all()
        if p.trials or p.clicks or p.purchases
    }
