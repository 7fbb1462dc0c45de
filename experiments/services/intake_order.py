"""Ledger order across concurrent intake: which sessions have events still being stored.

The ledger's order is the event id, and attribution follows it: a session's add-to-cart goes
to the exposure its earlier events revealed. On PostgreSQL ids are drawn when a batch is
inserted but become visible when it commits, and two posts for one session can commit out of
order: a worker could then apply the later add-to-cart before the earlier impression that
reveals what it should be credited to, where a recount of the ledger credits it.

So each intake statement holds a shared advisory lock per session bucket until it commits,
taken before it draws its ids, and the posterior update holds back a session's outcomes while
any intake on the session's bucket is in flight (they are applied by its next batch).

Buckets bound the locks one batch takes. PostgreSQL's lock table is shared and sized
``max_locks_per_transaction`` x ``max_connections`` (6400 by default): at 64 a statement,
even 100 connections storing at once stay within it. Two sessions in one bucket only wait
for each other a little longer.
"""

import hashlib

from django.db import connection

LOCK_SPACE = 0x1ED6  # first key of the two-key advisory locks: this module's own
BUCKETS = 64


def session_bucket(session_id: str) -> int:
    digest = hashlib.blake2b(session_id.encode("utf-8", "surrogatepass"), digest_size=4).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def intake_buckets(session_ids) -> list[int]:
    """The buckets an intake batch of these sessions locks, in a fixed order."""
    return sorted({session_bucket(s) for s in session_ids})


def buckets_in_intake() -> set[int]:
    """Buckets some intake statement holds right now (another session's, never this one's).

    Ask this before looking for a session's unapplied events: an intake that commits in
    between is then seen by that query, and one still running is seen here."""
    if connection.vendor != "postgresql":
        return set()  # SQLite has one writer at a time: ids commit in the order they are drawn
    with connection.cursor() as cursor:
        cursor.execute(
            # pg_locks lists the whole server's locks: advisory locks are per database.
            "SELECT DISTINCT objid FROM pg_locks WHERE locktype = 'advisory' AND classid = %s "
            "AND objsubid = 2 AND granted AND pid <> pg_backend_pid() "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [LOCK_SPACE],
        )
        return {int(row[0]) for row in cursor.fetchall()}
