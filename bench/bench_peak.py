"""The storefront at peak: full pages for shoppers with session signals, events alongside,
open-loop latency at half the peak, events against a raw COPY, and the posterior lag.

    .venv/bin/python -m bench.bench_peak --items 100000      # seeds, then about 4 minutes
    .venv/bin/python -m bench.bench_peak --skip-seed          # reuse what an earlier run seeded

Shares its setup with ``bench.bench_http`` (``bench.harness.database``: database
``controlplane_bench``, Redis db 2/3, ``var/bench``; gunicorn on 127.0.0.1 with
``gunicorn.conf.py``'s sync workers: cores + 1).
What one run measures:

1. **Sessions with signals.** ``--sessions`` shoppers each post views (with dwell), an
   add-to-cart and sometimes a removal through the events endpoint, so every assignment
   below reads real signals and the ``session_bayes`` and ``hybrid`` arms react to them.
   The variants that served the probe pages are counted and printed.
2. **Closed-loop peak** (wrk, ``--concurrency`` connections): ``/healthz`` alone, then the
   storefront floor (an assignment request that asks for no slot: key check, rate limit,
   parsing, the session's signals read from Redis, the answer; no model, no decision), one
   slot and the full 12-slot page, each with events posted alongside at ``--events-alongside``
   events/s (open loop, batches of 100). ``--rounds`` interleaved rounds; ratios to /healthz
   and to the floor.
3. **Open loop at half the peak**: 12-slot pages offered at half the measured 12-slot peak
   rate (``bench.harness.open_loop``: latency from each request's due time), events alongside.
4. **Events alone** (wrk, closed loop, batches of 500): accepted events/s, then a raw psycopg
   ``COPY`` of the same stored rows into a scratch table with the same indexes, same run.
5. **Posterior lag**: a Celery worker (``-c 1``) runs while events are offered open loop at
   ``--lag-rate`` events/s for ``--lag-duration`` s; when the ledger is drained, the lag of each
   event (``applied_at - received_at``: accepted to reflected in its arm's posterior) is read.

Results: a summary on stdout and JSON in ``bench/results/peak-<UTC timestamp>.json``;
``--note`` starts a dated note in ``bench/notes/``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import ROOT, BenchError, say
from bench.harness.database import (
    bench_env,
    broker_queue_drop,
    connect,
    database_setup,
    database_url_argument,
    ledger_drain,
    process_env,
)
from bench.harness.load import Endpoint, WrkLoad, timed_run
from bench.harness.open_loop import OpenLoop
from bench.harness.report import Column, loadavg, machine_info, note_draft, percentile, results_write, table
from bench.harness.server import (
    Server,
    celery_worker_start,
    ingest_workers_argument,
    sigterm_unwinds,
    stop,
    workers_argument,
)
from bench.harness.traffic import (
    PAGES_FOR_EVENTS,
    Page,
    event_templates,
    jsonl,
    page_bodies,
    probe_assignments,
    sessions_prime,
)

ALONGSIDE_BATCH = 100
# The storefront floor: an assignment request for no slot (see the module docstring, step 2).
FLOOR = "assign_0slot"
EVENT_COLUMNS = (
    "event_id, type, ts, received_at, session_id, user_id, item_id, items, value, dwell_ms, "
    "decision_key, decision"
)
QUEUE = "bench-peak"


def log(message: str) -> None:
    say("bench_peak", message)


def alongside(
    server: Server, key: str, batches: Path, events_per_s: float, duration: float
) -> OpenLoop | None:
    """Event batches offered open loop at ``events_per_s`` while something else is measured."""
    if events_per_s <= 0:
        return None
    rate = events_per_s / ALONGSIDE_BATCH
    return OpenLoop(server.port, key, "/api/v1/events", batches, rate, duration, events=True)


def closed_loop(tool, server, ingest, endpoints, key, batches, args) -> dict[str, list[dict]]:
    """Interleaved rounds: healthz alone, then the others each with events alongside."""
    per_round = max(1, round(args.duration / args.rounds))
    rounds: dict[str, list[dict]] = {e.name: [] for e in endpoints}
    log(f"warm-up: {args.warmup:.0f} s per endpoint")
    for endpoint in endpoints:
        tool.run(endpoint, args.concurrency, args.warmup)
    for n in range(args.rounds):
        log(
            f"round {n + 1}/{args.rounds}: {per_round} s per endpoint, c={args.concurrency}, "
            f"events alongside at {args.events_alongside:.0f}/s"
        )
        for endpoint in endpoints:
            side = (
                None
                if endpoint.name == "healthz"
                else alongside(ingest, key, batches, args.events_alongside, per_round)
            )
            result = timed_run(tool, server, endpoint, args.concurrency, per_round)
            rounds[endpoint.name].append(
                {
                    "rps": result.rps,
                    "p50_ms": result.p50_ms,
                    "p99_ms": result.p99_ms,
                    "errors": result.errors,
                    "cpu_ms_per_request": result.cpu_ms_per_request,
                    "alongside": side.result() if side else None,
                }
            )
    return rounds


def closed_summary(rounds: dict[str, list[dict]]) -> dict[str, dict]:
    """Per endpoint, medians over rounds; ratios to healthz and the floor of the same round."""
    base, floor = rounds["healthz"], rounds.get(FLOOR)
    out = {}
    for name, results in rounds.items():

        def median(key: str, results: list[dict] = results) -> float:
            return statistics.median(r[key] for r in results)

        out[name] = {
            "endpoint": name,
            "rps": round(median("rps"), 1),
            "p50_ms": round(median("p50_ms"), 2),
            "p99_ms": round(median("p99_ms"), 2),
            "x_healthz": round(
                statistics.median(r["rps"] / b["rps"] for r, b in zip(results, base, strict=True)), 4
            ),
            "x_floor": round(
                statistics.median(r["rps"] / f["rps"] for r, f in zip(results, floor, strict=True)), 4
            )
            if floor
            else None,
            "cpu_ms_per_request": round(median("cpu_ms_per_request"), 3),
            "errors": sum(r["errors"] for r in results),
            "alongside_events_accepted": sum((r["alongside"] or {}).get("accepted", 0) for r in results),
            "alongside_errors": [
                r["alongside"]["errors"] for r in results if r["alongside"] and r["alongside"]["errors"]
            ],
        }
    return out


def copy_baseline(env: dict[str, str], n_rows: int, batch: int) -> dict:
    """COPY the ``n_rows`` latest stored bench events (as Python rows) into a scratch table with
    the ledger's indexes, ``batch`` rows per COPY and transaction, one connection."""
    from psycopg.types.json import Jsonb

    with connect(env) as conn:
        rows = conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM experiments_event WHERE event_id LIKE 'bench-%%' "
            "ORDER BY id DESC LIMIT %s",
            [n_rows],
        ).fetchall()
        conn.execute("DROP TABLE IF EXISTS bench_copy_event")
        conn.execute("CREATE TABLE bench_copy_event (LIKE experiments_event INCLUDING ALL)")
        conn.commit()
        rows = [
            r[:7]
            + (Jsonb(r[7]) if r[7] is not None else None,)
            + r[8:11]
            + (Jsonb(r[11]) if r[11] is not None else None,)
            for r in rows
        ]
        started = time.perf_counter()
        for start in range(0, len(rows), batch):
            with conn.cursor().copy(f"COPY bench_copy_event ({EVENT_COLUMNS}) FROM STDIN") as copy:
                for row in rows[start : start + batch]:
                    copy.write_row(row)
            conn.commit()
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE bench_copy_event")
        conn.commit()
    return {"rows": len(rows), "seconds": round(elapsed, 2), "rows_per_s": round(len(rows) / elapsed, 1)}


def lag_run(env: dict[str, str], server: Server, key: str, batches: Path, args) -> dict:
    """Events offered open loop with a worker running; when drained, the lag of each event."""
    worker = celery_worker_start(env, args.lag_workers)
    try:
        log("posterior lag: the worker first applies what the earlier phases left in the ledger")
        drained = ledger_drain(env, 0, args.lag_drain)
        with connect(env) as conn:
            since = conn.execute("SELECT coalesce(max(id), 0) FROM experiments_event").fetchone()[0]
        log(
            f"posterior lag: events at {args.lag_rate:.0f}/s for {args.lag_duration:.0f} s, "
            f"-c {args.lag_workers}"
        )
        rate = args.lag_rate / args.events_batch
        load = OpenLoop(
            server.port, key, "/api/v1/events", batches, rate, args.lag_duration, events=True
        ).result()
        pending = ledger_drain(env, since, args.lag_drain)["unapplied"]
        with connect(env) as conn:
            lags = conn.execute(
                "SELECT extract(epoch FROM applied_at - received_at) FROM experiments_event "
                "WHERE id > %s AND applied_at IS NOT NULL AND event_id LIKE 'bench-%%'",
                [since],
            ).fetchall()
    finally:
        stop(worker, timeout=60)
    seconds = [float(x[0]) for x in lags]

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    return {
        "offered_events_per_s": args.lag_rate,
        "worker_processes": args.lag_workers,
        "accepted": load["accepted"],
        "load": load,
        "applied": len(seconds),
        "unapplied_at_deadline": pending,
        "backlog_drained_first": drained,
        "lag_p50_s": rounded(percentile(seconds, 50)),
        "lag_p99_s": rounded(percentile(seconds, 99)),
        "lag_max_s": rounded(max(seconds, default=None)),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000, help="catalog size to seed (default 100000)")
    parser.add_argument(
        "--history-sessions", type=int, default=None, help="past sessions seeded (seed_demo --sessions)"
    )
    parser.add_argument("--skip-seed", action="store_true")
    workers_argument(parser)
    parser.add_argument("--port", type=int, default=0)
    ingest_workers_argument(parser)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=15.0, help="closed-loop seconds per endpoint")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--sessions", type=int, default=3000, help="shoppers with signals")
    parser.add_argument("--events-alongside", type=float, default=1000.0, help="events/s during page loads")
    parser.add_argument("--open-duration", type=float, default=15.0)
    parser.add_argument(
        "--open-rate", type=float, default=0.0, help="open-loop pages/s (default: half the peak)"
    )
    parser.add_argument("--events-batch", type=int, default=500)
    parser.add_argument("--events-duration", type=float, default=15.0)
    parser.add_argument("--lag-rate", type=float, default=5000.0, help="events/s offered with the worker on")
    parser.add_argument("--lag-duration", type=float, default=30.0)
    parser.add_argument("--lag-workers", type=int, default=1, help="Celery worker processes (-c)")
    parser.add_argument("--lag-drain", type=float, default=180.0, help="seconds to wait for the worker")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument(
        "--pages-only", action="store_true", help="closed and open loop pages only (no events, COPY, lag)"
    )
    database_url_argument(parser)
    parser.add_argument(
        "--note", action="store_true", help="start a dated note in bench/notes/ with the summary"
    )
    args = parser.parse_args(argv)
    return args


def phases(env, server: Server, ingest: Server, key: str, items: list[str], workdir: Path, args) -> dict:
    """Every phase; ``ingest`` is the server events go to (``server`` itself, or the ingest one)."""
    tool = WrkLoad(server.base, key, args.wrk_threads)
    rng = random.Random(20261123)
    log(f"priming {args.sessions} shoppers with views, carts and removals")
    sessions = sessions_prime(server.base, key, items, args.sessions, rng)
    none, one, twelve = (page_bodies(sessions, items, rng, slots=s) for s in ([], ["pdp_similar"], None))
    for name, bodies in (("assign0", none), ("assign1", one), ("assign12", twelve)):
        (workdir / f"{name}.jsonl").write_bytes(jsonl(bodies))
    assign12 = Endpoint("assign_12slot", "POST", "/api/v1/assignments", workdir / "assign12.jsonl")
    tool.run(assign12, 2 * args.workers, 2.0)  # every worker loads the catalog and models
    served = probe_assignments(server.base, key, twelve, 50).variants
    log(f"variants over 50 sequential pages: {served}")
    pages: list[Page] = []
    probe = probe_assignments(server.base, key, twelve, PAGES_FOR_EVENTS, pages)
    (workdir / "events.jsonl").write_bytes(jsonl(event_templates(pages, args.events_batch, rng)))
    (workdir / "side.jsonl").write_bytes(jsonl(event_templates(pages, ALONGSIDE_BATCH, rng)))
    endpoints = [
        Endpoint("healthz", "GET", "/healthz"),
        Endpoint(FLOOR, "POST", "/api/v1/assignments", workdir / "assign0.jsonl"),
        Endpoint("assign_1slot", "POST", "/api/v1/assignments", workdir / "assign1.jsonl"),
        assign12,
    ]
    rounds = closed_loop(tool, server, ingest, endpoints, key, workdir / "side.jsonl", args)
    closed = closed_summary(rounds)
    half = args.open_rate or closed["assign_12slot"]["rps"] / 2
    log(f"open loop: 12-slot pages at {half:.0f}/s for {args.open_duration:.0f} s")
    side = alongside(ingest, key, workdir / "side.jsonl", args.events_alongside, args.open_duration)
    # The machine is sampled beside the pages (about 2% of a core): a slow second then shows
    # whether the hypervisor took the cores (steal) or which process burst. The workers' CPU per
    # page here compares with the closed loop's: pages arriving one by one cost more.
    cpu_before = server.workers_cpu_s()
    opened = OpenLoop(
        server.port,
        key,
        "/api/v1/assignments",
        workdir / "assign12.jsonl",
        half,
        args.open_duration,
        events=False,
        sample_system=True,
    ).result()
    if opened["answered"]:
        cpu_ms = (server.workers_cpu_s() - cpu_before) * 1000
        opened["cpu_ms_per_request"] = round(cpu_ms / opened["answered"], 3)
    opened["alongside"] = side.result() if side else None
    page_results = {
        "variants_served": served,
        "probe": probe.summary(),
        "closed_loop": closed,
        "closed_loop_rounds": rounds,
        "open_loop_12slot": opened,
    }
    if args.pages_only:
        return page_results | {"events": None, "posterior_lag": None}
    log(
        f"events alone: batches of {args.events_batch}, {args.concurrency} connections, "
        f"{args.events_duration:.0f} s"
    )
    events = Endpoint("events", "POST", "/api/v1/events", workdir / "events.jsonl", events=True)
    events_tool = WrkLoad(ingest.base, key, args.wrk_threads)
    events_tool.run(events, args.concurrency, 3)
    ev = timed_run(events_tool, ingest, events, args.concurrency, args.events_duration)
    events_per_s = ev.accepted / ev.duration_s
    log(f"raw COPY of {ev.accepted} stored rows, {args.events_batch} per COPY")
    copy = copy_baseline(env, ev.accepted, args.events_batch)
    lag = lag_run(env, ingest, key, workdir / "events.jsonl", args)
    return page_results | {
        "events": {
            "accepted_per_s": round(events_per_s, 1),
            "p99_ms": ev.p99_ms,
            "errors": ev.errors,
            "cpu_us_per_event": round(ev.worker_cpu_s * 1e6 / ev.accepted, 1) if ev.accepted else None,
            "copy": copy,
            "x_copy": round(events_per_s / copy["rows_per_s"], 3),
        },
        "posterior_lag": lag,
    }


COLUMNS = (
    Column("endpoint", "endpoint", 15),
    Column("req/s", "rps", 9, ".1f"),
    Column("p50 ms", "p50_ms", 9, ".2f"),
    Column("p99 ms", "p99_ms", 9, ".2f"),
    Column("x healthz", "x_healthz", 11, ".4f"),
    Column("x floor", "x_floor", 9, ".4f"),
    Column("cpu ms", "cpu_ms_per_request", 9, ".3f"),
    Column("errors", "errors", 8),
    Column("events alongside", "alongside_events_accepted", 18),
)


def summary(report: dict) -> str:
    n = report.get("ingest_workers")
    layout = f" (events on their own server, {n} workers)" if n else ""
    o = report["open_loop_12slot"]
    lines = [
        f"Peak bench, {report['items']} items, gunicorn {report['workers']} sync workers{layout}, "
        f"{report['concurrency']} connections, load average {report['loadavg'][0]} -> "
        f"{report['loadavg_at_end'][0]}",
        f"variants served (50 pages): {report['variants_served']}",
        table(COLUMNS, report["closed_loop"].values()),
        f"open loop 12-slot at {o['offered_rate']:.0f}/s: answered {o['answered']} of {o['sent']}, "
        f"p50 {o['p50_ms']:.2f} ms, p99 {o['p99_ms']:.2f} ms, errors {o['errors']}, "
        f"worker cpu {o.get('cpu_ms_per_request', float('nan')):.3f} ms per page",
        f"  client send lag p99 {o['send_lag_p99_ms']:.2f} ms, max {o['send_lag_max_ms']:.1f} ms; "
        f"slowest seconds {o['worst_seconds']}",
    ]
    e, lag = report["events"], report["posterior_lag"]
    if e is not None:
        lines.append(
            f"events: {e['accepted_per_s']:.0f}/s accepted, {e['cpu_us_per_event']} us worker CPU each; "
            f"raw COPY {e['copy']['rows_per_s']:.0f} rows/s; ratio {e['x_copy']:.3f}"
        )
        lines.append(
            f"posterior lag at {lag['offered_events_per_s']:.0f} events/s offered: p50 {lag['lag_p50_s']} s, "
            f"p99 {lag['lag_p99_s']} s, max {lag['lag_max_s']} s ({lag['applied']} applied, "
            f"{lag['unapplied_at_deadline']} left)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sigterm_unwinds()
    env = process_env(bench_env(queue=QUEUE, database_url=args.database_url))
    var_dir = Path(env["VAR_DIR"])
    var_dir.mkdir(parents=True, exist_ok=True)
    started_at, load_at_start = datetime.now(UTC), loadavg()
    try:
        key, items, seed_s = database_setup(
            env,
            items=args.items,
            skip_seed=args.skip_seed,
            sessions=args.history_sessions,
            key_name="bench-peak",
        )
        server = Server(env, args.workers, var_dir / "gunicorn-peak.log", port=args.port)
        ingest = server
        if args.ingest_workers:
            ingest = Server(env, args.ingest_workers, var_dir / "gunicorn-peak-ingest.log")
        workdir = Path(tempfile.mkdtemp(prefix="bench-peak-", dir=var_dir))
        try:
            server.start()
            if ingest is not server:
                ingest.start()
            results = phases(env, server, ingest, key, items, workdir, args)
        finally:
            server.stop()
            ingest.stop()
            broker_queue_drop(env)
            shutil.rmtree(workdir, ignore_errors=True)
    except (BenchError, subprocess.CalledProcessError) as exc:
        print(f"bench_peak: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench_peak: interrupted; gunicorn stopped", file=sys.stderr)
        return 130
    report = {
        "bench": "peak",
        "started_at": started_at.isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python -m bench.bench_peak", *sys.argv[1:]]),
        "machine": machine_info() | {"loadavg_at_start": load_at_start},
        "loadavg": load_at_start,
        "loadavg_at_end": loadavg(),
        "items": len(items),
        "seed_s": round(seed_s, 1),
        "workers": args.workers,
        "ingest_workers": args.ingest_workers,
        "concurrency": args.concurrency,
        "args": vars(args),
    } | results
    out = results_write("peak", report)
    text = summary(report)
    print(f"\n{text}")
    if args.note:
        note = note_draft(
            "peak", title="peak bench", command=report["command"], machine=report["machine"], body=text
        )
        print(f"note started: {note.relative_to(ROOT)}")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
