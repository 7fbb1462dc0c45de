"""What the machine did, tenth of a second by tenth of a second, beside a load run (Linux only).

A separate process reads ``/proc/stat`` (the machine's user, system, idle, iowait and steal
time: steal is time the hypervisor gave this VM's cores to someone else) and every process's
``/proc/<pid>/stat`` ten times a second. ``SystemSampler.seconds`` then says, for any second of the
run, how much CPU went where: when a load run's slow second shows steal, the machine was
taken away; when it shows one process's burst (a checkpoint, a collection), that process.

    with SystemSampler() as sampler:
        ...  # the load
    sampler.seconds(start)  # {second since start: {"steal_ms": ..., "top": [...]}}

Timestamps are ``time.monotonic()``, the clock ``time.perf_counter()`` reads on Linux, so the
load generator's offsets line up with the samples.
"""

import multiprocessing
import os
import time
from pathlib import Path

INTERVAL_S = 0.1
_TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")
_STAT_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def _machine() -> dict[str, int]:
    with open("/proc/stat", "rb") as f:
        values = f.readline().split()[1 : 1 + len(_STAT_FIELDS)]
    return dict(zip(_STAT_FIELDS, map(int, values), strict=True))


def _processes() -> dict[int, tuple[str, int]]:
    """pid -> (command name, user + system ticks so far)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_bytes()
        except OSError:  # the process ended between listing and reading
            continue
        name_end = raw.rindex(b")")
        fields = raw[name_end + 2 :].split()
        # Fields after the name: state is [0], utime [11], stime [12].
        name = raw[raw.index(b"(") + 1 : name_end].decode(errors="replace")
        out[int(entry.name)] = (name, int(fields[11]) + int(fields[12]))
    return out


def _sample(stop, results) -> None:
    rows = []
    machine, procs = _machine(), _processes()
    while not stop.is_set():
        time.sleep(INTERVAL_S)
        now, machine_now, procs_now = time.monotonic(), _machine(), _processes()
        used = [(ticks - procs.get(pid, (name, 0))[1], pid, name) for pid, (name, ticks) in procs_now.items()]
        busiest = sorted(used, reverse=True)[:5]
        rows.append(
            (
                now,
                {k: (machine_now[k] - machine[k]) * _TICK_MS for k in _STAT_FIELDS},
                [(f"{name}[{pid}]", ticks * _TICK_MS) for ticks, pid, name in busiest if ticks],
            )
        )
        machine, procs = machine_now, procs_now
    results.put(rows)


class SystemSampler:
    def __enter__(self) -> "SystemSampler":
        ctx = multiprocessing.get_context("fork")
        self._stop, self._results = ctx.Event(), ctx.Queue()
        self._process = ctx.Process(target=_sample, args=(self._stop, self._results), daemon=True)
        self._process.start()
        self.rows: list = []
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.rows = self._results.get(timeout=10)
        self._process.join(timeout=5)

    def seconds(self, start: float) -> dict[int, dict]:
        """Per second since ``start`` (a ``perf_counter`` reading): the machine's CPU by kind
        in ms (two cores give up to 2000 ms a second), and the four processes that used most (of
        each sample's five busiest)."""
        out: dict[int, dict] = {}
        for at, machine, busiest in self.rows:
            second = int(at - INTERVAL_S / 2 - start)
            if second < 0:
                continue
            slot = out.setdefault(second, {"machine": dict.fromkeys(_STAT_FIELDS, 0.0), "processes": {}})
            for kind, ms in machine.items():
                slot["machine"][kind] += ms
            for process, ms in busiest:
                slot["processes"][process] = slot["processes"].get(process, 0.0) + ms
        return {
            second: {
                "steal_ms": round(slot["machine"]["steal"]),
                "idle_ms": round(slot["machine"]["idle"]),
                "iowait_ms": round(slot["machine"]["iowait"]),
                "busy_ms": round(
                    sum(v for k, v in slot["machine"].items() if k not in ("idle", "iowait", "steal"))
                ),
                "top": [
                    [process, round(ms)]
                    for process, ms in sorted(slot["processes"].items(), key=lambda kv: -kv[1])[:4]
                ],
            }
            for second, slot in out.items()
        }
