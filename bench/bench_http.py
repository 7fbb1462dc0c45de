"""HTTP load benchmark: the app under gunicorn against PostgreSQL and Redis, in one run.

Run (2-core machine, PostgreSQL on 127.0.0.1:5432 with trust auth, Redis on 127.0.0.1:6379):

    .venv/bin/python -m bench.bench_http [--items 20000] [--skip-seed] [--workers N]
        [--concurrency 16] [--duration 15] [--rounds 3] [--tool auto|wrk|python] [--json]

Measures, at a fixed concurrency in a closed loop (each connection sends its next request as
soon as the previous answer arrived), for ``--duration`` seconds each (default run: about
2 minutes with seeding, under 5 minutes in any case):

- ``GET /healthz``: the baseline (no database, no cache, no auth);
- ``POST /api/v1/assignments`` for one slot (``pdp_similar``) and for all 12 product-page slots;
- ``POST /api/v1/events`` in batches of 500 (impressions quoting real decision ids, and views).

These machines are noisy, so every figure is also given as a ratio to ``/healthz`` measured in
the same run by the same load generator: ratios are what compare across runs and machines. The
three request endpoints run in ``--rounds`` interleaved rounds (healthz, 1-slot, 12-slot, again,
...) and each ratio is the median of per-round ratios, so a neighbour that loads the machine for
a few seconds does not skew one endpoint only. Beside wall-clock figures, the CPU the gunicorn
workers spent per request (from /proc) is reported: it hardly moves with the neighbours.
Target at this stage: 12-slot p99 under 50 ms on the 20k-item demo catalog.

Setup (``bench.harness.database``): a dedicated database ``controlplane_bench`` (created if
missing), Redis db 2 (cache, session store) and 3 (broker, on its own queue, emptied at the end),
``VAR_DIR`` ``var/bench`` (models and the demo world), ``migrate``, ``seed_demo --items N`` (unless
``--skip-seed``), a fresh storefront key, bench events of earlier runs deleted, gunicorn with
sync workers on 127.0.0.1, a check that every slot is served by its model (no fallback), a
warm-up of each endpoint, then the measurements. Everything started is stopped at the end.

The load generator is wrk (``bench/wrk/bench_http.lua``) when installed, else an asyncio
client (``bench.harness.load``). Latency is from writing the request to reading the whole answer (wrk's
definition; the TCP connect is not included, but time queued in the listen backlog is:
gunicorn's sync workers close every connection). Results: a table on stdout and JSON in
``bench/results/http-<UTC timestamp>.json``; ``--note`` starts a dated note in ``bench/notes/``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import ROOT, BenchError, say
from bench.harness.database import (
    bench_env,
    broker_queue_drop,
    database_setup,
    database_url_argument,
    process_env,
)
from bench.harness.load import Endpoint, LoadResult, load_tool, timed_run
from bench.harness.report import Column, machine_info, note_draft, ratio, results_write, table
from bench.harness.server import Server, sigterm_unwinds, workers_argument
from bench.harness.traffic import (
    PAGES_FOR_EVENTS,
    Page,
    event_templates,
    jsonl,
    page_bodies,
    probe_assignments,
)

TARGET_P99_MS = 50.0
BODIES_PER_ENDPOINT = 5_000
QUEUE = "bench-http"


def log(message: str) -> None:
    say("bench_http", message)


def endpoints_prepare(
    workdir: Path, server: Server, tool, key: str, items: list[str], args: argparse.Namespace
) -> tuple[list[Endpoint], dict]:
    """Write the request bodies, check serving with sequential probes, build the events batches.

    Every worker loads the catalog and models on its first request: a short 12-slot load
    first, so the sequential probe sees warm workers.
    """
    rng = random.Random(20261123)
    run = uuid.uuid4().hex[:6]
    new_sessions = [f"bench-s-{run}-{n}" for n in range(BODIES_PER_ENDPOINT)]
    one = page_bodies(new_sessions, items, rng, slots=["pdp_similar"])
    twelve = page_bodies(new_sessions, items, rng, slots=None)
    (workdir / "assign1.jsonl").write_bytes(jsonl(one))
    (workdir / "assign12.jsonl").write_bytes(jsonl(twelve))
    assign12 = Endpoint("assign_12slot", "POST", "/api/v1/assignments", workdir / "assign12.jsonl")
    tool.run(assign12, 2 * args.workers, 2.0)

    log(f"probe: {args.probe} sequential requests per assignment form; decisions for the events batches")
    probes = {
        "assign_1slot": probe_assignments(server.base, key, one, args.probe),
        "assign_12slot": probe_assignments(server.base, key, twelve, args.probe),
    }
    pages: list[Page] = []
    event_sessions = [f"bench-ev-{run}-{n}" for n in range(PAGES_FOR_EVENTS)]
    event_pages = page_bodies(event_sessions, items, random.Random(7), slots=None)
    probes["events_pages"] = probe_assignments(server.base, key, event_pages, PAGES_FOR_EVENTS, pages)
    twelve_probe = probes["assign_12slot"]
    if not twelve_probe.every_slot_served:
        log(
            f"WARNING: 12-slot probe got {twelve_probe.decisions} decisions for {twelve_probe.requests} "
            f"requests, {twelve_probe.fallbacks} fallbacks, {twelve_probe.slot_errors} slot errors"
        )
    (workdir / "events.jsonl").write_bytes(jsonl(event_templates(pages, args.events_batch, rng)))
    endpoints = [
        Endpoint("healthz", "GET", "/healthz"),
        Endpoint("assign_1slot", "POST", "/api/v1/assignments", workdir / "assign1.jsonl"),
        assign12,
        Endpoint("events", "POST", "/api/v1/events", workdir / "events.jsonl", events=True),
    ]
    return endpoints, {name: probe.summary() for name, probe in probes.items()}


def measure(tool, server: Server, endpoints: list[Endpoint], args: argparse.Namespace) -> list[dict]:
    """Rounds of healthz, 1-slot, 12-slot back to back (``--duration`` split over ``--rounds``),
    then the events batches alone (they write to PostgreSQL, which would disturb the others)."""
    looped = [e for e in endpoints if not e.events]
    events = next(e for e in endpoints if e.events)
    per_round = max(1, round(args.duration / args.rounds))
    rounds: dict[str, list[LoadResult]] = {e.name: [] for e in looped}
    if args.warmup > 0:
        log(f"warm-up: {args.warmup:.0f} s per endpoint")
        for endpoint in looped:
            tool.run(endpoint, args.concurrency, args.warmup)
    for n in range(args.rounds):
        log(f"round {n + 1}/{args.rounds}: {', '.join(rounds)}, {per_round} s each, c={args.concurrency}")
        for endpoint in looped:
            result = timed_run(tool, server, endpoint, args.concurrency, per_round)
            if result.requests == 0:
                raise BenchError(f"{endpoint.name}: no request completed ({result.error_detail})")
            rounds[endpoint.name].append(result)
    concurrency = args.events_concurrency or args.concurrency
    if args.warmup > 0:
        tool.run(events, concurrency, args.warmup)
    log(f"events: batches of {args.events_batch}, {concurrency} connections, {args.duration:.0f} s")
    events_result = timed_run(tool, server, events, concurrency, args.duration)
    base = rounds["healthz"]
    rows = [row_build(name, results, base) for name, results in rounds.items()]
    return rows + [events_row(events_result, base, args.events_batch)]


def _cpu_ms_per_request(rounds: list[LoadResult]) -> float:
    return sum(r.worker_cpu_s for r in rounds) * 1000 / sum(r.requests for r in rounds)


def row_build(name: str, rounds: list[LoadResult], base_rounds: list[LoadResult]) -> dict:
    """One endpoint over its rounds: throughput pooled; percentiles and ratios as round medians.

    Round i of every endpoint ran back to back, so the ratio of round i is measured under the
    same machine noise; the median over rounds drops a round that a neighbour disturbed.
    """
    requests = sum(r.requests for r in rounds)
    pairs = list(zip(rounds, base_rounds, strict=True))
    cpu_ms = _cpu_ms_per_request(rounds)
    return {
        "endpoint": name,
        "requests": requests,
        "rps": round(requests / sum(r.duration_s for r in rounds), 1),
        "p50_ms": round(statistics.median(r.p50_ms for r in rounds), 2),
        "p90_ms": round(statistics.median(r.p90_ms for r in rounds), 2),
        "p99_ms": round(statistics.median(r.p99_ms for r in rounds), 2),
        "p99_ms_worst_round": round(max(r.p99_ms for r in rounds), 2),
        "max_ms": round(max(r.max_ms for r in rounds), 2),
        "rps_vs_healthz": round(statistics.median(r.rps / b.rps for r, b in pairs), 4),
        "p50_vs_healthz": round(statistics.median(r.p50_ms / b.p50_ms for r, b in pairs), 2),
        "p99_vs_healthz": round(statistics.median(r.p99_ms / b.p99_ms for r, b in pairs), 2),
        "cpu_ms_per_request": round(cpu_ms, 3),
        "cpu_vs_healthz": ratio(cpu_ms, _cpu_ms_per_request(base_rounds), 2),
        "errors": sum(r.errors for r in rounds),
        "error_detail": [r.error_detail for r in rounds if r.error_detail],
        "rounds": [
            {
                "rps": round(r.rps, 1),
                "p50_ms": round(r.p50_ms, 2),
                "p99_ms": round(r.p99_ms, 2),
                "cpu_ms_per_request": round(r.cpu_ms_per_request, 3),
                "healthz_rps": round(b.rps, 1),
            }
            for r, b in pairs
        ],
    }


def events_row(result: LoadResult, base_rounds: list[LoadResult], batch: int) -> dict:
    healthz_rps = statistics.median(b.rps for b in base_rounds)
    events_per_s = result.accepted / result.duration_s
    return {
        "endpoint": "events",
        "requests": result.requests,
        "rps": round(result.rps, 2),
        "p50_ms": round(result.p50_ms, 2),
        "p90_ms": round(result.p90_ms, 2),
        "p99_ms": round(result.p99_ms, 2),
        "max_ms": round(result.max_ms, 2),
        "rps_vs_healthz": ratio(result.rps, healthz_rps, 4),
        "p50_vs_healthz": None,
        "p99_vs_healthz": None,
        "cpu_ms_per_request": round(result.cpu_ms_per_request, 3),
        "cpu_vs_healthz": ratio(result.cpu_ms_per_request, _cpu_ms_per_request(base_rounds), 2),
        "worker_cpu_us_per_event": round(result.worker_cpu_s * 1e6 / result.accepted, 1)
        if result.accepted
        else None,
        "errors": result.errors,
        "error_detail": [result.error_detail] if result.error_detail else [],
        "batch": batch,
        "accepted": result.accepted,
        "rejected_or_duplicate": result.requests * batch - result.accepted,
        "events_per_s": round(events_per_s, 1),
        "events_per_s_vs_healthz_rps": ratio(events_per_s, healthz_rps, 3),
    }


# req/s and latencies are wall clock (they move with the neighbours); "x healthz" is the median of
# per-round throughput ratios; "cpu ms/req" is gunicorn worker CPU per request.
COLUMNS = (
    Column("endpoint", "endpoint", 15),
    Column("req/s", "rps", 9, ".1f"),
    Column("p50 ms", "p50_ms", 9, ".2f"),
    Column("p99 ms", "p99_ms", 9, ".2f"),
    Column("x healthz", "rps_vs_healthz", 11, ".4f"),
    Column("p99/hz", "p99_vs_healthz", 8, ".1f"),
    Column("cpu ms/req", "cpu_ms_per_request", 12, ".3f"),
    Column("cpu/hz", "cpu_vs_healthz", 8, ".1f"),
    Column("errors", "errors", 8),
)


def summary(report: dict) -> str:
    cfg = report["config"]
    lines = [
        f"HTTP bench, {cfg['items']} items, gunicorn {cfg['workers']} sync workers, "
        f"{cfg['concurrency']} connections x {cfg['duration_s']:.0f} s, {cfg['load_generator']}, "
        f"{report['machine']['cores']} cores, {report['started_at']}, load average "
        f"{report['machine']['loadavg_at_start'][0]} at start, {report['loadavg_at_end'][0]} at end",
        "",
        table(COLUMNS, report["results"]),
    ]
    ev = report["results"][-1]
    lines.append(
        f"events: {ev['events_per_s']:.0f}/s accepted (batches of {ev['batch']}), "
        f"{ev['events_per_s_vs_healthz_rps']} x healthz req/s, "
        f"{ev['worker_cpu_us_per_event']} us worker CPU per event"
    )
    lines.append(
        "sequential probe (no load), p50/p99 ms: "
        + "; ".join(
            f"{name} client {p['client_p50_ms']}/{p['client_p99_ms']}, "
            f"served_in_ms {p['served_in_ms_p50']}/{p['served_in_ms_p99']}"
            for name, p in report["probe_sequential"].items()
            if name != "events_pages"
        )
    )
    target = report["target"]
    verdict = "MET" if target["met"] else "NOT MET"
    lines.append(
        f"target 12-slot p99 < {TARGET_P99_MS:.0f} ms: {target['assign_12slot_p99_ms']} ms, {verdict}"
    )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=20_000, help="demo catalog size (default 20000)")
    parser.add_argument("--skip-seed", action="store_true", help="reuse the demo seeded by an earlier run")
    workers_argument(parser)
    parser.add_argument("--port", type=int, default=0, help="gunicorn port (default: a free one)")
    parser.add_argument("--concurrency", type=int, default=16, help="open connections (default 16)")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per endpoint (default 15)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds the duration is split into")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per endpoint (default 3)")
    parser.add_argument("--events-batch", type=int, default=500, help="events per batch (default 500)")
    parser.add_argument("--events-concurrency", type=int, default=None, help="connections for events")
    parser.add_argument(
        "--probe", type=int, default=50, help="sequential probe requests per form (default 50)"
    )
    parser.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--wrk-threads", type=int, default=1, help="wrk threads (default 1: 2 cores are shared)"
    )
    database_url_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the JSON result instead of the table")
    parser.add_argument(
        "--note", action="store_true", help="start a dated note in bench/notes/ with the table"
    )
    args = parser.parse_args(argv)
    if args.tool == "wrk" and shutil.which("wrk") is None:
        parser.error("--tool wrk but wrk is not installed (apt-get install -y wrk)")
    if not 1 <= args.events_batch <= 1000:
        parser.error("--events-batch must be within 1..1000")
    return args


def run(args: argparse.Namespace) -> dict:
    env = process_env(bench_env(queue=QUEUE, database_url=args.database_url))
    var_dir = Path(env["VAR_DIR"])
    var_dir.mkdir(parents=True, exist_ok=True)
    machine = machine_info()
    started_at = datetime.now(UTC)
    t0 = time.perf_counter()
    key, items, seed_s = database_setup(
        env, items=args.items, skip_seed=args.skip_seed, key_name="bench-http"
    )
    world = json.loads((var_dir / "demo_world.json").read_text())
    server = Server(env, args.workers, var_dir / "gunicorn-bench.log", port=args.port)
    workdir = Path(tempfile.mkdtemp(prefix="bench-http-", dir=var_dir))
    try:
        server.start()
        tool = load_tool(args.tool, server.base, key, args.wrk_threads)
        log(f"load generator: {tool.name} ({tool.version})")
        endpoints, probes = endpoints_prepare(workdir, server, tool, key, items, args)
        rows = measure(tool, server, endpoints, args)
    finally:
        server.stop()
        broker_queue_drop(env)
        shutil.rmtree(workdir, ignore_errors=True)
    twelve = next(r for r in rows if r["endpoint"] == "assign_12slot")
    return {
        "bench": "http",
        "started_at": started_at.isoformat(timespec="seconds"),
        "wall_s": round(time.perf_counter() - t0, 1),
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "seed_s": round(seed_s, 1),
        "command": " ".join([".venv/bin/python -m bench.bench_http", *sys.argv[1:]]),
        "machine": machine,
        "config": {
            "items": len(items),
            "world": world,
            "workers": args.workers,
            "worker_class": os.environ.get("WEB_WORKER_CLASS") or "gunicorn.conf.py's",
            "concurrency": args.concurrency,
            "events_concurrency": args.events_concurrency or args.concurrency,
            "duration_s": args.duration,
            "rounds": args.rounds,
            "warmup_s": args.warmup,
            "events_batch": args.events_batch,
            "load_generator": f"{tool.name} ({tool.version})",
            "database": env["DATABASE_URL"],
            "redis": env["REDIS_URL"],
        },
        "results": rows,
        "probe_sequential": probes,
        "target": {
            "assign_12slot_p99_ms_max": TARGET_P99_MS,
            "assign_12slot_p99_ms": twelve["p99_ms"],
            "met": twelve["p99_ms"] < TARGET_P99_MS,
        },
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sigterm_unwinds()
    try:
        report = run(args)
    except BenchError as exc:
        print(f"bench_http: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench_http: interrupted; gunicorn stopped", file=sys.stderr)
        return 130
    out = results_write("http", report)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    text = summary(report)
    print(f"\n{text}")
    if args.note:
        note = note_draft(
            "http", title="HTTP bench", command=report["command"], machine=report["machine"], body=text
        )
        print(f"note started: {note.relative_to(ROOT)}")
    print(f"wrote {out.relative_to(ROOT)} (whole run {report['wall_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
