"""Pages while PostgreSQL stalls the events path: one server for both, or events on their own.

    .venv/bin/python bench/bench_events_stall.py --skip-seed [--lock-s 3] [--pages 100]

Reuses what ``bench/bench_peak.py`` seeded. For each layout it offers 12-slot pages and event
batches open loop (``bench/open_loop.py``) for ``--duration`` s, and ``--lock-at`` s in holds a
lock on the event ledger for ``--lock-s`` s: inserts wait, as they do behind a slow checkpoint
fsync, a long migration or a stuck disk. Assignments never touch the database, so only the
layout decides whether pages wait too:

- ``shared``: one gunicorn serves pages and events (as ``bench_peak.py`` runs it). Its sync
  workers pick up event batches that then wait on the lock, until none is left for pages.
- ``split``: events go to a second gunicorn (the ``Procfile``'s ``ingest`` process; a load
  balancer routes ``/api/v1/events`` there), so waiting batches hold only its workers.

Prints page p50/p99/max and the slowest seconds of the schedule, events p99 and errors, per
layout; writes ``bench/results/stall-<UTC stamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_http as h  # noqa: E402
import bench_peak as peak  # noqa: E402

LEDGER_TABLE = "experiments_event"


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skip-seed", action="store_true", help="required: seed with bench_peak.py first")
    parser.add_argument("--pages", type=float, default=100.0, help="12-slot pages per second")
    parser.add_argument("--events", type=float, default=1000.0, help="events per second (batches of 100)")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--lock-at", type=float, default=6.0, help="seconds into the load")
    parser.add_argument("--lock-s", type=float, default=3.0, help="how long the ledger stays locked")
    parser.add_argument("--sessions", type=int, default=1000, help="shoppers with signals")
    parser.add_argument("--workers", type=int, default=h.web_workers())
    parser.add_argument(
        "--ingest-workers", type=int, default=1, help="gunicorn workers of the split layout's ingest"
    )
    parser.add_argument("--database-url", default=h.DEFAULT_ENV["DATABASE_URL"])
    args = parser.parse_args(argv)
    if not args.skip_seed:
        parser.error("run bench/bench_peak.py first and pass --skip-seed")
    return args


def _ledger_lock(database_url: str, after_s: float, hold_s: float) -> threading.Thread:
    """A thread that, ``after_s`` from now, blocks inserts into the ledger for ``hold_s``."""
    import psycopg

    def hold() -> None:
        time.sleep(after_s)
        with psycopg.connect(database_url) as conn:
            conn.execute(f"LOCK TABLE {LEDGER_TABLE} IN SHARE ROW EXCLUSIVE MODE")
            time.sleep(hold_s)
            conn.rollback()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    return thread


def _layout(name: str, env: dict, key: str, items: list[str], args: argparse.Namespace) -> dict:
    log_dir = Path(env["VAR_DIR"])
    web = h.Server(env, args.workers, h.free_port(), log_dir / "gunicorn-stall.log")
    ingest = (
        h.Server(env, args.ingest_workers, h.free_port(), log_dir / "gunicorn-stall-ingest.log")
        if name == "split"
        else web
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-stall-", dir=env["VAR_DIR"]))
    try:
        for server in {id(web): web, id(ingest): ingest}.values():
            server.start()
        rng = random.Random(20261202)
        sessions = peak.sessions_prime(ingest, key, items, args.sessions, rng)
        bodies = peak.page_bodies(sessions, items, rng, slots=None)
        (workdir / "pages.jsonl").write_bytes(b"\n".join(bodies) + b"\n")
        probed: list[h.Page] = []
        h.probe_assignments(web.base, key, bodies, h.PAGES_FOR_EVENTS, probed)
        batches = h.event_templates(probed, peak.ALONGSIDE_BATCH, rng)
        (workdir / "events.jsonl").write_bytes(b"\n".join(batches) + b"\n")
        pages_path = workdir / "pages.jsonl"
        peak.OpenLoop(web, key, "/api/v1/assignments", pages_path, args.pages, 4.0, events=False).result()
        peak.say(
            f"{name}: pages at {args.pages:.0f}/s, ledger locked at {args.lock_at:.0f} s for {args.lock_s} s"
        )
        events = peak.OpenLoop(
            ingest,
            key,
            "/api/v1/events",
            workdir / "events.jsonl",
            args.events / peak.ALONGSIDE_BATCH,
            args.duration,
            events=True,
        )
        pages = peak.OpenLoop(
            web, key, "/api/v1/assignments", pages_path, args.pages, args.duration, events=False
        )
        lock = _ledger_lock(args.database_url, args.lock_at, args.lock_s)
        result = {"pages": pages.result(), "events": events.result()}
        lock.join()
        return result
    finally:
        web.stop()
        if ingest is not web:
            ingest.stop()
        h.shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    h.signal.signal(h.signal.SIGTERM, h._interrupted)
    env = h.bench_env(args)
    env["CELERY_QUEUE"] = "bench-stall"
    try:
        key, items, _ = h.setup_database(env, args)
        layouts = {name: _layout(name, env, key, items, args) for name in ("shared", "split")}
    except h.BenchError as exc:
        print(f"bench_events_stall: {exc}", file=sys.stderr)
        return 1
    finally:
        h.broker_queue_drop(env)
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
    report = {"bench": "events_stall", "args": vars(args), "machine": h.machine_info(), "layouts": layouts}
    h.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = h.RESULTS_DIR / f"stall-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out.relative_to(h.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
