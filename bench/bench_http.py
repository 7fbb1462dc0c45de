"""HTTP load benchmark: the app under gunicorn against PostgreSQL and Redis, in one run.

Run (2-core machine, PostgreSQL on 127.0.0.1:5432 with trust auth, Redis on 127.0.0.1:6379):

    .venv/bin/python bench/bench_http.py [--items 20000] [--skip-seed] [--workers N]
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

Setup done here: a dedicated database ``controlplane_bench`` (created if missing), Redis db 2
(cache, session store) and 3 (broker, on its own queue, emptied at the end), ``VAR_DIR``
``var/bench`` (models and the demo world), ``migrate``, ``seed_demo --items N`` (unless
``--skip-seed``), a fresh storefront key, bench events of earlier runs deleted, gunicorn with
sync workers on 127.0.0.1, a check that every slot is served by its model (no fallback), a
warm-up of each endpoint, then the measurements. Everything started is stopped at the end.

The load generator is wrk (``bench/wrk/bench_http.lua``) when installed, else an asyncio
client in this file. Latency is from writing the request to reading the whole answer (wrk's
definition; the TCP connect is not included, but time queued in the listen backlog is:
gunicorn's sync workers close every connection). Results: a table on stdout and JSON in
``bench/results/http-<UTC timestamp>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import runpy
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable


def web_workers() -> int:
    """The gunicorn worker count a deployment of this machine runs (``gunicorn.conf.py``)."""
    return int(runpy.run_path(str(ROOT / "gunicorn.conf.py"))["workers"])


def ingest_workers_argument(parser: argparse.ArgumentParser) -> None:
    """``--ingest-workers N``: events go to a second gunicorn, as the Procfile's ingest process."""
    parser.add_argument(
        "--ingest-workers",
        type=int,
        default=0,
        help="events go to a second gunicorn with this many workers, as the Procfile's ingest process"
        " (default 0: pages and events share one server)",
    )


LUA_SCRIPT = ROOT / "bench" / "wrk" / "bench_http.lua"
RESULTS_DIR = ROOT / "bench" / "results"
HOST = "127.0.0.1"
CELERY_QUEUE = "bench-http"
TARGET_P99_MS = 50.0
PRODUCT_SLOTS = 12
BODIES_PER_ENDPOINT = 5_000
EVENT_TEMPLATES = 16
PAGES_FOR_EVENTS = 60

DEFAULT_ENV = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/controlplane_bench",
    "REDIS_URL": "redis://127.0.0.1:6379/2",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/3",
    # BENCH_VAR_DIR keeps a second seeded catalog (e.g. 1M items) beside the default one.
    "VAR_DIR": os.environ.get("BENCH_VAR_DIR", str(ROOT / "var" / "bench")),
    "DJANGO_ENV": "development",
    "DJANGO_DEBUG": "0",
    "SERVING_REFRESH_S": "1",
    "CELERY_QUEUE": CELERY_QUEUE,
    "LOG_LEVEL": "WARNING",
}


class BenchError(RuntimeError):
    pass


def say(message: str) -> None:
    print(f"[bench_http {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Setup: services, database, seed, key, catalog ids
# ---------------------------------------------------------------------------------------------


def bench_env(args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DEFAULT_ENV)
    env["DATABASE_URL"] = args.database_url
    env["PYTHONUNBUFFERED"] = "1"
    return env


def manage(env: dict[str, str], *argv: str, timeout: float = 600.0) -> str:
    """Run ``manage.py ARGV`` and return its stdout; raise with its stderr on failure."""
    proc = subprocess.run(
        [PYTHON, "manage.py", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise BenchError(f"manage.py {' '.join(argv)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return proc.stdout


SHELL_PREPARE = """
import sys
from experiments.models import Event, Item
Event.objects.filter(event_id__startswith="bench-").delete()
for item_id in Item.objects.order_by("item_id").values_list("item_id", flat=True).iterator():
    sys.stdout.write("ITEM " + item_id + "\\n")
"""


def setup_database(env: dict[str, str], args: argparse.Namespace) -> tuple[str, list[str], float]:
    """Migrate, seed (unless skipped), create a key; return (key, catalog item ids, seed seconds)."""
    ready = subprocess.run(
        [PYTHON, "bin/services_ready.py", env["DATABASE_URL"]], cwd=ROOT, env=env, check=False
    )
    if ready.returncode != 0:
        raise BenchError(
            "PostgreSQL (127.0.0.1:5432) or Redis (127.0.0.1:6379) not reachable: make services-up"
        )
    say("migrate")
    manage(env, "migrate", "--noinput", "-v0")
    world = Path(env["VAR_DIR"]) / "demo_world.json"
    seed_s = 0.0
    if args.skip_seed and world.exists():
        say(f"--skip-seed: reusing the seeded demo ({world})")
    else:
        if args.skip_seed:
            say("--skip-seed given but nothing seeded yet: seeding")
        say(f"seed_demo --items {args.items} (about 45 s at 20k items)")
        started = time.perf_counter()
        manage(env, "seed_demo", "--items", str(args.items))
        seed_s = time.perf_counter() - started
    key = manage(env, "create_storefront_key", f"bench-http-{int(time.time())}").strip().splitlines()[-1]
    out = manage(env, "shell", "-v0", "-c", SHELL_PREPARE)
    items = [line[5:] for line in out.splitlines() if line.startswith("ITEM ")]
    if not items:
        raise BenchError("the catalog is empty after seeding")
    return key, items, seed_s


# ---------------------------------------------------------------------------------------------
# gunicorn
# ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn in its own process group; ``stop`` always leaves nothing running."""

    def __init__(self, env: dict[str, str], workers: int, port: int, log_path: Path) -> None:
        self.env, self.workers, self.port, self.log_path = env, workers, port, log_path
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 90.0) -> None:
        cmd = [
            str(VENV_BIN / "gunicorn"),
            "controlplane.wsgi",
            "-w",
            str(self.workers),
            "-b",
            f"{HOST}:{self.port}",
            "--backlog",
            "2048",
            "--timeout",
            "60",
            "--log-file",
            str(self.log_path),
            "--no-control-socket",  # gunicorn's default one is shared by every gunicorn on the machine
        ]
        say(f"gunicorn: {' '.join(cmd[1:])}")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"gunicorn exited with {self.proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)
        raise BenchError(f"gunicorn did not answer /healthz within {timeout:.0f} s; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        if self.proc is None:
            return []
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True, check=False
        )
        return [int(p) for p in out.stdout.split()]

    def workers_cpu_s(self) -> float:
        """User + system CPU seconds of the workers so far: what a request costs, whatever the
        neighbours on the machine do (wall-clock figures move with them; this barely does)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.worker_pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        return total / ticks

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # graceful: the arbiter stops its workers
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        for pid in self.worker_pids():  # orphans, should there be any
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


# ---------------------------------------------------------------------------------------------
# Request bodies
# ---------------------------------------------------------------------------------------------


def assignment_bodies(items: list[str], rng: random.Random, run: str, *, one_slot: bool) -> list[bytes]:
    """Distinct new sessions on random catalog products, as a storefront's product pages."""
    bodies = []
    for n in range(BODIES_PER_ENDPOINT):
        body: dict = {"session_id": f"bench-s-{run}-{n}", "context": {"product_id": rng.choice(items)}}
        if one_slot:
            body["slots"] = ["pdp_similar"]
        bodies.append(json.dumps(body, separators=(",", ":")).encode())
    return bodies


def http_post(base: str, path: str, key: str, body: dict, timeout: float = 30.0) -> tuple[int, dict]:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Api-Key {key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@dataclass
class Page:
    session_id: str
    product_id: str
    decision_ids: list[str]


@dataclass
class Probe:
    """Sequential (unloaded) requests: client round trip and the server's own served_in_ms."""

    requests: int = 0
    client_ms: list[float] = field(default_factory=list)
    served_ms: list[float] = field(default_factory=list)
    decisions: int = 0
    fallbacks: int = 0
    slot_errors: int = 0

    def summary(self) -> dict:
        def pct(values: list[float], q: float) -> float | None:
            return round(percentile(values, q), 2) if values else None

        return {
            "requests": self.requests,
            "client_p50_ms": pct(self.client_ms, 50),
            "client_p99_ms": pct(self.client_ms, 99),
            "served_in_ms_p50": pct(self.served_ms, 50),
            "served_in_ms_p99": pct(self.served_ms, 99),
            "decisions": self.decisions,
            "fallbacks": self.fallbacks,
            "slot_errors": self.slot_errors,
        }


def probe_assignments(base: str, key: str, bodies: list[bytes], n: int, pages: list[Page] | None) -> Probe:
    """``n`` sequential assignment requests; checks every slot was served by its model."""
    probe = Probe()
    for raw in bodies[:n]:
        body = json.loads(raw)
        started = time.perf_counter()
        status, answer = http_post(base, "/api/v1/assignments", key, body)
        probe.client_ms.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise BenchError(f"assignments answered {status}: {answer}")
        probe.requests += 1
        probe.served_ms.append(float(answer.get("served_in_ms", 0.0)))
        good = [d for d in answer["decisions"] if "error" not in d]
        probe.slot_errors += len(answer["decisions"]) - len(good)
        probe.decisions += len(good)
        probe.fallbacks += sum(1 for d in good if d["fallback"])
        if pages is not None:
            pages.append(
                Page(body["session_id"], body["context"]["product_id"], [d["decision_id"] for d in good])
            )
    return probe


def event_templates(pages: list[Page], batch: int, rng: random.Random) -> list[bytes]:
    """Batches of ``batch`` events: per page one view and one impression per decision.

    Every event_id holds the placeholder ``@RUN@``, replaced per request by a unique tag, so
    each batch is new to the ledger (the idempotency check still runs: it is a unique index).
    """
    ts = datetime.now(UTC).isoformat()
    templates = []
    for t in range(EVENT_TEMPLATES):
        events: list[dict] = []
        order = rng.sample(range(len(pages)), len(pages))
        while len(events) < batch:
            for p in order:
                page = pages[p]
                view = {"type": "view", "item_id": page.product_id, "dwell_ms": rng.randint(500, 90_000)}
                for fields in [view] + [{"type": "impression", "decision_id": d} for d in page.decision_ids]:
                    events.append(
                        {
                            "event_id": f"bench-@RUN@-{t}-{len(events)}",
                            "ts": ts,
                            "session_id": page.session_id,
                        }
                        | fields
                    )
                if len(events) >= batch:
                    break
        templates.append(json.dumps({"events": events[:batch]}, separators=(",", ":")).encode())
    largest = max(len(t) for t in templates)
    if largest > 1_000_000:
        raise BenchError(f"an events batch of {batch} is {largest} bytes, over the 1 MB limit")
    return templates


# ---------------------------------------------------------------------------------------------
# Load generators
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    bodies_file: Path | None = None  # one body per line
    events: bool = False


@dataclass
class LoadResult:
    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    errors: int
    error_detail: dict
    accepted: int = 0
    worker_cpu_s: float = 0.0  # CPU the gunicorn workers used meanwhile (user + system)

    @property
    def cpu_ms_per_request(self) -> float:
        return self.worker_cpu_s * 1000 / self.requests if self.requests else float("nan")

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


class WrkLoad:
    name = "wrk"

    def __init__(self, base: str, key: str, threads: int) -> None:
        self.base, self.key, self.threads = base, key, threads
        self.version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False).stdout
        self.version = " ".join((self.version.split() or ["wrk"])[:2])

    def run(self, endpoint: Endpoint, concurrency: int, duration: float) -> LoadResult:
        threads = max(1, min(self.threads, concurrency))
        cmd = [
            "wrk",
            f"-t{threads}",
            f"-c{concurrency}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "30s",
            "-s",
            str(LUA_SCRIPT),
            self.base + endpoint.path,
            "--",
        ]
        if endpoint.bodies_file is None:
            cmd.append("static")
        elif endpoint.events:
            cmd += ["events", str(endpoint.bodies_file), self.key, uuid.uuid4().hex[:8]]
        else:
            cmd += ["bodies", str(endpoint.bodies_file), self.key]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120, check=False)
        match = re.search(r"^BENCH_JSON (\{.*\})$", proc.stdout, re.MULTILINE)
        if proc.returncode != 0 or match is None:
            raise BenchError(f"wrk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        raw = json.loads(match.group(1))
        errors = {k[len("errors_") :]: v for k, v in raw.items() if k.startswith("errors_") and v}
        # Connection-level counters include sockets open at the deadline; status/timeouts are failures.
        return LoadResult(
            requests=raw["requests"],
            duration_s=raw["duration_us"] / 1e6,
            p50_ms=raw["p50_us"] / 1000,
            p90_ms=raw["p90_us"] / 1000,
            p99_ms=raw["p99_us"] / 1000,
            max_ms=raw["max_us"] / 1000,
            mean_ms=raw["mean_us"] / 1000,
            errors=raw["errors_status"] + raw["errors_timeout"],
            error_detail=errors,
            accepted=raw["accepted"],
        )


class PythonLoad:
    """Closed-loop asyncio client: ``concurrency`` connections, raw HTTP/1.1, reconnects on close."""

    name = "python-asyncio"
    version = f"python {platform.python_version()}"

    def __init__(self, base: str, key: str) -> None:
        self.port = int(base.rsplit(":", 1)[1])
        self.key = key

    def _requests(self, endpoint: Endpoint):
        head = f"{endpoint.method} {endpoint.path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
        if endpoint.bodies_file is None:
            fixed = (head + "\r\n").encode()
            return lambda: fixed
        head += f"Authorization: Api-Key {self.key}\r\nContent-Type: application/json\r\n"
        bodies = [line for line in endpoint.bodies_file.read_bytes().splitlines() if line]
        state = {"n": random.randrange(len(bodies)), "run": uuid.uuid4().hex[:8]}

        def make() -> bytes:
            state["n"] += 1
            body = bodies[state["n"] % len(bodies)]
            if endpoint.events:
                body = body.replace(b"@RUN@", f"{state['run']}-{state['n']}".encode())
            return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body

        return make

    @staticmethod
    async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)}
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        else:
            body = await reader.read()
        return status, body, headers.get("connection", "").lower() == "close"

    async def _connection(self, make, deadline: float, stats: dict) -> None:
        while time.perf_counter() < deadline:
            try:
                reader, writer = await asyncio.open_connection(HOST, self.port)
            except OSError:
                stats["connect"] += 1
                await asyncio.sleep(0.01)
                continue
            try:
                closed = False
                while not closed and time.perf_counter() < deadline:
                    started = time.perf_counter()
                    writer.write(make())
                    status, body, closed = await self._response(reader)
                    finished = time.perf_counter()
                    if finished > deadline:
                        break
                    stats["latency"].append(finished - started)
                    if status >= 400:
                        stats["status"] += 1
                    elif b'"accepted"' in body:
                        stats["accepted"] += json.loads(body)["accepted"]
            except (OSError, asyncio.IncompleteReadError, ValueError):
                stats["read"] += 1
            finally:
                writer.close()

    async def _run(self, make, concurrency: int, duration: float) -> tuple[dict, float]:
        stats = {"latency": [], "status": 0, "connect": 0, "read": 0, "accepted": 0}
        started = time.perf_counter()
        deadline = started + duration
        tasks = [asyncio.create_task(self._connection(make, deadline, stats)) for _ in range(concurrency)]
        await asyncio.wait(tasks, timeout=duration + 30)
        for task in tasks:
            task.cancel()
        return stats, duration

    def run(self, endpoint: Endpoint, concurrency: int, duration: float) -> LoadResult:
        stats, elapsed = asyncio.run(self._run(self._requests(endpoint), concurrency, duration))
        ms = [s * 1000 for s in stats["latency"]]
        return LoadResult(
            requests=len(ms),
            duration_s=elapsed,
            p50_ms=percentile(ms, 50),
            p90_ms=percentile(ms, 90),
            p99_ms=percentile(ms, 99),
            max_ms=max(ms, default=float("nan")),
            mean_ms=statistics.fmean(ms) if ms else float("nan"),
            errors=stats["status"],
            error_detail={k: stats[k] for k in ("status", "connect", "read") if stats[k]},
            accepted=stats["accepted"],
        )


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def machine_info() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _ratio(num: float, den: float, digits: int) -> float | None:
    return round(num / den, digits) if den else None


def row_build(name: str, rounds: list[LoadResult], base_rounds: list[LoadResult]) -> dict:
    """One endpoint over its rounds: throughput pooled; percentiles and ratios as round medians.

    Round i of every endpoint ran back to back, so the ratio of round i is measured under the
    same machine noise; the median over rounds drops a round that a neighbour disturbed.
    """
    requests = sum(r.requests for r in rounds)
    duration = sum(r.duration_s for r in rounds)
    pairs = list(zip(rounds, base_rounds, strict=True))
    cpu_ms = sum(r.worker_cpu_s for r in rounds) * 1000 / requests
    base_cpu_ms = sum(b.worker_cpu_s for b in base_rounds) * 1000 / sum(b.requests for b in base_rounds)
    return {
        "endpoint": name,
        "requests": requests,
        "rps": round(requests / duration, 1),
        "p50_ms": round(statistics.median(r.p50_ms for r in rounds), 2),
        "p90_ms": round(statistics.median(r.p90_ms for r in rounds), 2),
        "p99_ms": round(statistics.median(r.p99_ms for r in rounds), 2),
        "p99_ms_worst_round": round(max(r.p99_ms for r in rounds), 2),
        "max_ms": round(max(r.max_ms for r in rounds), 2),
        "rps_vs_healthz": round(statistics.median(r.rps / b.rps for r, b in pairs), 4),
        "p50_vs_healthz": round(statistics.median(r.p50_ms / b.p50_ms for r, b in pairs), 2),
        "p99_vs_healthz": round(statistics.median(r.p99_ms / b.p99_ms for r, b in pairs), 2),
        "cpu_ms_per_request": round(cpu_ms, 3),
        "cpu_vs_healthz": _ratio(cpu_ms, base_cpu_ms, 2),
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
    base_cpu_ms = sum(b.worker_cpu_s for b in base_rounds) * 1000 / sum(b.requests for b in base_rounds)
    events_per_s = result.accepted / result.duration_s
    return {
        "endpoint": "events",
        "requests": result.requests,
        "rps": round(result.rps, 2),
        "p50_ms": round(result.p50_ms, 2),
        "p90_ms": round(result.p90_ms, 2),
        "p99_ms": round(result.p99_ms, 2),
        "max_ms": round(result.max_ms, 2),
        "rps_vs_healthz": _ratio(result.rps, healthz_rps, 4),
        "p50_vs_healthz": None,
        "p99_vs_healthz": None,
        "cpu_ms_per_request": round(result.cpu_ms_per_request, 3),
        "cpu_vs_healthz": _ratio(result.cpu_ms_per_request, base_cpu_ms, 2),
        "worker_cpu_us_per_event": round(result.worker_cpu_s * 1e6 / result.accepted, 1)
        if result.accepted
        else None,
        "errors": result.errors,
        "error_detail": [result.error_detail] if result.error_detail else [],
        "batch": batch,
        "accepted": result.accepted,
        "rejected_or_duplicate": result.requests * batch - result.accepted,
        "events_per_s": round(events_per_s, 1),
        "events_per_s_vs_healthz_rps": _ratio(events_per_s, healthz_rps, 3),
    }


def table_print(rows: list[dict]) -> None:
    """req/s and latencies are wall clock (move with the neighbours); "x healthz" is the median of
    per-round throughput ratios; "cpu ms/req" is gunicorn worker CPU per request."""
    header = (
        f"{'endpoint':<15}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'x healthz':>11}{'p99/hz':>8}"
        f"{'cpu ms/req':>12}{'cpu/hz':>8}{'errors':>8}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        p99_ratio = "" if row["p99_vs_healthz"] is None else f"{row['p99_vs_healthz']:.1f}"
        print(
            f"{row['endpoint']:<15}{row['rps']:>9.1f}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}"
            f"{row['rps_vs_healthz']:>11.4f}{p99_ratio:>8}{row['cpu_ms_per_request']:>12.3f}"
            f"{row['cpu_vs_healthz']:>8.1f}{row['errors']:>8}"
        )
        if "events_per_s" in row:
            print(
                f"{'':<15}{row['events_per_s']:>9.0f} events/s accepted (batches of {row['batch']}), "
                f"{row['events_per_s_vs_healthz_rps']:.2f} x healthz req/s, "
                f"{row['worker_cpu_us_per_event']} us worker CPU per event"
            )


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=20_000, help="demo catalog size (default 20000)")
    parser.add_argument("--skip-seed", action="store_true", help="reuse the demo seeded by an earlier run")
    parser.add_argument(
        "--workers", type=int, default=web_workers(), help="gunicorn workers (default: as gunicorn.conf.py)"
    )
    parser.add_argument("--port", type=int, default=0, help="gunicorn port (default: a free one)")
    parser.add_argument("--concurrency", type=int, default=16, help="open connections (default 16)")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per endpoint (default 15)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds the duration is split into (default 3)"
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per endpoint (default 3)")
    parser.add_argument("--events-batch", type=int, default=500, help="events per batch (default 500)")
    parser.add_argument(
        "--events-concurrency", type=int, default=None, help="connections for events (default --concurrency)"
    )
    parser.add_argument(
        "--probe", type=int, default=50, help="sequential probe requests per form (default 50)"
    )
    parser.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--wrk-threads", type=int, default=1, help="wrk threads (default 1: 2 cores are shared)"
    )
    parser.add_argument("--database-url", default=DEFAULT_ENV["DATABASE_URL"])
    parser.add_argument("--json", action="store_true", help="print the JSON result instead of the table")
    args = parser.parse_args(argv)
    if args.tool == "wrk" and shutil.which("wrk") is None:
        parser.error("--tool wrk but wrk is not installed (apt-get install -y wrk)")
    if not 1 <= args.events_batch <= 1000:
        parser.error("--events-batch must be within 1..1000")
    return args


def load_tool(args: argparse.Namespace, server: Server, key: str) -> WrkLoad | PythonLoad:
    if args.tool == "wrk" or (args.tool == "auto" and shutil.which("wrk")):
        return WrkLoad(server.base, key, args.wrk_threads)
    return PythonLoad(server.base, key)


def endpoints_prepare(
    workdir: Path, server: Server, tool, key: str, items: list[str], args: argparse.Namespace
) -> tuple[list[Endpoint], dict]:
    """Write the request bodies, check serving with sequential probes, build the events batches.

    Every worker loads the catalog and models on its first request: a short 12-slot load
    first, so the sequential probe sees warm workers.
    """
    rng = random.Random(20261123)
    run = uuid.uuid4().hex[:6]
    one = assignment_bodies(items, rng, run, one_slot=True)
    twelve = assignment_bodies(items, rng, run, one_slot=False)
    (workdir / "assign1.jsonl").write_bytes(b"\n".join(one) + b"\n")
    (workdir / "assign12.jsonl").write_bytes(b"\n".join(twelve) + b"\n")
    assign12 = Endpoint("assign_12slot", "POST", "/api/v1/assignments", workdir / "assign12.jsonl")
    tool.run(assign12, 2 * args.workers, 2.0)

    say(f"probe: {args.probe} sequential requests per assignment form; decisions for the events batches")
    probes = {
        "assign_1slot": probe_assignments(server.base, key, one, args.probe, None),
        "assign_12slot": probe_assignments(server.base, key, twelve, args.probe, None),
    }
    pages: list[Page] = []
    ev_rng = random.Random(7)
    page_bodies = [
        json.dumps(
            {"session_id": f"bench-ev-{run}-{n}", "context": {"product_id": ev_rng.choice(items)}}
        ).encode()
        for n in range(PAGES_FOR_EVENTS)
    ]
    probes["events_pages"] = probe_assignments(server.base, key, page_bodies, PAGES_FOR_EVENTS, pages)
    twelve_probe = probes["assign_12slot"]
    if twelve_probe.decisions != PRODUCT_SLOTS * twelve_probe.requests or twelve_probe.fallbacks:
        say(
            f"WARNING: 12-slot probe got {twelve_probe.decisions} decisions for {twelve_probe.requests} "
            f"requests, {twelve_probe.fallbacks} fallbacks, {twelve_probe.slot_errors} slot errors"
        )
    (workdir / "events.jsonl").write_bytes(b"\n".join(event_templates(pages, args.events_batch, rng)) + b"\n")
    endpoints = [
        Endpoint("healthz", "GET", "/healthz"),
        Endpoint("assign_1slot", "POST", "/api/v1/assignments", workdir / "assign1.jsonl"),
        assign12,
        Endpoint("events", "POST", "/api/v1/events", workdir / "events.jsonl", events=True),
    ]
    return endpoints, {name: probe.summary() for name, probe in probes.items()}


def timed_run(tool, server: Server, endpoint: Endpoint, concurrency: int, duration: float) -> LoadResult:
    cpu_before = server.workers_cpu_s()
    result = tool.run(endpoint, concurrency, duration)
    result.worker_cpu_s = server.workers_cpu_s() - cpu_before
    return result


def measure(tool, server: Server, endpoints: list[Endpoint], args: argparse.Namespace) -> list[dict]:
    """Rounds of healthz, 1-slot, 12-slot back to back (``--duration`` split over ``--rounds``),
    then the events batches alone (they write to PostgreSQL, which would disturb the others)."""
    looped = [e for e in endpoints if not e.events]
    events = next(e for e in endpoints if e.events)
    per_round = max(1, round(args.duration / args.rounds))
    rounds: dict[str, list[LoadResult]] = {e.name: [] for e in looped}
    if args.warmup > 0:
        say(f"warm-up: {args.warmup:.0f} s per endpoint")
        for endpoint in looped:
            tool.run(endpoint, args.concurrency, args.warmup)
    for n in range(args.rounds):
        say(f"round {n + 1}/{args.rounds}: {', '.join(rounds)}, {per_round} s each, c={args.concurrency}")
        for endpoint in looped:
            result = timed_run(tool, server, endpoint, args.concurrency, per_round)
            if result.requests == 0:
                raise BenchError(f"{endpoint.name}: no request completed ({result.error_detail})")
            rounds[endpoint.name].append(result)
    concurrency = args.events_concurrency or args.concurrency
    if args.warmup > 0:
        tool.run(events, concurrency, args.warmup)
    say(f"events: batches of {args.events_batch}, {concurrency} connections, {args.duration:.0f} s")
    events_result = timed_run(tool, server, events, concurrency, args.duration)
    base = rounds["healthz"]
    rows = [row_build(name, results, base) for name, results in rounds.items()]
    return rows + [events_row(events_result, base, args.events_batch)]


def broker_queue_drop(env: dict[str, str]) -> None:
    """The events endpoint enqueues posterior updates that no worker consumes here: drop them
    (the bench's own queue and bindings, in the broker database the bench has to itself)."""
    code = (
        "import redis, sys; r = redis.Redis.from_url(sys.argv[1]); "
        "keys = list(r.scan_iter(match='*' + sys.argv[2] + '*')); keys and r.delete(*keys); "
        "print(len(keys))"
    )
    subprocess.run(
        [PYTHON, "-c", code, env["CELERY_BROKER_URL"], CELERY_QUEUE],
        check=False,
        timeout=30,
        capture_output=True,
    )


def run(args: argparse.Namespace) -> dict:
    env = bench_env(args)
    Path(env["VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    machine = machine_info()
    started_at = datetime.now(UTC)
    t0 = time.perf_counter()
    key, items, seed_s = setup_database(env, args)
    world = json.loads((Path(env["VAR_DIR"]) / "demo_world.json").read_text())
    server = Server(env, args.workers, args.port or free_port(), Path(env["VAR_DIR"]) / "gunicorn-bench.log")
    workdir = Path(tempfile.mkdtemp(prefix="bench-http-", dir=env["VAR_DIR"]))
    try:
        server.start()
        tool = load_tool(args, server, key)
        say(f"load generator: {tool.name} ({tool.version})")
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
        "command": " ".join([".venv/bin/python", "bench/bench_http.py", *sys.argv[1:]]),
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


def _interrupted(signum, frame) -> None:
    # SIGTERM (e.g. a CI timeout) unwinds like Ctrl-C, through the finally that stops gunicorn.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        report = run(args)
    except BenchError as exc:
        print(f"bench_http: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench_http: interrupted; gunicorn stopped", file=sys.stderr)
        return 130
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS_DIR / f"http-{stamp}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    cfg = report["config"]
    print(
        f"\nHTTP bench, {cfg['items']} items, gunicorn {cfg['workers']} sync workers, "
        f"{cfg['concurrency']} connections x {cfg['duration_s']:.0f} s, {cfg['load_generator']}, "
        f"{report['machine']['cores']} cores, {report['started_at']}, load average "
        f"{report['machine']['loadavg_at_start'][0]} at start, {report['loadavg_at_end'][0]} at end\n"
    )
    table_print(report["results"])
    probe = report["probe_sequential"]
    print(
        "\nsequential probe (no load), p50/p99 ms: "
        + "; ".join(
            f"{name} client {p['client_p50_ms']}/{p['client_p99_ms']}, "
            f"served_in_ms {p['served_in_ms_p50']}/{p['served_in_ms_p99']}"
            for name, p in probe.items()
            if name != "events_pages"
        )
    )
    target = report["target"]
    verdict = "MET" if target["met"] else "NOT MET"
    print(f"target 12-slot p99 < {TARGET_P99_MS:.0f} ms: {target['assign_12slot_p99_ms']} ms, {verdict}")
    print(f"wrote {out.relative_to(ROOT)} (whole run {report['wall_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
