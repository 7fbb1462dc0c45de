"""Open-loop HTTP load: requests leave on a fixed schedule, whether or not earlier ones answered.

A closed loop (wrk) waits for each answer before sending the next request, so a slow server
is offered less load and its slow moments are under-sampled (coordinated omission). Here the
i-th request is due at ``start + i / rate``; its latency counts from that due time, so time a
request spent waiting because the server (or this client) fell behind is part of its latency.

    .venv/bin/python -m bench.open_loop --port 8000 --path /api/v1/assignments \\
        --bodies FILE --key KEY --rate 400 --duration 15 [--events]

Each request is a new connection (gunicorn's sync workers close every connection anyway).
Prints one line ``OPEN_LOOP_JSON {...}``: sent, answered, errors, achieved rate, latency
percentiles in ms, the client's own lateness in sending (``send_lag_p99_ms``: when it is large
the tail is the client's, not the server's), the five seconds of the schedule with the slowest
requests, and with ``--events`` the summed ``accepted`` counts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import re
import subprocess
import time
import uuid
from pathlib import Path

from bench.harness import HOST, PYTHON, ROOT, BenchError
from bench.harness.report import percentile
from bench.harness.system_sampler import SystemSampler

# The server's own time for an assignment (``served_in_ms``, measured inside the view): when a
# slow second's pages were fast inside the view, the time went to queueing or transport.
_SERVED_IN = re.compile(rb'"served_in_ms":([0-9.]+)')
MAX_IN_FLIGHT = 2_000


async def _one(port: int, request: bytes, due: float, stats: dict) -> None:
    stats["send_lag_ms"].append((time.perf_counter() - due) * 1000)
    stats["sent_due"].append(due)
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            length = next(
                (int(h.split(":", 1)[1]) for h in lines[1:] if h.lower().startswith("content-length:")), None
            )
            body = await (reader.readexactly(length) if length is not None else reader.read())
        finally:
            writer.close()
        stats["latency_ms"].append((time.perf_counter() - due) * 1000)
        stats["due"].append(due)
        status = int(lines[0].split()[1])
        if status >= 400:
            stats["errors"][str(status)] = stats["errors"].get(str(status), 0) + 1
        elif b'"accepted"' in body:
            stats["accepted"] += json.loads(body)["accepted"]
        elif (served := _SERVED_IN.search(body)) is not None:
            stats["served_ms"].append(float(served.group(1)))
            stats["served_due"].append(due)
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        name = type(exc).__name__
        stats["errors"][name] = stats["errors"].get(name, 0) + 1


def _worst_seconds(
    latency: list[float],
    offsets: list[float],
    send_lag: dict[int, float],
    served: dict[int, float],
    machine: dict[int, dict] | None = None,
    n: int = 5,
) -> list[dict]:
    """The ``n`` seconds of the schedule with the slowest requests (by their max): whether the
    tail is a few stalls or spread evenly, how late this client itself sent in each, the
    longest time a page of that second spent inside the view, and with ``machine`` (see
    ``system_sampler``) where the machine's CPU went in that second."""
    by_second: dict[int, list[float]] = {}
    for ms, offset in zip(latency, offsets, strict=True):
        by_second.setdefault(int(offset), []).append(ms)
    worst = sorted(by_second.items(), key=lambda kv: max(kv[1]), reverse=True)[:n]
    return [
        {
            "second": sec,
            "max_ms": round(max(v), 1),
            "over_15_ms": sum(x > 15 for x in v),
            "requests": len(v),
            "send_lag_max_ms": round(send_lag.get(sec, 0.0), 1),
            "served_in_max_ms": round(served[sec], 1) if sec in served else None,
        }
        | ({"machine": machine.get(sec)} if machine is not None else {})
        for sec, v in worst
    ]


def _max_by_second(values: list[float], offsets: list[float]) -> dict[int, float]:
    out: dict[int, float] = {}
    for value, offset in zip(values, offsets, strict=True):
        out[int(offset)] = max(value, out.get(int(offset), value))
    return out


async def run(
    *,
    port: int,
    path: str,
    bodies: list[bytes],
    key: str,
    rate: float,
    duration: float,
    events: bool,
    sample_system: bool = False,
) -> dict:
    """Send ``rate`` requests per second for ``duration`` seconds; return the statistics."""
    sampler = SystemSampler() if sample_system else None
    with sampler or contextlib.nullcontext():
        stats, start, elapsed = await _send(
            port=port, path=path, bodies=bodies, key=key, rate=rate, duration=duration, events=events
        )
    machine = sampler.seconds(start) if sampler is not None else None
    latency, due, send_lag = stats.pop("latency_ms"), stats.pop("due"), stats.pop("send_lag_ms")
    lag_by_second = _max_by_second(send_lag, [d - start for d in stats.pop("sent_due")])
    served_by_second = _max_by_second(stats.pop("served_ms"), [d - start for d in stats.pop("served_due")])
    offsets = [d - start for d in due]
    return stats | {
        "send_lag_p99_ms": percentile(send_lag, 99),
        "send_lag_max_ms": max(send_lag, default=None),
        "worst_seconds": _worst_seconds(latency, offsets, lag_by_second, served_by_second, machine),
        "offered_rate": rate,
        "duration_s": round(elapsed, 2),
        "answered": len(latency),
        "achieved_rate": round(len(latency) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": percentile(latency, 50),
        "p90_ms": percentile(latency, 90),
        "p99_ms": percentile(latency, 99),
        "max_ms": max(latency, default=None),
    }


async def _send(
    *, port: int, path: str, bodies: list[bytes], key: str, rate: float, duration: float, events: bool
) -> tuple[dict, float, float]:
    """The schedule itself: (raw statistics, its start on ``perf_counter``, seconds it took)."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Api-Key {key}\r\n"
        "Content-Type: application/json\r\nConnection: close\r\n"
    )
    run_tag = uuid.uuid4().hex[:8]
    stats: dict = {
        "latency_ms": [],
        "due": [],
        "send_lag_ms": [],
        "sent_due": [],
        "served_ms": [],
        "served_due": [],
        "errors": {},
        "accepted": 0,
        "sent": 0,
        "dropped": 0,
    }
    tasks: set[asyncio.Task] = set()
    # No cyclic collections in this client while it runs: a full one with thousands of tasks in
    # flight would pause the event loop, and that lateness would be counted as the server's.
    # OPEN_LOOP_KEEP_GC=1 keeps them, to compare.
    keep_gc = os.environ.get("OPEN_LOOP_KEEP_GC") == "1"
    gc.collect()
    if not keep_gc:
        gc.disable()
    start = time.perf_counter() + 0.1
    total = int(rate * duration)
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(tasks) >= MAX_IN_FLIGHT:  # the server is hopelessly behind: count, do not pile up
            stats["dropped"] += 1
            continue
        body = bodies[i % len(bodies)]
        if events:
            body = body.replace(b"@RUN@", f"{run_tag}-{i}".encode())
        request = (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        task = asyncio.create_task(_one(port, request, due, stats))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        stats["sent"] += 1
    if tasks:
        await asyncio.wait(tasks, timeout=60)
    gc.enable()
    return stats, start, time.perf_counter() - start


class OpenLoop:
    """This module in a subprocess, so the schedule does not share the caller's core; start it,
    do something else, then ``result()`` waits for its statistics."""

    def __init__(
        self,
        port: int,
        key: str,
        path: str,
        bodies: Path,
        rate: float,
        duration: float,
        *,
        events: bool,
        sample_system: bool = False,
    ) -> None:
        cmd = [PYTHON, "-m", "bench.harness.open_loop", "--port", str(port), "--path", path]
        cmd += [
            "--bodies",
            str(bodies),
            "--key",
            key,
            "--rate",
            f"{rate:.3f}",
            "--duration",
            f"{duration:.1f}",
        ]
        cmd += (["--events"] if events else []) + (["--sample-system"] if sample_system else [])
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)

    def result(self) -> dict:
        out, _ = self.proc.communicate(timeout=300)
        match = re.search(r"^OPEN_LOOP_JSON (\{.*\})$", out, re.MULTILINE)
        if self.proc.returncode != 0 or match is None:
            raise BenchError(f"open loop failed ({self.proc.returncode}): {out[-2000:]}")
        return json.loads(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--bodies", type=Path, required=True, help="one JSON body per line")
    parser.add_argument("--key", required=True, help="storefront API key")
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds")
    parser.add_argument("--events", action="store_true", help="replace @RUN@ per request; sum accepted")
    parser.add_argument(
        "--sample-system",
        action="store_true",
        help="sample the machine's CPU (steal, busiest processes) ten times a second beside the run",
    )
    args = parser.parse_args()
    bodies = [line for line in args.bodies.read_bytes().splitlines() if line]
    result = asyncio.run(
        run(
            port=args.port,
            path=args.path,
            bodies=bodies,
            key=args.key,
            rate=args.rate,
            duration=args.duration,
            events=args.events,
            sample_system=args.sample_system,
        )
    )
    print("OPEN_LOOP_JSON " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
