"""The intake's INSERT alone, before and after the ledger orders itself, alternated in one process.

    .venv/bin/python bench/bench_ledger_insert.py \\
        --database-url postgres://postgres@127.0.0.1:5432/<db migrated by this code> [--rounds 300]

The database must hold events (``bench/bench_ledger_order.py`` leaves some). Two scratch tables
copy the ledger's shape: *before* without ``xid`` and with the old partial index on ``id``,
*after* as the ledger is now (``xid`` filled by its column default, the ``(xid, id)`` index).
Each round inserts one batch of ``--batch`` stored rows with new event ids into each, with the
statement its code sends (before: the ``unnest`` insert taking its per-session-bucket advisory
locks; after: the same insert without them). Prints the median ms per batch and the ratio
after / before; the tables are dropped at the end.
"""

import argparse
import hashlib
import statistics
import time
import uuid

import psycopg

COLUMNS = (
    "event_id type ts received_at session_id user_id item_id items value dwell_ms decision_key decision"
).split()
TYPES = "text text timestamptz timestamptz text text text jsonb float8 int4 text jsonb".split()
BUCKETS, LOCK_SPACE = 64, 0x1ED6


def statement(locks: bool) -> str:
    arrays = ", ".join(f"%b::{t}[]" for t in TYPES)
    guard = (
        "WHERE (SELECT count(pg_advisory_xact_lock_shared(%s, k)) FROM unnest(%b::int4[]) AS k) >= 0 "
        if locks
        else ""
    )
    return (
        f"INSERT INTO {{table}} ({', '.join(COLUMNS)}) SELECT * FROM unnest({arrays}) {guard}"
        "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
    )


def bucket(session_id: str) -> int:
    digest = hashlib.blake2b(session_id.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    conn = psycopg.connect(args.database_url.replace("postgres://", "postgresql://", 1), autocommit=True)
    for ddl in (
        "DROP TABLE IF EXISTS bench_ins_before, bench_ins_after",
        "CREATE TABLE bench_ins_after (LIKE experiments_event INCLUDING ALL)",
        "CREATE TABLE bench_ins_before (LIKE experiments_event INCLUDING ALL)",
        "ALTER TABLE bench_ins_before DROP COLUMN xid",  # drops the (xid, id) index with it
        "CREATE INDEX ON bench_ins_before (id) WHERE applied_at IS NULL",
    ):
        conn.execute(ddl)
    rows = conn.execute(
        f"SELECT {', '.join(c if c not in ('items', 'decision') else c + '::text' for c in COLUMNS)} "
        "FROM experiments_event ORDER BY id DESC LIMIT %s",
        [args.batch],
    ).fetchall()
    columns = [list(c) for c in zip(*rows, strict=True)]
    sql = {
        "before": statement(True).format(table="bench_ins_before"),
        "after": statement(False).format(table="bench_ins_after"),
    }
    times: dict[str, list[float]] = {"before": [], "after": []}
    for n in range(args.rounds):
        for side in ("before", "after") if n % 2 else ("after", "before"):
            columns[0] = [f"ins-{uuid.uuid4().hex}" for _ in rows]
            params = list(columns)
            if side == "before":
                params += [LOCK_SPACE, sorted({bucket(s) for s in columns[4]})]
            started = time.perf_counter()
            inserted = conn.execute(sql[side], params).fetchall()
            times[side].append(time.perf_counter() - started)
            assert len(inserted) == len(rows)
    conn.execute("DROP TABLE bench_ins_before, bench_ins_after")
    conn.close()
    medians = {side: statistics.median(t) * 1e3 for side, t in times.items()}
    print(
        f"ms per {args.batch}-row insert, median of {args.rounds}: before {medians['before']:.2f}, "
        f"after {medians['after']:.2f}, after / before {medians['after'] / medians['before']:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
