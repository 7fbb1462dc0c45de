"""Posterior update: fold unapplied ledger events into the arm posteriors, exactly once.

One transaction per batch claims events with ``SELECT ... FOR UPDATE SKIP LOCKED``,
reveals their exposures (``INSERT ... ON CONFLICT DO NOTHING`` decides which are new,
so two workers never both count a trial), locks the exposures the outcomes touch in a
fixed order (no deadlocks between workers), adds the increments to the posteriors and
marks the events applied. A crash before commit leaves everything as it was; a retry
finds the events still unapplied. In a session or user experiment the same transaction adds
each unit's counts to ``UnitStatistics`` and the change of its totals to the arm's sums over
units (``CLUSTER_FIELDS``), so those are exactly-once too.
"""

import logging
from collections import namedtuple
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np
import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from bandits.clustered import unit_sums_change
from experiments.models import Event, Experiment, Exposure, Posterior, PosteriorEpoch, UnitStatistics
from experiments.models.posteriors import STAT_FIELDS, UNIT_FIELDS, UNIT_OUTCOMES

from .attribution import Attribution, ExposureState, LedgerEvent, exposure_unit, outcomes_attribute
from .intake_order import intakes_in_flight, may_precede
from .sql import insert_new_returning, server_bound_cursor, upsert_add, upsert_add_returning

log = logging.getLogger(__name__)
BATCH_SIZE = 5_000
# What a batch reads of each claimed event: tuples with attribute access, not model instances.
_CLAIM_FIELDS = (
    "id",
    "type",
    "ts",
    "received_at",
    "session_id",
    "item_id",
    "items",
    "value",
    "decision_key",
    "decision",
    "user_id",
)
ClaimedEvent = namedtuple("ClaimedEvent", _CLAIM_FIELDS)
_EXPOSURE_COLUMNS = (
    "decision_key",
    "first_event_id",
    "experiment_id",
    "arm_id",
    "slot_id",
    "holdout",
    "allocation_version",
    "propensity",
    "session_id",
    "unit",
    "served_at",
    "items",
    "clicked",
    "added_to_cart",
    "purchased",
    "revenue",
)


class EventRow(Protocol):
    """What the update reads of an event: an ``Event`` or a claimed row of ``_CLAIM_FIELDS``."""

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


def experiment_units(experiment_ids: set[int]) -> dict[int, str]:
    """experiment id -> its randomization unit (request, session or user)."""
    return dict(Experiment.objects.filter(id__in=experiment_ids).values_list("id", "randomization_unit"))


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


def exposure_row(event: EventRow, unit: str) -> tuple:
    d = event.decision
    return (
        event.decision_key,
        event.id,
        d["experiment_id"],
        d["arm_id"],
        d["slot_id"],
        d["holdout"],
        d["allocation_version"],
        d["propensity"],
        event.session_id,
        unit,
        datetime.fromtimestamp(d["served_at"], tz=UTC),
        orjson.dumps(d["items"]).decode(),
        False,
        False,
        False,
        0.0,
    )


def _exposure_state(exposure: Exposure) -> ExposureState:
    return ExposureState(
        decision_key=exposure.decision_key,
        first_event_id=exposure.first_event_id,
        experiment_id=exposure.experiment_id,
        arm_id=exposure.arm_id,
        slot_id=exposure.slot_id,
        session_id=exposure.session_id,
        served_at=exposure.served_at.timestamp(),
        items=tuple(exposure.items),
        clicked=exposure.clicked,
        added_to_cart=exposure.added_to_cart,
        purchased=exposure.purchased,
        revenue=exposure.revenue,
        allocation_version=exposure.allocation_version,
        unit=exposure.unit,
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


def _exposures_reveal(events: list[EventRow], attribution: Attribution) -> None:
    """Insert the exposures these events reveal; count a trial for each that is really new."""
    first: dict[str, EventRow] = {}
    for event in events:
        if event.decision_key and event.decision_key not in first:
            first[event.decision_key] = event
    units = experiment_units({e.decision["experiment_id"] for e in first.values()} - {None})
    unit = {k: event_unit(e, units) for k, e in first.items()}
    rows = [exposure_row(first[k], unit[k]) for k in sorted(first)]
    created = insert_new_returning(Exposure, _EXPOSURE_COLUMNS, rows, conflict="decision_key")
    for key in created:
        attribution.trial(exposure_state_new(first[key], unit[key]))
    _exposures_reveal_earlier({k: e.id for k, e in first.items() if k not in created})


def _exposures_reveal_earlier(first_ids: dict[str, int]) -> None:
    """Move each existing exposure's reveal back to the earlier of its own and ``first_ids``'s.

    Two workers may claim neighbouring batches quoting one decision, and the one holding the
    later events may commit first: its exposure is then revealed by a later event than the
    ledger's first quote. The session outcomes between the two would not find it, where a
    recount of the ledger credits them. Rows are locked in decision-key order, as everywhere.
    """
    if not first_ids:
        return
    table = connection.ops.quote_name(Exposure._meta.db_table)
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET first_event_id = %s WHERE decision_key = %s AND first_event_id > %s",
                [(i, k, i) for k, i in sorted(first_ids.items())],
            )
        return
    keys = sorted(first_ids)
    with server_bound_cursor() as cursor:
        cursor.execute(
            f"WITH earlier AS (SELECT x.decision_key, v.first_id FROM {table} x "
            "JOIN unnest(%b::text[], %b::bigint[]) AS v(decision_key, first_id) "
            "ON x.decision_key = v.decision_key WHERE x.first_event_id > v.first_id "
            "ORDER BY x.decision_key FOR UPDATE OF x) "
            f"UPDATE {table} SET first_event_id = earlier.first_id FROM earlier "
            f"WHERE {table}.decision_key = earlier.decision_key",
            [keys, [first_ids[k] for k in keys]],
        )


def _exposures_lock(events: list[EventRow]) -> list[Exposure]:
    """Lock, in decision-key order, every exposure the outcome events could touch."""
    outcomes = [e for e in events if e.type in ("click", "add_to_cart", "purchase")]
    if not outcomes:
        return []
    window = timedelta(seconds=settings.ATTRIBUTION_WINDOW_S)
    keys = {e.decision_key for e in outcomes if e.decision_key}
    sessions = {e.session_id for e in outcomes if not e.decision_key}
    query = Q(decision_key__in=keys)
    if sessions:
        earliest = min(e.ts for e in outcomes if not e.decision_key) - window
        query |= Q(session_id__in=sessions, served_at__gte=earliest)
    return list(Exposure.objects.select_for_update().filter(query).order_by("decision_key"))


def _epochs_increment(attribution: Attribution) -> None:
    rows = [
        (arm_id, version, *(getattr(inc, f) for f in STAT_FIELDS))
        for (arm_id, version), inc in sorted(attribution.epochs.items())
    ]
    upsert_add(PosteriorEpoch, ("arm_id", "allocation_version"), STAT_FIELDS, rows)


def _units_increment(attribution: Attribution) -> dict[int, dict[str, int]]:
    """Add the batch's per-unit counts to ``UnitStatistics``; return per arm what that adds to its
    sums over units (``CLUSTER_FIELDS``).

    The upsert returns each unit's new totals, so the old ones are new minus this batch's: exact
    under concurrent workers too, whose upserts of one unit row queue on its lock (rows in key
    order, so never a deadlock). The squares telescope, so the order of batches does not matter.
    """
    keys = sorted(attribution.units)
    if not keys:
        return {}
    rows = [
        (arm_id, unit, *(getattr(attribution.units[arm_id, unit], f) for f in UNIT_FIELDS))
        for arm_id, unit in keys
    ]
    totals = upsert_add_returning(UnitStatistics, ("arm_id", "unit"), UNIT_FIELDS, rows)
    new = np.array([totals[key] for key in keys], dtype=np.float64)  # (units, UNIT_FIELDS)
    added = np.array([row[2:] for row in rows], dtype=np.float64)
    old = new - added
    arm_of = np.array([arm_id for arm_id, _ in keys])
    arms, position = np.unique(arm_of, return_inverse=True)
    columns: dict[str, np.ndarray] = {}
    for j, outcome in enumerate(UNIT_OUTCOMES, start=1):
        change = unit_sums_change(old[:, 0], old[:, j], added[:, 0], added[:, j])
        columns["units"], columns["trials_sq_sum"] = change["units"], change["trials_sq"]
        columns[f"{outcome}_sq_sum"], columns[f"{outcome}_cross_sum"] = (
            change["successes_sq"],
            change["cross"],
        )
    sums = {
        name: np.bincount(position, weights=values, minlength=len(arms)) for name, values in columns.items()
    }
    return {int(arm): {name: int(round(sums[name][k])) for name in sums} for k, arm in enumerate(arms)}


def _posteriors_increment(attribution: Attribution, cluster: dict[int, dict[str, int]]) -> None:
    for arm_id in sorted(attribution.increments):
        inc = attribution.increments[arm_id]
        sums = cluster.get(arm_id, {})
        Posterior.objects.filter(arm_id=arm_id).update(
            **{f: F(f) + getattr(inc, f) for f in STAT_FIELDS},
            **{f: F(f) + value for f, value in sums.items()},
            updated_at=timezone.now(),
        )


def _deferred_split(events: list[EventRow]) -> tuple[list[EventRow], list[EventRow]]:
    """Hold back session-attributed outcomes while an earlier event of their session is in flight.

    An outcome without a decision is matched against the session's earlier exposures; if
    another worker holds an earlier, still unapplied event of that session, or an intake of
    the session is still storing events (which may come earlier in the ledger, see
    ``intake_order``), the exposure they reveal is not visible yet. Such outcomes wait for a
    later run, which keeps concurrent workers in exact agreement with a serial recount of the
    ledger.
    """
    session_outcomes = [
        e for e in events if e.type in ("click", "add_to_cart", "purchase") and not e.decision_key
    ]
    if not session_outcomes:
        return events, []
    mine = {e.id for e in events}
    storing = intakes_in_flight()  # before the query below: see intake_order
    first_pending: dict[str, int] = {}
    unapplied = Event.objects.filter(
        session_id__in={e.session_id for e in session_outcomes}, applied_at__isnull=True
    ).values_list("session_id", "id")
    for session_id, event_id in unapplied:
        if event_id not in mine:
            first_pending[session_id] = min(event_id, first_pending.get(session_id, event_id))
    deferred = {
        e.id
        for e in session_outcomes
        if e.id > first_pending.get(e.session_id, e.id) or may_precede(storing, e.session_id, e.received_at)
    }
    return [e for e in events if e.id not in deferred], [e for e in events if e.id in deferred]


def _batch_apply(events: list[EventRow]) -> None:
    """Apply one claimed batch. Expects the caller's transaction and the events' row locks."""
    attribution = Attribution()
    _exposures_reveal(events, attribution)
    locked = _exposures_lock(events)
    states = {x.decision_key: _exposure_state(x) for x in locked}
    outcomes_attribute(
        [ledger_event(e) for e in events],
        states,
        window_s=settings.ATTRIBUTION_WINDOW_S,
        skew_s=settings.EVENT_MAX_FUTURE_SKEW_S,
        attribution=attribution,
    )
    changed = []
    for exposure in locked:
        state = states[exposure.decision_key]
        if state.changed:
            exposure.clicked, exposure.added_to_cart = state.clicked, state.added_to_cart
            exposure.purchased, exposure.revenue = state.purchased, state.revenue
            changed.append(exposure)
    Exposure.objects.bulk_update(
        changed, ["clicked", "added_to_cart", "purchased", "revenue"], batch_size=1000
    )
    _posteriors_increment(attribution, _units_increment(attribution))
    _epochs_increment(attribution)
    _events_mark_applied([e.id for e in events])


def _events_mark_applied(ids: list[int]) -> None:
    if connection.vendor != "postgresql":
        Event.objects.filter(id__in=ids).update(applied_at=timezone.now())
        return
    # One binary array parameter instead of thousands of IN placeholders quoted into the SQL.
    with server_bound_cursor() as cursor:
        cursor.execute(
            f"UPDATE {Event._meta.db_table} SET applied_at = %s WHERE id = ANY(%b::bigint[])",
            [timezone.now(), ids],
        )


def claim_through_orm(batch_size: int) -> list[EventRow]:
    """``_claim`` through the ORM: what SQLite runs, and the baseline of ``bench.bench_claim``."""
    return list(
        Event.objects.select_for_update(skip_locked=True)
        .filter(applied_at__isnull=True)
        .order_by("id")
        .values_list(*_CLAIM_FIELDS, named=True)[:batch_size]
    )


def _claim(batch_size: int) -> list[EventRow]:
    """Lock the oldest ``batch_size`` unapplied events no other worker holds (in the caller's transaction).

    On PostgreSQL the two JSON columns come back as text and orjson parses them: Django's
    ``JSONField`` decodes them with the standard library's ``json``, which took a large share of
    a worker's time under peak load (profiled: ``bench/notes/2026-12-03-peak.md``).
    """
    if connection.vendor != "postgresql":
        return claim_through_orm(batch_size)
    with server_bound_cursor() as cursor:
        cursor.execute(
            "SELECT id, type, ts, received_at, session_id, item_id, items::text, value, decision_key, "
            "decision::text, user_id "
            f"FROM {Event._meta.db_table} WHERE applied_at IS NULL ORDER BY id LIMIT %s "
            "FOR UPDATE SKIP LOCKED",
            [batch_size],
        )
        rows = cursor.fetchall()

    def loads(text: str | None) -> Any:
        return orjson.loads(text) if text is not None else None

    return [
        ClaimedEvent(i, kind, ts, received, session, item, loads(items), value, key, loads(decision), user)
        for i, kind, ts, received, session, item, items, value, key, decision, user in rows
    ]


@dataclass(frozen=True)
class UpdateResult:
    applied: int
    deferred: int


def posteriors_update(*, batch_size: int = BATCH_SIZE, max_batches: int = 1_000) -> UpdateResult:
    """Apply unapplied events batch by batch. Safe to run concurrently and to repeat.

    ``deferred`` counts outcomes left for a later run because their session was in
    flight in another worker (see ``_deferred_split``).
    """
    applied = deferred = 0
    for _ in range(max_batches):
        with transaction.atomic():
            claimed = _claim(batch_size)
            if not claimed:
                break
            ready, held = _deferred_split(claimed)
            if ready:
                _batch_apply(ready)
        applied += len(ready)
        deferred = len(held)
        if not ready:
            break  # only held events are left: they come back once their sessions' earlier events land
    return UpdateResult(applied=applied, deferred=deferred)
