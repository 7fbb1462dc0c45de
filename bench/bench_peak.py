"""The storefront at peak: full pages for shoppers with session signals, events alongside,
open-loop latency at half the peak, events against a raw COPY, and the posterior lag.

    .venv/bin/python bench/bench_peak.py --items 100000      # seeds, then about 4 minutes
    .venv/bin/python bench/bench_peak.py --skip-seed          # reuse what an earlier run seeded

Shares its setup with ``bench/bench_http.py`` (database ``controlplane_bench``, Redis db 2/3,
``var/bench``, gunicorn on 127.0.0.1 with ``gunicorn.conf.py``'s sync workers: cores + 1).
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
   rate (``bench/open_loop.py``: latency from each request's due time), events alongside.
4. **Events alone** (wrk, closed loop, batches of 500): accepted events/s, then a raw psycopg
   ``COPY`` of the same stored rows into a scratch table with the same indexes, same run.
5. **Posterior lag**: a Celery worker (``-c 1``) runs while events are offered open loop at
   ``--lag-rate`` events/s for ``--lag-duration`` s; when the ledger is drained, the lag of each
   event (``applied_at - received_at``: accepted to reflected in its arm's posterior) is read.

Results: a summary on stdout and JSON in ``bench/results/peak-<UTC timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_http as h  # noqa: E402

OPEN_LOOP = h.ROOT / "bench" / "open_loop.py"
ALONGSIDE_BATCH = 100
# The storefront floor: an assignment request for no slot (see the module docstring, step 2).
FLOOR = "assign_0slot"
EVENT_COLUMNS = (
    "event_id, type, ts, received_at, session_id, user_id, item_id, items, value, dwell_ms, "
    "decision_key, decision"
)


def say(message: str) -> None:
    print(f"[bench_peak {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Shoppers with signals
# ---------------------------------------------------------------------------------------------


def _event(session: str, kind: str, item: str, ts: str, **extra) -> dict:
    return (
        {"event_id": f"bench-prime-{uuid.uuid4().hex}", "type": kind, "ts": ts, "session_id": session}
        | {"item_id": item}
        | extra
    )


def sessions_prime(server: h.Server, key: str, items: list[str], n: int, rng: random.Random) -> list[str]:
    """``n`` shoppers with 3-6 views (dwell 1-90 s), one add-to-cart, a removal for one in five."""
    ts = datetime.now(UTC).isoformat()
    run = uuid.uuid4().hex[:6]
    sessions, batch = [], []
    for s in range(n):
        session = f"bench-shop-{run}-{s}"
        sessions.append(session)
        viewed = rng.sample(items, rng.randint(3, 6))
        batch += [_event(session, "view", i, ts, dwell_ms=rng.randint(1_000, 90_000)) for i in viewed]
        batch.append(_event(session, "add_to_cart", viewed[-1], ts))
        if rng.random() < 0.2:
            batch.append(_event(session, "remove_from_cart", viewed[-1], ts))
        if len(batch) >= 450 or s == n - 1:
            status, answer = h.http_post(server.base, "/api/v1/events", key, {"events": batch})
            if status != 202 or answer.get("rejected"):
                raise h.BenchError(f"priming sessions: {status} {answer}")
            batch = []
    return sessions


def page_bodies(
    sessions: list[str], items: list[str], rng: random.Random, *, slots: list[str] | None
) -> list[bytes]:
    """One assignment body per session; ``slots`` None asks for the whole product page."""
    bodies = []
    for session in sessions:
        body: dict = {"session_id": session, "context": {"product_id": rng.choice(items)}}
        if slots is not None:
            body["slots"] = slots
        bodies.append(json.dumps(body, separators=(",", ":")).encode())
    rng.shuffle(bodies)
    return bodies


def variants_served(server: h.Server, key: str, bodies: list[bytes], n: int) -> dict[str, int]:
    """Decisions per variant over ``n`` sequential 12-slot pages (and fallbacks)."""
    counts: dict[str, int] = {}
    for raw in bodies[:n]:
        status, answer = h.http_post(server.base, "/api/v1/assignments", key, json.loads(raw))
        if status != 200:
            raise h.BenchError(f"assignments answered {status}: {answer}")
        for decision in answer["decisions"]:
            name = "FALLBACK" if decision.get("fallback") else str(decision.get("variant"))
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


# ---------------------------------------------------------------------------------------------
# Load pieces
# ---------------------------------------------------------------------------------------------


class OpenLoop:
    """``bench/open_loop.py`` in a subprocess (so it does not share this process's core)."""

    def __init__(
        self,
        server: h.Server,
        key: str,
        path: str,
        bodies: Path,
        rate: float,
        duration: float,
        *,
        events: bool,
        sample_system: bool = False,
    ) -> None:
        cmd = [
            h.PYTHON,
            str(OPEN_LOOP),
            "--port",
            str(server.port),
            "--path",
            path,
            "--bodies",
            str(bodies),
            "--key",
            key,
            "--rate",
            f"{rate:.3f}",
            "--duration",
            f"{duration:.1f}",
        ]
        self.proc = subprocess.Popen(
            cmd + (["--events"] if events else []) + (["--sample-system"] if sample_system else []),
            stdout=subprocess.PIPE,
            text=True,
        )

    def result(self) -> dict:
        out, _ = self.proc.communicate(timeout=300)
        match = re.search(r"^OPEN_LOOP_JSON (\{.*\})$", out, re.MULTILINE)
        if self.proc.returncode != 0 or match is None:
            raise h.BenchError(f"open_loop failed ({self.proc.returncode}): {out[-2000:]}")
        return json.loads(match.group(1))


def alongside(
    server: h.Server, key: str, batches: Path, events_per_s: float, duration: float
) -> OpenLoop | None:
    if events_per_s <= 0:
        return None
    return OpenLoop(
        server, key, "/api/v1/events", batches, events_per_s / ALONGSIDE_BATCH, duration, events=True
    )


def closed_loop(tool, server, ingest, endpoints, key, batches, args) -> dict[str, list[dict]]:
    """Interleaved rounds: healthz alone, then 1-slot and 12-slot each with events alongside."""
    per_round = max(1, round(args.duration / args.rounds))
    rounds: dict[str, list[dict]] = {e.name: [] for e in endpoints}
    say(f"warm-up: {args.warmup:.0f} s per endpoint")
    for endpoint in endpoints:
        tool.run(endpoint, args.concurrency, args.warmup)
    for n in range(args.rounds):
        say(
            f"round {n + 1}/{args.rounds}: {per_round} s per endpoint, c={args.concurrency}, "
            f"events alongside at {args.events_alongside:.0f}/s"
        )
        for endpoint in endpoints:
            side = (
                None
                if endpoint.name == "healthz"
                else alongside(ingest, key, batches, args.events_alongside, per_round)
            )
            result = h.timed_run(tool, server, endpoint, args.concurrency, per_round)
            side_result = side.result() if side else None
            rounds[endpoint.name].append(
                {
                    "rps": result.rps,
                    "p50_ms": result.p50_ms,
                    "p99_ms": result.p99_ms,
                    "errors": result.errors,
                    "cpu_ms_per_request": result.cpu_ms_per_request,
                    "alongside": side_result,
                }
            )
    return rounds


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if len(ordered) % 2 else sum(ordered[len(ordered) // 2 - 1 :][:2]) / 2


def closed_summary(rounds: dict[str, list[dict]]) -> dict[str, dict]:
    base, floor = rounds["healthz"], rounds.get(FLOOR)
    out = {}
    for name, results in rounds.items():
        out[name] = {
            "rps": round(_median([r["rps"] for r in results]), 1),
            "p50_ms": round(_median([r["p50_ms"] for r in results]), 2),
            "p99_ms": round(_median([r["p99_ms"] for r in results]), 2),
            "x_healthz": round(_median([r["rps"] / b["rps"] for r, b in zip(results, base, strict=True)]), 4),
            "x_floor": round(_median([r["rps"] / f["rps"] for r, f in zip(results, floor, strict=True)]), 4)
            if floor
            else None,
            "cpu_ms_per_request": round(_median([r["cpu_ms_per_request"] for r in results]), 3),
            "errors": sum(r["errors"] for r in results),
            "alongside_events_accepted": sum((r["alongside"] or {}).get("accepted", 0) for r in results),
            "alongside_errors": [
                r["alongside"]["errors"] for r in results if r["alongside"] and r["alongside"]["errors"]
            ],
        }
    return out


# ---------------------------------------------------------------------------------------------
# Events: raw COPY baseline and posterior lag
# ---------------------------------------------------------------------------------------------


def _connect(env: dict[str, str]):
    import psycopg

    return psycopg.connect(env["DATABASE_URL"].replace("postgres://", "postgresql://", 1), autocommit=False)


def copy_baseline(env: dict[str, str], n_rows: int, batch: int) -> dict:
    """COPY the ``n_rows`` latest stored bench events (as Python rows) into a scratch table with
    the ledger's indexes, ``batch`` rows per COPY and transaction, one connection."""
    from psycopg.types.json import Jsonb

    with _connect(env) as conn:
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


def worker_start(env: dict[str, str], concurrency: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            h.PYTHON,
            "-m",
            "celery",
            "-A",
            "controlplane",
            "worker",
            "-Q",
            env["CELERY_QUEUE"],
            "-c",
            str(concurrency),
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=h.ROOT,
        env=env | {"OPENBLAS_NUM_THREADS": "1"},
        start_new_session=True,
    )


def _drain(env: dict[str, str], since: int, timeout: float) -> dict:
    """Wait until no event after ``since`` is unapplied; return how long it took and what is left."""
    started = time.monotonic()
    pending = None
    with _connect(env) as conn:
        while time.monotonic() - started < timeout:
            pending = conn.execute(
                "SELECT count(*) FROM experiments_event WHERE id > %s AND applied_at IS NULL", [since]
            ).fetchone()[0]
            conn.commit()
            if pending == 0:
                break
            time.sleep(0.5)
    return {"seconds": round(time.monotonic() - started, 1), "unapplied": pending}


def lag_run(env: dict[str, str], server: h.Server, key: str, batches: Path, args) -> dict:
    """Events offered open loop with a worker running; when drained, the lag of each event."""
    worker = worker_start(env, args.lag_workers)
    try:
        say("posterior lag: the worker first applies what the earlier phases left in the ledger")
        drained = _drain(env, 0, args.lag_drain)
        with _connect(env) as conn:
            since = conn.execute("SELECT coalesce(max(id), 0) FROM experiments_event").fetchone()[0]
        say(
            f"posterior lag: events at {args.lag_rate:.0f}/s for {args.lag_duration:.0f} s, "
            f"worker -c {args.lag_workers}"
        )
        load = OpenLoop(
            server,
            key,
            "/api/v1/events",
            batches,
            args.lag_rate / args.events_batch,
            args.lag_duration,
            events=True,
        ).result()
        pending = _drain(env, since, args.lag_drain)["unapplied"]
        with _connect(env) as conn:
            lags = conn.execute(
                "SELECT extract(epoch FROM applied_at - received_at) FROM experiments_event "
                "WHERE id > %s AND applied_at IS NOT NULL AND event_id LIKE 'bench-%%'",
                [since],
            ).fetchall()
    finally:
        worker.send_signal(h.signal.SIGTERM)  # warm shutdown: the main process stops its pool
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            h.os.killpg(worker.pid, h.signal.SIGKILL)
            worker.wait()
    seconds = [float(x[0]) for x in lags]
    return {
        "offered_events_per_s": args.lag_rate,
        "worker_processes": args.lag_workers,
        "accepted": load["accepted"],
        "load": load,
        "applied": len(seconds),
        "unapplied_at_deadline": pending,
        "backlog_drained_first": drained,
        "lag_p50_s": round(h.percentile(seconds, 50), 2) if seconds else None,
        "lag_p99_s": round(h.percentile(seconds, 99), 2) if seconds else None,
        "lag_max_s": round(max(seconds), 2) if seconds else None,
    }


# ---------------------------------------------------------------------------------------------
# Run
# ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000, help="catalog size to seed (default 100000)")
    parser.add_argument(
        "--history-sessions",
        type=int,
        default=None,
        help="past sessions seeded (seed_demo --sessions; default: its own)",
    )
    parser.add_argument("--skip-seed", action="store_true")
    parser.add_argument(
        "--workers", type=int, default=h.web_workers(), help="gunicorn workers (default: as gunicorn.conf.py)"
    )
    parser.add_argument("--port", type=int, default=0)
    h.ingest_workers_argument(parser)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=15.0, help="closed-loop seconds per endpoint")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--sessions", type=int, default=3000, help="shoppers with signals")
    parser.add_argument("--events-alongside", type=float, default=1000.0, help="events/s during page loads")
    parser.add_argument("--open-duration", type=float, default=15.0)
    parser.add_argument(
        "--open-rate", type=float, default=0.0, help="open-loop pages/s (default: half the measured peak)"
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
    parser.add_argument("--database-url", default=h.DEFAULT_ENV["DATABASE_URL"])
    args = parser.parse_args(argv)
    args.probe, args.tool = 50, "wrk"
    return args


def seed(env: dict[str, str], args: argparse.Namespace) -> tuple[str, list[str], float]:
    if args.history_sessions and not args.skip_seed:
        say(f"seed_demo --items {args.items} --sessions {args.history_sessions}")
        started = time.perf_counter()
        subprocess.run(
            [h.PYTHON, "bin/services_ready.py", env["DATABASE_URL"]], cwd=h.ROOT, env=env, check=True
        )
        h.manage(env, "migrate", "--noinput", "-v0")
        h.manage(
            env,
            "seed_demo",
            "--items",
            str(args.items),
            "--sessions",
            str(args.history_sessions),
            timeout=7200,
        )
        args.skip_seed = True
        key, items, _ = h.setup_database(env, args)
        return key, items, time.perf_counter() - started
    return h.setup_database(env, args)


def phases(env, server, ingest, key, items, workdir: Path, args) -> dict:
    """Every phase; ``ingest`` is the server events go to (``server`` itself, or the ingest one)."""
    tool = h.WrkLoad(server.base, key, args.wrk_threads)
    rng = random.Random(20261123)
    say(f"priming {args.sessions} shoppers with views, carts and removals")
    sessions = sessions_prime(server, key, items, args.sessions, rng)
    none, one, twelve = (page_bodies(sessions, items, rng, slots=s) for s in ([], ["pdp_similar"], None))
    (workdir / "assign0.jsonl").write_bytes(b"\n".join(none) + b"\n")
    (workdir / "assign1.jsonl").write_bytes(b"\n".join(one) + b"\n")
    (workdir / "assign12.jsonl").write_bytes(b"\n".join(twelve) + b"\n")
    assign12 = h.Endpoint("assign_12slot", "POST", "/api/v1/assignments", workdir / "assign12.jsonl")
    tool.run(assign12, 2 * args.workers, 2.0)  # every worker loads the catalog and models
    served = variants_served(server, key, twelve, 50)
    say(f"variants over 50 sequential pages: {served}")
    pages: list[h.Page] = []
    probe = h.probe_assignments(server.base, key, twelve, h.PAGES_FOR_EVENTS, pages)
    (workdir / "events.jsonl").write_bytes(
        b"\n".join(h.event_templates(pages, args.events_batch, rng)) + b"\n"
    )
    (workdir / "side.jsonl").write_bytes(b"\n".join(h.event_templates(pages, ALONGSIDE_BATCH, rng)) + b"\n")
    endpoints = [
        h.Endpoint("healthz", "GET", "/healthz"),
        h.Endpoint(FLOOR, "POST", "/api/v1/assignments", workdir / "assign0.jsonl"),
        h.Endpoint("assign_1slot", "POST", "/api/v1/assignments", workdir / "assign1.jsonl"),
        assign12,
    ]
    rounds = closed_loop(tool, server, ingest, endpoints, key, workdir / "side.jsonl", args)
    closed = closed_summary(rounds)
    half = args.open_rate or closed["assign_12slot"]["rps"] / 2
    say(f"open loop: 12-slot pages at {half:.0f}/s for {args.open_duration:.0f} s")
    side = alongside(ingest, key, workdir / "side.jsonl", args.events_alongside, args.open_duration)
    # The machine is sampled beside the pages (about 2% of a core): a slow second then shows
    # whether the hypervisor took the cores (steal) or which process burst. The workers' CPU per
    # page here compares with the closed loop's: pages arriving one by one cost more.
    cpu_before = server.workers_cpu_s()
    opened = OpenLoop(
        server,
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
    pages = {
        "variants_served": served,
        "probe": probe.summary(),
        "closed_loop": closed,
        "closed_loop_rounds": rounds,
        "open_loop_12slot": opened,
    }
    if args.pages_only:
        return pages | {"events": None, "posterior_lag": None}
    say(
        f"events alone: batches of {args.events_batch}, {args.concurrency} connections, "
        f"{args.events_duration:.0f} s"
    )
    events = h.Endpoint("events", "POST", "/api/v1/events", workdir / "events.jsonl", events=True)
    events_tool = h.WrkLoad(ingest.base, key, args.wrk_threads)
    events_tool.run(events, args.concurrency, 3)
    ev = h.timed_run(events_tool, ingest, events, args.concurrency, args.events_duration)
    events_per_s = ev.accepted / ev.duration_s
    say(f"raw COPY of {ev.accepted} stored rows, {args.events_batch} per COPY")
    copy = copy_baseline(env, ev.accepted, args.events_batch)
    lag = lag_run(env, ingest, key, workdir / "events.jsonl", args)
    return pages | {
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


def _ingest_words(report: dict) -> str:
    n = report.get("ingest_workers")
    return f" (events on their own server, {n} workers)" if n else ""


def report_print(report: dict) -> None:
    c = report["closed_loop"]
    print(
        f"\nPeak bench, {report['items']} items, gunicorn {report['workers']} sync workers"
        f"{_ingest_words(report)}, "
        f"{report['concurrency']} connections, load average {report['loadavg'][0]} -> "
        f"{report['loadavg_at_end'][0]}"
    )
    print(f"variants served (50 pages): {report['variants_served']}")
    print(
        f"{'endpoint':15s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'x healthz':>10s} {'x floor':>8s} "
        f"{'cpu ms':>8s} "
        f"{'errors':>6s} {'events alongside':>16s}"
    )
    for name, row in c.items():
        print(
            f"{name:15s} {row['rps']:8.1f} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f} "
            f"{row['x_healthz']:10.4f} {row.get('x_floor') or float('nan'):8.4f} "
            f"{row['cpu_ms_per_request']:8.3f} {row['errors']:6d} {row['alongside_events_accepted']:16d}"
        )
    o = report["open_loop_12slot"]
    print(
        f"open loop 12-slot at {o['offered_rate']:.0f}/s: answered {o['answered']} of {o['sent']}, "
        f"p50 {o['p50_ms']:.2f} ms, p99 {o['p99_ms']:.2f} ms, errors {o['errors']}, "
        f"worker cpu {o.get('cpu_ms_per_request', float('nan')):.3f} ms per page"
    )
    print(
        f"  client send lag p99 {o['send_lag_p99_ms']:.2f} ms, max {o['send_lag_max_ms']:.1f} ms; "
        f"slowest seconds {o['worst_seconds']}"
    )
    e = report["events"]
    if e is None:
        return
    print(
        f"events: {e['accepted_per_s']:.0f}/s accepted, {e['cpu_us_per_event']} us worker CPU each; raw COPY "
        f"{e['copy']['rows_per_s']:.0f} rows/s; ratio {e['x_copy']:.3f}"
    )
    lag = report["posterior_lag"]
    print(
        f"posterior lag at {lag['offered_events_per_s']:.0f} events/s offered: p50 {lag['lag_p50_s']} s, "
        f"p99 {lag['lag_p99_s']} s, max {lag['lag_max_s']} s ({lag['applied']} applied, "
        f"{lag['unapplied_at_deadline']} left)"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    h.signal.signal(h.signal.SIGTERM, h._interrupted)
    env = h.bench_env(args)
    env["CELERY_QUEUE"] = "bench-peak"
    Path(env["VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    started_at, loadavg = datetime.now(UTC), [round(x, 2) for x in h.os.getloadavg()]
    try:
        key, items, seed_s = seed(env, args)
        server = h.Server(
            env, args.workers, args.port or h.free_port(), Path(env["VAR_DIR"]) / "gunicorn-peak.log"
        )
        ingest = server
        if args.ingest_workers:
            log = Path(env["VAR_DIR"]) / "gunicorn-peak-ingest.log"
            ingest = h.Server(env, args.ingest_workers, h.free_port(), log)
        workdir = Path(tempfile.mkdtemp(prefix="bench-peak-", dir=env["VAR_DIR"]))
        try:
            server.start()
            if ingest is not server:
                ingest.start()
            results = phases(env, server, ingest, key, items, workdir, args)
        finally:
            server.stop()
            ingest.stop()
            h.broker_queue_drop(env)
            h.shutil.rmtree(workdir, ignore_errors=True)
    except h.BenchError as exc:
        print(f"bench_peak: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench_peak: interrupted; gunicorn stopped", file=sys.stderr)
        return 130
    report = {
        "bench": "peak",
        "started_at": started_at.isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python", "bench/bench_peak.py", *sys.argv[1:]]),
        "machine": h.machine_info(),
        "loadavg": loadavg,
        "loadavg_at_end": [round(x, 2) for x in h.os.getloadavg()],
        "items": len(items),
        "seed_s": round(seed_s, 1),
        "workers": args.workers,
        "ingest_workers": args.ingest_workers,
        "concurrency": args.concurrency,
        "args": vars(args),
    } | results
    h.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = h.RESULTS_DIR / f"peak-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    report_print(report)
    print(f"wrote {out.relative_to(h.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
