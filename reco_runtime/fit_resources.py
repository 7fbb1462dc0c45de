"""Wall time and peak resident memory of a block of work (a model fit), for the manifest.

    with FitMeter() as meter:
        model.fit(...)
    meter.seconds, meter.peak_rss_mb, meter.peak_extra_mb

The process's resident set is sampled from ``/proc/self/statm`` by a daemon thread every
``interval_s`` (numpy allocates outside Python's allocator, so tracemalloc would miss most of it,
and ``ru_maxrss`` only ever grows over the life of the process). Without ``/proc`` the peak is
``ru_maxrss``. A peak shorter than the interval can be missed.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from types import TracebackType

_PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20 if hasattr(os, "sysconf") else 4096 / 2**20


def rss_mb() -> float:
    """The process's resident memory now, in MiB (its peak so far where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_MB
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class FitMeter:
    def __init__(self, *, interval_s: float = 0.02) -> None:
        self.interval_s = interval_s
        self.seconds = 0.0
        self.start_rss_mb = self.peak_rss_mb = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def peak_extra_mb(self) -> float:
        """Peak resident memory above where it stood at the start."""
        return max(0.0, self.peak_rss_mb - self.start_rss_mb)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak_rss_mb = max(self.peak_rss_mb, rss_mb())

    def __enter__(self) -> FitMeter:
        self.start_rss_mb = self.peak_rss_mb = rss_mb()
        self._started = time.perf_counter()
        self._thread = threading.Thread(target=self._sample, name="fit-meter", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.seconds = time.perf_counter() - self._started
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak_rss_mb = max(self.peak_rss_mb, rss_mb())
