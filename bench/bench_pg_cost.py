"""PostgreSQL CPU per event: stored through the intake, and applied by the posterior update.

    .venv/bin/python -m bench.bench_pg_cost --database-url postgres://postgres@127.0.0.1:5432/DB \
        [--redis-url redis://127.0.0.1:6379/14] [--broker-url redis://127.0.0.1:6379/15] \
        [--batches 40] [--reps 5]

EMPTIES THE LEDGER of the database it is given (never point it at ``controlplane``): it migrates,
truncates the events and makes 12 running experiments with signed decisions, as
``bench_ledger_order`` does (its helpers). Then, ``--reps`` times, alternating:

1. **store**: ``--batches`` batches of 500 events (per page a view and 4 impressions; clicks,
   add-to-carts, purchases) through ``events_record``, the intake's service, in this process;
2. **apply**: the posterior update's Celery task, run in this process (``apply()``), until the
   batches are applied.

Around each phase it reads the CPU time of this process's PostgreSQL backend (utime + stime from
``/proc/<pg_backend_pid()>/stat``, in clock ticks: over 20,000 events a tick is 0.5 us each),
this process's own CPU and the WAL position. CPU time of one backend hardly moves with the
neighbours, unlike throughput; the WAL position is the server's, so other databases' writes count
in it too (the smallest repetition is the closest). Background work (WAL writer, checkpointer,
autovacuum) is not counted; the applied events' dead entries slow the claim until a vacuum, which
``--vacuum`` runs after each repetition. Prints a table and the medians; the whole run goes to bench/results/.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from bench.bench_ledger_order import _sessions
from bench.bench_ledger_order import setup as ledger_setup
from bench.harness import ROOT, say
from bench.harness.report import Column, machine_info, results_write, table

BATCH = 500
EVENTS_PER_SESSION_LOW = 10  # a session makes 3 pages of 5+ events; sessions enough with room


def backend_cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process, from ``/proc/<pid>/stat``."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "; utime and stime are 14, 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Meter:
    """PostgreSQL backend CPU, this process's CPU, wall time and WAL bytes over one phase."""

    def __init__(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.pid = cursor.fetchone()[0]

    def _wal(self) -> str:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text, pg_backend_pid()")
            lsn, pid = cursor.fetchone()
        if pid != self.pid:
            raise RuntimeError("the database connection changed during the run")
        return lsn

    def __enter__(self) -> Meter:
        self.lsn = self._wal()
        self.pg, self.py, self.wall = backend_cpu_s(self.pid), time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.wall
        self.py = time.process_time() - self.py
        self.pg = backend_cpu_s(self.pid) - self.pg
        from django.db import connection

        lsn = self._wal()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_wal_lsn_diff(%s, %s)", [lsn, self.lsn])
            self.wal = float(cursor.fetchone()[0])

    def per_event(self, events: int) -> dict:
        return {
            "pg_us": round(self.pg * 1e6 / events, 1),
            "py_us": round(self.py * 1e6 / events, 1),
            "wall_us": round(self.wall * 1e6 / events, 1),
            "wal_bytes": round(self.wal / events, 1),
        }


def repetition(rep: int, arms: list[tuple], batches: int, run: str) -> dict:
    from datetime import UTC, datetime

    from experiments.services import events as events_service
    from experiments.tasks import posteriors_update_task

    wanted = batches * BATCH
    flat = [e for s in _sessions(arms, seed=rep, n=wanted // EVENTS_PER_SESSION_LOW) for e in s]
    if len(flat) < wanted:
        raise RuntimeError(f"{len(flat)} events generated, {wanted} wanted")
    ts = datetime.now(UTC).isoformat()
    prepared = [
        [dict(e, event_id=f"cost-{run}-{rep}-{start + i}", ts=ts) for i, e in enumerate(flat[start:end])]
        for start, end in zip(range(0, wanted, BATCH), range(BATCH, wanted + 1, BATCH), strict=True)
    ]
    kinds = Counter(e["type"] for batch in prepared for e in batch)
    stored = 0
    with Meter() as store:
        for batch in prepared:
            stored += events_service.events_record(events=batch).accepted
    applied = 0
    with Meter() as apply:
        while applied < stored:
            done = posteriors_update_task.apply().get()
            if not done:
                raise RuntimeError(f"the update applied {applied} of {stored} events and stopped")
            applied += done
    return {
        "rep": rep,
        "events": stored,
        "applied": applied,
        "kinds": dict(kinds),
        "store": store.per_event(stored),
        "apply": apply.per_event(applied),
    }


def ledger_vacuum() -> None:
    """The applied events' dead index entries gone, as autovacuum leaves them between its runs."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM experiments_event, experiments_exposure")


def spread(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 1), "min": min(values), "max": max(values)}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True, help="a database of its own: its ledger is emptied")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--batches", type=int, default=40, help="batches of 500 events per repetition")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument(
        "--vacuum", action="store_true", help="VACUUM the ledger after each repetition (not measured)"
    )
    args = parser.parse_args()
    machine = machine_info()
    say("pg_cost", "migrate, empty the ledger, make the experiments")
    arms = ledger_setup(
        argparse.Namespace(
            code=str(ROOT),
            database_url=args.database_url,
            redis_url=args.redis_url,
            broker_url=args.broker_url,
            queue=f"bench-pg-cost-{os.getpid()}",
        )
    )
    from experiments.services import events as events_service

    events_service._posterior_update_enqueue = lambda: None  # the update runs here, in phase 2
    Meter()  # the connection is opened before the first phase
    run = f"{int(time.time())}"
    rows = []
    for rep in range(args.reps):
        row = repetition(rep, arms, args.batches, run)
        say("pg_cost", f"rep {rep}: store {row['store']}, apply {row['apply']}")
        rows.append(row)
        if args.vacuum:
            ledger_vacuum()
    flat_rows = [
        {"rep": r["rep"], "events": r["events"]}
        | {f"{phase}_{k}": v for phase in ("store", "apply") for k, v in r[phase].items()}
        for r in rows
    ]
    keys = [k for k in flat_rows[0] if k not in ("rep", "events")]
    summary = {k: spread([r[k] for r in flat_rows]) for k in keys}
    pg_per_event = summary["store_pg_us"]["median"] + summary["apply_pg_us"]["median"]
    summary["events_per_s_per_pg_core"] = round(1e6 / pg_per_event)
    print(table([Column(k, k, len(k) + 2) for k in ["rep", "events", *keys]], flat_rows))
    print(f"event mix per repetition: {rows[0]['kinds']}")
    for k, v in summary.items():
        print(f"{k:26s} {v}")
    out = results_write("pg-cost", {"machine": machine, "args": vars(args), "reps": rows, "summary": summary})
    say("pg_cost", f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
