"""Closed-loop HTTP load: ``concurrency`` connections, each sending its next request as soon as
the previous answer arrived. wrk (``bench/wrk/bench_http.lua``) when installed, else an asyncio
client here. Latency is from writing the request to reading the whole answer (wrk's definition;
the TCP connect is not included, but time queued in the listen backlog is: gunicorn's sync
workers close every connection). For open-loop load see ``bench.harness.open_loop``.
"""

from __future__ import annotations

import asyncio
import json
import platform
import random
import re
import shutil
import statistics
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.harness import HOST, ROOT, BenchError
from bench.harness.report import percentile

LUA_SCRIPT = ROOT / "bench" / "wrk" / "bench_http.lua"


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    bodies_file: Path | None = None  # one body per line
    events: bool = False  # bodies hold ``@RUN@``, replaced per request so each batch is new


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


class WrkLoad:
    name = "wrk"

    def __init__(self, base: str, key: str, threads: int) -> None:
        self.base, self.key, self.threads = base, key, threads
        out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False).stdout
        self.version = " ".join((out.split() or ["wrk"])[:2])

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

    async def _run(self, make, concurrency: int, duration: float) -> dict:
        stats = {"latency": [], "status": 0, "connect": 0, "read": 0, "accepted": 0}
        deadline = time.perf_counter() + duration
        tasks = [asyncio.create_task(self._connection(make, deadline, stats)) for _ in range(concurrency)]
        await asyncio.wait(tasks, timeout=duration + 30)
        for task in tasks:
            task.cancel()
        return stats

    def run(self, endpoint: Endpoint, concurrency: int, duration: float) -> LoadResult:
        stats = asyncio.run(self._run(self._requests(endpoint), concurrency, duration))
        ms = [s * 1000 for s in stats["latency"]]
        nan = float("nan")
        return LoadResult(
            requests=len(ms),
            duration_s=duration,
            p50_ms=percentile(ms, 50) if ms else nan,
            p90_ms=percentile(ms, 90) if ms else nan,
            p99_ms=percentile(ms, 99) if ms else nan,
            max_ms=max(ms, default=nan),
            mean_ms=statistics.fmean(ms) if ms else nan,
            errors=stats["status"],
            error_detail={k: stats[k] for k in ("status", "connect", "read") if stats[k]},
            accepted=stats["accepted"],
        )


def load_tool(choice: str, base: str, key: str, wrk_threads: int = 1) -> WrkLoad | PythonLoad:
    """``choice`` is ``wrk``, ``python`` or ``auto`` (wrk when installed)."""
    if choice == "wrk" or (choice == "auto" and shutil.which("wrk")):
        if shutil.which("wrk") is None:
            raise BenchError("wrk is not installed (apt-get install -y wrk); --tool python runs without it")
        return WrkLoad(base, key, wrk_threads)
    return PythonLoad(base, key)


def timed_run(tool, server, endpoint: Endpoint, concurrency: int, duration: float) -> LoadResult:
    """One load run, with the CPU ``server``'s workers spent meanwhile."""
    cpu_before = server.workers_cpu_s()
    result = tool.run(endpoint, concurrency, duration)
    result.worker_cpu_s = server.workers_cpu_s() - cpu_before
    return result
