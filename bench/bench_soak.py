"""Soak: the whole stack at a fixed rate for an hour, memory and p99 sampled every minute.

    .venv/bin/python bench/bench_soak.py --skip-seed --minutes 60 [--pages 100] [--events 1300]

Reuses what ``bench/bench_http.py`` or ``bench/bench_peak.py`` seeded (``--skip-seed``; or
``--items N`` to seed). Starts gunicorn (``gunicorn.conf.py``'s sync workers: cores + 1), a
Celery worker (``-c 1``) and beat, then offers, open loop (``bench/open_loop.py``: latency from
each request's due time), 12-slot pages at ``--pages`` per second and events at ``--events``
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
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_http as h  # noqa: E402
import open_loop  # noqa: E402
from bench_peak import ALONGSIDE_BATCH, _connect, page_bodies, sessions_prime  # noqa: E402


def say(message: str) -> None:
    print(f"[bench_soak {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    )
    return [int(p) for p in out.stdout.split()]


def celery(env: dict[str, str], *argv: str) -> subprocess.Popen:
    return subprocess.Popen(
        [h.PYTHON, "-m", "celery", "-A", "controlplane", *argv, "--loglevel", "WARNING"],
        cwd=h.ROOT,
        env=env | {"OPENBLAS_NUM_THREADS": "1"},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def ledger_state(env: dict[str, str]) -> tuple[int, int]:
    with _connect(env) as conn:
        backlog = conn.execute("SELECT count(*) FROM experiments_event WHERE applied_at IS NULL").fetchone()[
            0
        ]
        version = conn.execute("SELECT serving_version FROM experiments_programsettings").fetchone()
    return int(backlog), int(version[0]) if version else 0


async def minute(
    port: int, ingest_port: int, key: str, pages: list[bytes], events: list[bytes], args
) -> tuple[dict, dict]:
    page_load = open_loop.run(
        port=port,
        path="/api/v1/assignments",
        bodies=pages,
        key=key,
        rate=args.pages,
        duration=60,
        events=False,
    )
    event_load = open_loop.run(
        port=ingest_port,
        path="/api/v1/events",
        bodies=events,
        key=key,
        rate=args.events / ALONGSIDE_BATCH,
        duration=60,
        events=True,
    )
    return tuple(await asyncio.gather(page_load, event_load))


def sample(n: int, servers: dict[str, h.Server], procs: dict[str, subprocess.Popen], env, page, ev) -> dict:
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
    say(
        f"minute {n}: p99 {row['pages_p99_ms']:.1f} ms, {page['answered']} pages, {ev['accepted']} events, "
        f"backlog {backlog}, version {version}, RSS {memory}"
    )
    return row


def plot(rows: list[dict], title: str, html: Path) -> Path | None:
    """Two panels: page p50/p99 per minute; RSS per process per minute. HTML, and PNG if possible."""
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
    fig.write_html(html, include_plotlyjs=True)
    png = html.with_suffix(".png")
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1020, "height": 720})
            page.goto(html.resolve().as_uri())
            page.wait_for_timeout(1500)
            page.screenshot(path=str(png))
            browser.close()
        return png
    except Exception as exc:  # no Chromium here: the HTML is the chart
        say(f"PNG not rendered ({exc}); open {html}")
        return None


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--pages", type=float, default=100.0, help="12-slot pages per second")
    parser.add_argument("--events", type=float, default=1300.0, help="events per second")
    parser.add_argument("--sessions", type=int, default=3000, help="shoppers with signals")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--skip-seed", action="store_true")
    parser.add_argument(
        "--workers", type=int, default=h.web_workers(), help="gunicorn workers (default: as gunicorn.conf.py)"
    )
    h.ingest_workers_argument(parser)
    parser.add_argument("--database-url", default=h.DEFAULT_ENV["DATABASE_URL"])
    return parser.parse_args()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def soak(env: dict[str, str], args: argparse.Namespace, workdir: Path) -> tuple[list[dict], int]:
    key, items, _ = h.setup_database(env, args)
    server = h.Server(env, args.workers, h.free_port(), Path(env["VAR_DIR"]) / "gunicorn-soak.log")
    servers = {"web": server}
    if args.ingest_workers:
        log = Path(env["VAR_DIR"]) / "gunicorn-soak-ingest.log"
        servers["ingest"] = h.Server(env, args.ingest_workers, h.free_port(), log)
    ingest = servers.get("ingest", server)
    procs: dict[str, subprocess.Popen] = {}
    rows: list[dict] = []
    try:
        for each in servers.values():
            each.start()
        procs["celery_worker"] = celery(
            env, "worker", "-Q", env["CELERY_QUEUE"], "-c", "1", "--without-gossip"
        )
        procs["celery_beat"] = celery(env, "beat", "-s", str(workdir / "beat-schedule"))
        rng = random.Random(11)
        say(f"priming {args.sessions} shoppers")
        sessions = sessions_prime(server, key, items, args.sessions, rng)
        pages = page_bodies(sessions, items, rng, slots=None)
        probe_pages: list[h.Page] = []
        h.probe_assignments(server.base, key, pages, h.PAGES_FOR_EVENTS, probe_pages)
        events = h.event_templates(probe_pages, ALONGSIDE_BATCH, rng)
        say(f"soak: {args.pages:.0f} pages/s and {args.events:.0f} events/s for {args.minutes} minutes")
        for n in range(1, args.minutes + 1):
            page, ev = asyncio.run(minute(server.port, ingest.port, key, pages, events, args))
            rows.append(sample(n, servers, procs, env, page, ev))
    except KeyboardInterrupt:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # e.g. timeout(1) forwarding a second one
        say("interrupted: reporting the minutes so far")
    finally:
        for proc in procs.values():
            _stop(proc)
        for each in servers.values():
            each.stop()
        h.broker_queue_drop(env)
    return rows, len(items)


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, h._interrupted)
    env = h.bench_env(args) | {"CELERY_QUEUE": "bench-soak"}
    Path(env["VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    workdir = Path(tempfile.mkdtemp(prefix="bench-soak-", dir=env["VAR_DIR"]))
    try:
        rows, n_items = soak(env, args, workdir)
    except h.BenchError as exc:
        print(f"bench_soak: {exc}", file=sys.stderr)
        return 1
    if not rows:
        return 1
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    h.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    base = h.RESULTS_DIR / f"soak-{stamp}"
    report = {
        "bench": "soak",
        "started_at": started.isoformat(timespec="seconds"),
        "items": n_items,
        "machine": h.machine_info(),
        "args": vars(args),
        "minutes": rows,
    }
    base.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    title = (
        f"Soak {started:%Y-%m-%d %H:%M} UTC: {n_items} items, {args.pages:.0f} pages/s + "
        f"{args.events:.0f} events/s, {args.workers} sync workers"
        + (f" + {args.ingest_workers} for events" if args.ingest_workers else "")
    )
    png = plot(rows, title, base.with_suffix(".html"))
    p99 = sorted(r["pages_p99_ms"] for r in rows if r["pages_p99_ms"] is not None)
    print(f"minutes {len(rows)}; per-minute p99 median {p99[len(p99) // 2]:.1f} ms, worst {p99[-1]:.1f} ms")
    first, last = rows[0]["rss_mb"], rows[-1]["rss_mb"]
    print("RSS MB first -> last minute: " + ", ".join(f"{k} {first[k]} -> {last.get(k)}" for k in first))
    print(f"wrote {base.with_suffix('.json')} and .html" + (f" and {png}" if png else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
