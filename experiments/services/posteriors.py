"""Posterior update: fold unapplied ledger events into the arm posteriors, exactly once.

One transaction per batch takes the applier lock (workers take turns), claims the next events
in the ledger's order that lie below the horizon (``ledger_order``), reveals their exposures
(``INSERT ... ON CONFLICT DO NOTHING`` decides which are new), attributes the outcomes, adds
the increments to the posteriors and marks the events applied. Batches are therefore applied
one after another in the ledger's order, exactly as the recount replays it. A crash before
commit leaves everything as it was; a retry finds the events still unapplied. In a session or
user experiment the same transaction adds each unit's counts to ``UnitStatistics`` and the
change of its totals to the arm's sums over units (``CLUSTER_FIELDS``), so those are
exactly-once too.
"""

import logging
from collections import namedtuple
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from bandits.clustered import unit_sums_change
from experiments.db.sql import insert_new_returning, server_bound_cursor, upsert_add, upsert_add_returning
from experiments.domain.attribution import Attribution, ExposureState, outcomes_attribute
from experiments.domain.ledger_events import EventRow, event_unit, exposure_state_new, ledger_event
from experiments.models import Event, Exposure, Posterior, PosteriorEpoch, UnitStatistics
from experiments.models.posteriors import STAT_FIELDS, UNIT_FIELDS, UNIT_OUTCOMES
from experiments.selectors.experiment_units import experiment_units

from .ledger_order import HORIZON_SQL, applier_lock, events_waiting

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
    _exposures_save(changed)
    _posteriors_increment(attribution, _units_increment(attribution))
    _epochs_increment(attribution)
    _events_mark_applied([e.id for e in events])


def _exposures_save(changed: list[Exposure]) -> None:
    """Write the outcome flags and revenue of ``changed`` (rows the caller has locked)."""
    fields = ["clicked", "added_to_cart", "purchased", "revenue"]
    if connection.vendor != "postgresql":
        Exposure.objects.bulk_update(changed, fields, batch_size=1000)
        return
    if not changed:
        return
    # One statement with an array per column: Django's bulk_update builds a CASE per field and
    # row, which cost more than half of a batch's time with a few hundred clicks in it.
    with server_bound_cursor() as cursor:
        cursor.execute(
            f"UPDATE {Exposure._meta.db_table} AS x SET clicked = v.clicked, "
            "added_to_cart = v.added_to_cart, purchased = v.purchased, revenue = v.revenue "
            "FROM unnest(%b::bigint[], %b::bool[], %b::bool[], %b::bool[], %b::float8[]) "
            "AS v(id, clicked, added_to_cart, purchased, revenue) WHERE x.id = v.id",
            [[x.id for x in changed], *([getattr(x, f) for x in changed] for f in fields)],
        )


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
    """``_claim`` through the ORM: what SQLite runs (one writer: no horizon to wait for), and the
    baseline of ``bench.bench_claim``."""
    return list(
        Event.objects.filter(applied_at__isnull=True)
        .order_by("xid", "id")
        .values_list(*_CLAIM_FIELDS, named=True)[:batch_size]
    )


def _claim(batch_size: int) -> list[EventRow]:
    """The next ``batch_size`` unapplied events in the ledger's order, below the horizon.

    Expects the caller's transaction and ``applier_lock``: no other worker is applying meanwhile.

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
            f"FROM {Event._meta.db_table} WHERE applied_at IS NULL AND xid < {HORIZON_SQL} "
            "ORDER BY xid, id LIMIT %s",
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
    waiting: int


def posteriors_update(*, batch_size: int = BATCH_SIZE, max_batches: int = 1_000) -> UpdateResult:
    """Apply unapplied events batch by batch, in the ledger's order. Safe to run concurrently
    (workers take turns) and to repeat.

    ``waiting`` counts events left for a later run because a transaction that began before
    theirs is still open (see ``ledger_order``).
    """
    applied = 0
    for _ in range(max_batches):
        with transaction.atomic():
            applier_lock()
            claimed = _claim(batch_size)
            if claimed:
                _batch_apply(claimed)
        applied += len(claimed)
        if len(claimed) < batch_size:
            break  # everything below the horizon is applied
    return UpdateResult(applied=applied, waiting=events_waiting())
