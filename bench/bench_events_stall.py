"""Pages while PostgreSQL stalls the events path: one server for both, or events on their own.

    .venv/bin/python -m bench.bench_events_stall --skip-seed [--lock-s 3] [--pages 100]

Reuses what ``bench.bench_peak`` seeded. For each layout it offers 12-slot pages and event
batches open loop (``bench.harness.open_loop``) for ``--duration`` s, and ``--lock-at`` s in holds a
lock on the event ledger for ``--lock-s`` s: inserts wait, as they do behind a slow checkpoint
fsync, a long migration or a stuck disk. Assignments never touch the database, so only the
layout decides whether pages wait too:

- ``shared``: one gunicorn serves pages and events (as ``bench.bench_peak`` runs it). Its sync
  workers pick up event batches that then wait on the lock, until none is left for pages.
- ``split``: events go to a second gunicorn (the ``Procfile``'s ``ingest`` process; a load
  balancer routes ``/api/v1/events`` there), so waiting batches hold only its workers.

Prints page p50/p99/max and the slowest seconds of the schedule, events p99 and errors, per
layout; writes ``bench/results/stall-<UTC stamp>.json``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.harness import ROOT, BenchError, say
from bench.harness.database import (
    bench_env,
    broker_queue_drop,
    database_setup,
    database_url_argument,
    process_env,
)
from bench.harness.open_loop import OpenLoop
from bench.harness.report import machine_info, results_write
from bench.harness.server import Server, sigterm_unwinds, workers_argument
from bench.harness.traffic import (
    PAGES_FOR_EVENTS,
    Page,
    event_templates,
    jsonl,
    page_bodies,
    probe_assignments,
    sessions_prime,
)

EVENTS_BATCH = 100
QUEUE = "bench-stall"
LEDGER_TABLE = "experiments_event"


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skip-seed", action="store_true", help="required: seed with bench.bench_peak first")
    parser.add_argument("--pages", type=float, default=100.0, help="12-slot pages per second")
    parser.add_argument("--events", type=float, default=1000.0, help="events per second (batches of 100)")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--lock-at", type=float, default=6.0, help="seconds into the load")
    parser.add_argument("--lock-s", type=float, default=3.0, help="how long the ledger stays locked")
    parser.add_argument("--sessions", type=int, default=1000, help="shoppers with signals")
    workers_argument(parser)
    parser.add_argument(
        "--ingest-workers", type=int, default=1, help="gunicorn workers of the split layout's ingest"
    )
    database_url_argument(parser)
    args = parser.parse_args(argv)
    if not args.skip_seed:
        parser.error("run python -m bench.bench_peak first and pass --skip-seed")
    return args


def _ledger_lock(database_url: str, after_s: float, hold_s: float) -> threading.Thread:
    """A thread that, ``after_s`` from now, blocks inserts into the ledger for ``hold_s``."""
    import psycopg

    def hold() -> None:
        time.sleep(after_s)
        with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as conn:
            conn.execute(f"LOCK TABLE {LEDGER_TABLE} IN SHARE ROW EXCLUSIVE MODE")
            time.sleep(hold_s)
            conn.rollback()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    return thread


def _layout(name: str, env: dict, key: str, items: list[str], args: argparse.Namespace) -> dict:
    var_dir = Path(env["VAR_DIR"])
    web = Server(env, args.workers, var_dir / "gunicorn-stall.log")
    ingest = (
        Server(env, args.ingest_workers, var_dir / "gunicorn-stall-ingest.log") if name == "split" else web
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-stall-", dir=var_dir))
    try:
        for server in {id(web): web, id(ingest): ingest}.values():
            server.start()
        rng = random.Random(20261202)
        sessions = sessions_prime(ingest.base, key, items, args.sessions, rng)
        bodies = page_bodies(sessions, items, rng, slots=None)
        pages_path = workdir / "pages.jsonl"
        pages_path.write_bytes(jsonl(bodies))
        probed: list[Page] = []
        probe_assignments(web.base, key, bodies, PAGES_FOR_EVENTS, probed)
        (workdir / "events.jsonl").write_bytes(jsonl(event_templates(probed, EVENTS_BATCH, rng)))
        OpenLoop(web.port, key, "/api/v1/assignments", pages_path, args.pages, 4.0, events=False).result()
        say(
            "bench_events_stall",
            f"{name}: pages at {args.pages:.0f}/s, ledger locked at {args.lock_at:.0f} s for {args.lock_s} s",
        )
        events = OpenLoop(
            ingest.port,
            key,
            "/api/v1/events",
            workdir / "events.jsonl",
            args.events / EVENTS_BATCH,
            args.duration,
            events=True,
        )
        pages = OpenLoop(
            web.port, key, "/api/v1/assignments", pages_path, args.pages, args.duration, events=False
        )
        lock = _ledger_lock(env["DATABASE_URL"], args.lock_at, args.lock_s)
        result = {"pages": pages.result(), "events": events.result()}
        lock.join()
        return result
    finally:
        web.stop()
        if ingest is not web:
            ingest.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    sigterm_unwinds()
    env = process_env(bench_env(queue=QUEUE, database_url=args.database_url))
    try:
        key, items, _ = database_setup(env, items=0, skip_seed=True, key_name="bench-stall")
        layouts = {name: _layout(name, env, key, items, args) for name in ("shared", "split")}
    except BenchError as exc:
        print(f"bench_events_stall: {exc}", file=sys.stderr)
        return 1
    finally:
        broker_queue_drop(env)
    print(
        f"\nLedger locked {args.lock_s:.1f} s; pages {args.pages:.0f}/s, events {args.events:.0f}/s open loop"
    )
    for name, result in layouts.items():
        p, e = result["pages"], result["events"]
        print(
            f"{name:7s} pages p50 {p['p50_ms']:.1f} ms, p99 {p['p99_ms']:.1f} ms, max {p['max_ms']:.1f} ms, "
            f"errors {p['errors']}; events p99 {e['p99_ms']:.0f} ms, errors {e['errors']}"
        )
        slowest = [(w["second"], w["max_ms"], w["over_15_ms"]) for w in p["worst_seconds"]]
        print(f"        slowest seconds (second, max ms, pages over 15 ms): {slowest}")
    report = {"bench": "events_stall", "args": vars(args), "machine": machine_info(), "layouts": layouts}
    out = results_write("stall", report)
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
