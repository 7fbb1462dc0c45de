"""The PostgreSQL cost bench reads a process's CPU time from /proc as the kernel counts it."""

import os
import sys

import pytest

from bench.bench_pg_cost import backend_cpu_s

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_it_reads_this_process_cpu_time_as_os_times_does():
    sum(i * i for i in range(300_000))  # some CPU time to read
    before = os.times()
    read = backend_cpu_s(os.getpid())
    after = os.times()
    tick = 1 / os.sysconf("SC_CLK_TCK")
    assert before.user + before.system - tick <= read <= after.user + after.system + tick
