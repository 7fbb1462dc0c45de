"""The ledger's order, and which part of it the posterior update may apply now.

The ledger's order is (xid, id): the transaction that stored an event (``Event.xid``, PostgreSQL's
``pg_current_xact_id()`` by column default), then the id. Attribution follows that order (a
session's add-to-cart goes to the exposure its earlier events revealed), in the update and in
the recount alike.

On PostgreSQL ids are drawn at insert and become visible at commit, so two posts can commit in
either order. Transaction ids settle it: every transaction below the *horizon* (the oldest
transaction of this database still running, from the statement's own snapshot) has ended, and
a transaction that takes its id later takes a higher one. So the events below the horizon are
a prefix of the ledger's order that can never grow in the middle, and the update only ever
applies such a prefix. A transaction that stays open holds the horizon, and with it every event
stored after its first write, until it ends: it delays, it never reorders. Nothing here reads
a clock, locks anything at intake or needs a privilege.

Workers take turns (``applier_lock``), so batches are applied one after another in that order,
and an outcome always finds the exposures every earlier event revealed.

SQLite has no transaction ids (``xid`` is 0) and one writer at a time (its transactions begin
``IMMEDIATE``, see settings): ids commit in the order they are drawn, so (0, id) is the commit
order there, and a worker's transaction is its turn.
"""

import logging
import time
from dataclasses import dataclass

from django.db import connection

from experiments.models import Event

log = logging.getLogger(__name__)

APPLIER_LOCK = 0x1ED6_0001  # advisory lock key: this module's own
# The oldest other transaction still running in this statement's snapshot (xip never holds our
# own), or the largest xid8 when none is: then every event the snapshot sees is final.
# Transaction ids are the server's, but a transaction writes to one database only: one that
# pg_stat_activity shows running in another database (its ``backend_xid`` and ``datid`` are
# shown to every role) can store no event here, so it holds nothing back. One that ended since
# the snapshot is no longer shown and counts, which only waits a little longer. (The view's own
# function: the view's joins cost more to plan than the whole claim.)
HORIZON_SQL = (
    "(SELECT coalesce(min(x), '18446744073709551615'::xid8) FROM pg_snapshot_xip(pg_current_snapshot()) AS x "
    "WHERE NOT EXISTS (SELECT 1 FROM pg_stat_get_activity(NULL) a WHERE a.backend_xid = x::xid "
    "AND a.datid <> (SELECT oid FROM pg_database WHERE datname = current_database())))"
)
# The worker says it is waiting once a transaction has held the horizon this long, and again
# every so often while it still does.
OLD_TRANSACTION_S = 10.0
OLD_TRANSACTION_LOG_EVERY_S = 60.0


def applier_lock() -> None:
    """Wait until no other worker is applying; held until the caller's transaction ends.

    Take it in a statement of its own, before the claim: a claim in the same statement would
    read with a snapshot taken before the wait, and see the previous holder's events as unapplied.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [APPLIER_LOCK])


@dataclass(frozen=True)
class HorizonHolder:
    """The transaction that holds the horizon while events stored after it wait."""

    xid: int
    behind: int  # unapplied events stored at or above the horizon
    pid: int | None
    database: str | None
    age_s: float  # how long it has been open: from pg_stat_activity, else as this worker saw it


_first_seen: dict[int, float] = {}
_last_logged: dict[int, float] = {}


def events_waiting() -> int:
    """How many unapplied events wait behind the horizon (0 on SQLite); logs a warning when an
    old transaction holds it. Call after the update has applied everything below the horizon."""
    if connection.vendor != "postgresql":
        return 0
    holder = horizon_holder()
    if holder is None:
        return 0
    if holder.age_s >= OLD_TRANSACTION_S and time.monotonic() - _last_logged.get(holder.xid, -1e9) >= (
        OLD_TRANSACTION_LOG_EVERY_S
    ):
        _last_logged.clear()
        _last_logged[holder.xid] = time.monotonic()
        log.warning(
            "posterior update waiting on an old transaction: xid %s (pid %s, database %s) open for "
            "%.0f s; %d events stored after it began are applied when it ends",
            holder.xid,
            holder.pid if holder.pid is not None else "unknown",
            holder.database or "unknown",
            holder.age_s,
            holder.behind,
        )
    return holder.behind


def horizon_holder() -> HorizonHolder | None:
    """The transaction holding the horizon, if unapplied events wait behind it.

    pg_stat_activity shows every backend's ``backend_xid`` to any role, but when a transaction
    began only to its own role (or ``pg_read_all_stats``): without that, the age is how long
    this worker process has seen the horizon stay there, a lower bound."""
    table = Event._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH h AS (SELECT {HORIZON_SQL} AS xid) SELECT h.xid::text, "
            f"(SELECT count(*) FROM {table} e WHERE e.applied_at IS NULL AND e.xid >= h.xid), "
            "a.pid, a.datname, extract(epoch FROM clock_timestamp() - a.xact_start) "
            "FROM h LEFT JOIN pg_stat_activity a ON a.backend_xid = h.xid::xid",
        )
        xid_text, behind, pid, database, age = cursor.fetchone()
    xid = int(xid_text)
    if not behind:
        _first_seen.clear()
        return None
    now = time.monotonic()
    if xid not in _first_seen:
        _first_seen.clear()
        _first_seen[xid] = now
    seen_s = now - _first_seen[xid]
    return HorizonHolder(xid, behind, pid, database, max(float(age or 0.0), seen_s))
