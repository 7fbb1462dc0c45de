"""Ledger events as the attribution rules read them, shared by the posterior update and the recount."""

from datetime import datetime
from typing import Any, Protocol

from experiments.domain.attribution import ExposureState, LedgerEvent, exposure_unit


class EventRow(Protocol):
    """What the update reads of an event: an ``Event`` or a row the posterior update claimed."""

    id: int
    type: str
    ts: datetime
    received_at: datetime
    session_id: str
    item_id: str
    items: list | None
    value: float | None
    decision_key: str
    decision: dict[str, Any] | None
    user_id: str


def event_unit(event: EventRow, units: dict[int, str]) -> str:
    """The unit the exposure ``event`` reveals clusters by ("" for a request experiment)."""
    return exposure_unit(
        units.get(event.decision["experiment_id"]), session_id=event.session_id, user_id=event.user_id
    )


def ledger_event(event: EventRow) -> LedgerEvent:
    return LedgerEvent(
        id=event.id,
        type=event.type,
        ts=event.ts.timestamp(),
        session_id=event.session_id,
        item_id=event.item_id,
        items=tuple(event.items or ()),
        value=event.value,
        decision_key=event.decision_key,
    )


def exposure_state_new(event: EventRow, unit: str) -> ExposureState:
    """The exposure revealed by ``event``, which quotes a decision; ``unit`` from ``event_unit``."""
    d = event.decision
    return ExposureState(
        decision_key=event.decision_key,
        first_event_id=event.id,
        experiment_id=d["experiment_id"],
        arm_id=d["arm_id"],
        slot_id=d["slot_id"],
        session_id=event.session_id,
        served_at=float(d["served_at"]),
        items=tuple(d["items"]),
        allocation_version=d["allocation_version"],
        unit=unit,
    )
