"""Ledger order across concurrent intake: which sessions have events still being stored.

The ledger's order is the event id, and attribution follows it: a session's add-to-cart goes
to the exposure its earlier events revealed. On PostgreSQL ids are drawn when a batch is
inserted but become visible when it commits, and two posts for one session can commit out of
order: a worker could then apply the later add-to-cart before the earlier impression that
reveals what it should be credited to, where a recount of the ledger credits it.

So each intake statement holds a shared advisory lock per session bucket until it commits,
taken before it draws its ids, and the posterior update holds back a session's outcome while
an intake on the session's bucket is in flight that began before the outcome was received
(plus ``GRACE_S``): only those can have drawn lower ids. Intakes that began later cannot
hold it back, so under continuous intake on every bucket an outcome still waits only as long
as the statements that were running when it arrived. The grace covers the time from
``received_at`` (the web process's clock, before validation) to its own statement's start,
and the two servers' clock offset.

Buckets bound the locks one batch takes. PostgreSQL's lock table is shared and sized
``max_locks_per_transaction`` x ``max_connections`` (6400 by default): at 64 a statement,
even 100 connections storing at once stay within it. Two sessions in one bucket only wait
for each other a little longer.
"""

import hashlib
import logging
from datetime import datetime, timedelta

from django.db import connection

log = logging.getLogger(__name__)

LOCK_SPACE = 0x1ED6  # first key of the two-key advisory locks: this module's own
BUCKETS = 64
GRACE_S = 5.0


def session_bucket(session_id: str) -> int:
    digest = hashlib.blake2b(session_id.encode("utf-8", "surrogatepass"), digest_size=4).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def intake_buckets(session_ids) -> list[int]:
    """The buckets an intake batch of these sessions locks, in a fixed order."""
    return sorted({session_bucket(s) for s in session_ids})


def intakes_in_flight() -> dict[int, datetime | None]:
    """bucket -> when the earliest intake statement holding it now began (``None``: unknown,
    e.g. another database role's backend, whose start this role may not see).

    Ask this before looking for a session's unapplied events: an intake that commits in
    between is then seen by that query, and one still running is seen here."""
    if connection.vendor != "postgresql":
        return {}  # SQLite has one writer at a time: ids commit in the order they are drawn
    with connection.cursor() as cursor:
        cursor.execute(
            # pg_locks lists the whole server's locks: advisory locks are per database.
            "SELECT l.objid, bool_or(a.xact_start IS NULL), min(a.xact_start) FROM pg_locks l "
            "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.classid = %s AND l.objsubid = 2 AND l.granted "
            "AND l.pid <> pg_backend_pid() "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "GROUP BY l.objid",
            [LOCK_SPACE],
        )
        found = {int(bucket): None if unknown else began for bucket, unknown, began in cursor.fetchall()}
    if None in found.values():
        _hidden_starts_warn()
    return found


_warned_hidden_starts = False


def _hidden_starts_warn() -> None:
    global _warned_hidden_starts
    if _warned_hidden_starts:
        return
    _warned_hidden_starts = True
    log.warning(
        "pg_stat_activity hides when another role's intakes began: every intake on a session "
        "bucket now holds back its outcomes, and continuous intake can delay them for long. Run "
        "the web and worker processes as one database role, or grant this one pg_read_all_stats."
    )


def may_precede(in_flight: dict[int, datetime | None], session_id: str, received_at: datetime) -> bool:
    """Whether an intake in flight may hold events of this session's bucket with lower ids
    than an event received at ``received_at``."""
    if not in_flight:
        return False
    bucket = session_bucket(session_id)
    if bucket not in in_flight:
        return False
    began = in_flight[bucket]
    return began is None or began <= received_at + timedelta(seconds=GRACE_S)
