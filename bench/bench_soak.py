"""Soak: the whole stack at a fixed rate for an hour, memory and p99 sampled every minute.

    .venv/bin/python -m bench.bench_soak --skip-seed --minutes 60 [--pages 100] [--events 1300]

Reuses what ``bench.bench_http`` or ``bench.bench_peak`` seeded (``--skip-seed``; or
``--items N`` to seed). Starts gunicorn (``gunicorn.conf.py``'s sync workers: cores + 1), a
Celery worker (``-c 1``) and beat, then offers, open loop (``bench.harness.open_loop``: latency
from each request's due time), 12-slot pages at ``--pages`` per second and events at ``--events``
per second (batches of 100: one view and 12 impressions per page is about 13 events a page).
With ``--ingest-workers N`` the events go to a second gunicorn of N workers, as the ``Procfile``'s
``ingest`` process does in production; by default pages and events share one server.
Every minute it records:

- page p50/p99/max and errors, events accepted and errors, in that minute;
- resident memory (RSS, MB) of each gunicorn worker, the Celery worker and beat;
- the ledger's unapplied events (the posterior backlog) and the serving version.

Writes ``bench/results/soak-<stamp>.json``, ``.html`` (plotly) and ``.png`` (the HTML rendered
by Playwright in Chromium, when both are installed). Ctrl-C stops early and still reports.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import BenchError, say
from bench.harness.database import (
    bench_env,
    broker_queue_drop,
    database_setup,
    database_url_argument,
    ledger_state,
    process_env,
)
from bench.harness.open_loop import run as open_loop_run
from bench.harness.report import RESULTS_DIR, chart_write, machine_info, results_write, stamp
from bench.harness.server import (
    Server,
    celery_start,
    celery_worker_start,
    children,
    ingest_workers_argument,
    rss_mb,
    sigterm_unwinds,
    stop,
    workers_argument,
)
from bench.harness.traffic import (
    PAGES_FOR_EVENTS,
    Page,
    event_templates,
    page_bodies,
    probe_assignments,
    sessions_prime,
)

EVENTS_BATCH = 100
QUEUE = "bench-soak"


def log(message: str) -> None:
    say("bench_soak", message)


async def minute(
    port: int, ingest_port: int, key: str, pages: list[bytes], events: list[bytes], args
) -> tuple[dict, dict]:
    """One minute of pages and events side by side, each on its own open-loop schedule."""
    page_load = open_loop_run(
        port=port,
        path="/api/v1/assignments",
        bodies=pages,
        key=key,
        rate=args.pages,
        duration=60,
        events=False,
    )
    event_load = open_loop_run(
        port=ingest_port,
        path="/api/v1/events",
        bodies=events,
        key=key,
        rate=args.events / EVENTS_BATCH,
        duration=60,
        events=True,
    )
    return tuple(await asyncio.gather(page_load, event_load))


def sample(n: int, servers: dict[str, Server], procs: dict[str, subprocess.Popen], env, page, ev) -> dict:
    memory = {
        f"{name}_{i}": rss_mb(pid)
        for name, server in servers.items()
        for i, pid in enumerate(server.worker_pids())
    }
    for name, proc in procs.items():
        pids = [proc.pid, *children(proc.pid)]
        memory[name] = round(sum(m for m in (rss_mb(p) for p in pids) if m), 1)
    backlog, version = ledger_state(env)
    row = {
        "minute": n,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "pages_answered": page["answered"],
        "pages_p50_ms": page["p50_ms"],
        "pages_p99_ms": page["p99_ms"],
        "pages_max_ms": page["max_ms"],
        "pages_errors": page["errors"],
        "events_accepted": ev["accepted"],
        "events_errors": ev["errors"],
        "rss_mb": memory,
        "unapplied_events": backlog,
        "serving_version": version,
        "loadavg": round(os.getloadavg()[0], 2),
    }
    log(
        f"minute {n}: p99 {row['pages_p99_ms']:.1f} ms, {page['answered']} pages, {ev['accepted']} events, "
        f"backlog {backlog}, version {version}, RSS {memory}"
    )
    return row


def figure(rows: list[dict], title: str):
    """Two panels: page p50/p99 per minute; RSS per process per minute."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    minutes = [r["minute"] for r in rows]
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, subplot_titles=("12-slot page latency", "resident memory")
    )
    for key, name in (("pages_p50_ms", "p50"), ("pages_p99_ms", "p99")):
        fig.add_trace(go.Scatter(x=minutes, y=[r[key] for r in rows], name=f"{name} ms"), row=1, col=1)
    for proc in rows[0]["rss_mb"]:
        fig.add_trace(
            go.Scatter(x=minutes, y=[r["rss_mb"].get(proc) for r in rows], name=f"{proc} MB"), row=2, col=1
        )
    fig.update_yaxes(title_text="ms", row=1, col=1)
    fig.update_yaxes(title_text="MB", row=2, col=1)
    fig.update_xaxes(title_text="minute", row=2, col=1)
    fig.update_layout(title=title, width=1000, height=700)
    return fig


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--pages", type=float, default=100.0, help="12-slot pages per second")
    parser.add_argument("--events", type=float, default=1300.0, help="events per second")
    parser.add_argument("--sessions", type=int, default=3000, help="shoppers with signals")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--skip-seed", action="store_true")
    workers_argument(parser)
    ingest_workers_argument(parser)
    database_url_argument(parser)
    args = parser.parse_args(argv)
    return args


def soak(env: dict[str, str], args: argparse.Namespace, workdir: Path) -> tuple[list[dict], int]:
    key, items, _ = database_setup(env, items=args.items, skip_seed=args.skip_seed, key_name="bench-soak")
    var_dir = Path(env["VAR_DIR"])
    server = Server(env, args.workers, var_dir / "gunicorn-soak.log")
    servers = {"web": server}
    if args.ingest_workers:
        servers["ingest"] = Server(env, args.ingest_workers, var_dir / "gunicorn-soak-ingest.log")
    ingest = servers.get("ingest", server)
    procs: dict[str, subprocess.Popen] = {}
    rows: list[dict] = []
    try:
        for each in servers.values():
            each.start()
        procs["celery_worker"] = celery_worker_start(env, 1, quiet=True)
        procs["celery_beat"] = celery_start(env, "beat", "-s", str(workdir / "beat-schedule"), quiet=True)
        rng = random.Random(11)
        log(f"priming {args.sessions} shoppers")
        sessions = sessions_prime(server.base, key, items, args.sessions, rng)
        pages = page_bodies(sessions, items, rng, slots=None)
        probe_pages: list[Page] = []
        probe_assignments(server.base, key, pages, PAGES_FOR_EVENTS, probe_pages)
        events = event_templates(probe_pages, EVENTS_BATCH, rng)
        log(f"soak: {args.pages:.0f} pages/s and {args.events:.0f} events/s for {args.minutes} minutes")
        for n in range(1, args.minutes + 1):
            page, ev = asyncio.run(minute(server.port, ingest.port, key, pages, events, args))
            rows.append(sample(n, servers, procs, env, page, ev))
    except KeyboardInterrupt:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # e.g. timeout(1) forwarding a second one
        log("interrupted: reporting the minutes so far")
    finally:
        for proc in procs.values():
            stop(proc)
        for each in servers.values():
            each.stop()
        broker_queue_drop(env)
    return rows, len(items)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sigterm_unwinds()
    env = process_env(bench_env(queue=QUEUE, database_url=args.database_url))
    Path(env["VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    workdir = Path(tempfile.mkdtemp(prefix="bench-soak-", dir=env["VAR_DIR"]))
    try:
        rows, n_items = soak(env, args, workdir)
    except BenchError as exc:
        print(f"bench_soak: {exc}", file=sys.stderr)
        return 1
    if not rows:
        return 1
    report = {
        "bench": "soak",
        "started_at": started.isoformat(timespec="seconds"),
        "items": n_items,
        "machine": machine_info(),
        "args": vars(args),
        "minutes": rows,
    }
    out = results_write("soak", report, at=started)
    title = (
        f"Soak {started:%Y-%m-%d %H:%M} UTC: {n_items:,} items, {args.pages:.0f} pages/s + "
        f"{args.events:.0f} events/s, {args.workers} sync workers"
        + (f" + {args.ingest_workers} for events" if args.ingest_workers else "")
    )
    png = chart_write(figure(rows, title), RESULTS_DIR / f"soak-{stamp(started)}.html")
    p99 = [r["pages_p99_ms"] for r in rows if r["pages_p99_ms"] is not None]
    print(
        f"minutes {len(rows)}; per-minute p99 median {statistics.median(p99):.1f} ms, worst {max(p99):.1f} ms"
    )
    first, last = rows[0]["rss_mb"], rows[-1]["rss_mb"]
    print("RSS MB first -> last minute: " + ", ".join(f"{k} {first[k]} -> {last.get(k)}" for k in first))
    print(f"wrote {out} and .html" + (f" and {png}" if png else " (no PNG: Playwright or Chromium missing)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
