"""Event intake: validate each event alone, store new ones once, enqueue the posterior update."""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from django.conf import settings
from django.db import transaction

from experiments.db.sql import insert_new_returning
from experiments.domain.event_validation import EventInvalid, ValidEvent, event_validate
from experiments.models import Event
from experiments.serving.session_store import signals_update

log = logging.getLogger(__name__)
MAX_EVENTS_PER_BATCH = 1000
_COLUMNS = (
    "event_id",
    "type",
    "ts",
    "received_at",
    "session_id",
    "user_id",
    "item_id",
    "items",
    "value",
    "dwell_ms",
    "decision_key",
    "decision",
)


@dataclass
class EventsResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}


def _row(event: ValidEvent, received_at: datetime) -> tuple:
    decision = event.decision
    return (
        event.event_id,
        event.type,
        event.ts,
        received_at,
        event.session_id,
        event.user_id,
        event.item_id,
        orjson.dumps(event.items).decode() if event.items is not None else None,
        event.value,
        event.dwell_ms,
        decision.decision_key if decision else "",
        orjson.dumps(decision.as_dict()).decode() if decision else None,
    )


def events_record(*, events: list, now: datetime | None = None) -> EventsResult:
    """Validate, store and enqueue a batch. Accepted events are committed when this returns."""
    now = now or datetime.now(UTC)
    key = settings.DECISION_SIGNING_KEY.encode()
    result = EventsResult()
    valid: list[ValidEvent] = []
    seen: set[str] = set()
    for index, raw in enumerate(events):
        try:
            event = event_validate(
                raw,
                now=now,
                signing_key=key,
                max_future_s=settings.EVENT_MAX_FUTURE_SKEW_S,
                max_age_s=settings.EVENT_MAX_AGE_S,
            )
        except EventInvalid as exc:
            event_id = raw.get("event_id") if isinstance(raw, dict) else None
            result.rejected.append(
                {
                    "index": index,
                    "event_id": event_id if isinstance(event_id, str) else None,
                    "field": exc.field,
                    "code": exc.code,
                }
            )
            continue
        if event.event_id in seen:
            result.duplicates += 1
            continue
        seen.add(event.event_id)
        valid.append(event)
    rows = [_row(e, now) for e in valid]
    # Atomic by itself, and committed when it returns unless a caller's transaction is open: no
    # atomic block here, whose BEGIN and COMMIT were two more round trips per batch.
    inserted = insert_new_returning(Event, _COLUMNS, rows, conflict="event_id")
    if inserted:
        transaction.on_commit(_posterior_update_enqueue)  # at once, or when the caller's commits
    result.accepted = len(inserted)
    result.duplicates += len(valid) - len(inserted)
    signals_update([e.as_signal() for e in valid if e.event_id in inserted])
    return result


PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0.05, "interval_step": 0, "interval_max": 0.05}


def _posterior_update_enqueue() -> None:
    from experiments.tasks import posteriors_update_task

    try:
        # One quick retry, not Celery's default three 0.2 s retries: with the broker down each
        # batch would hold its web worker for 0.6 s, and the ledger keeps the events anyway.
        posteriors_update_task.apply_async(retry_policy=PUBLISH_RETRY_POLICY)
    except Exception:
        # The events are durable; the beat's periodic sweep applies them when the broker is back.
        log.exception("could not enqueue the posterior update")
