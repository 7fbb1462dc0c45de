"""The web server's worker: gunicorn's sync worker, woken one at a time for a new connection.

Each test runs a real gunicorn with three workers serving a five-byte WSGI app, so what is
measured is the worker's waiting, not Django.
"""

import contextlib
import http.client
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.experiments.faults.service_processes import HOST, free_port

REPO = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
EXCLUSIVE = "controlplane.gunicorn_worker.ExclusiveSyncWorker"
WORKERS = 3
APP = """
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]
"""

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="EPOLLEXCLUSIVE and /proc are Linux's")


def _get(port: int) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _workers(master: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True)
    return [int(pid) for pid in out.stdout.split()]


def _sleeps(pids: list[int]) -> int:
    """Voluntary context switches of ``pids`` so far: one each time a process goes back to waiting."""
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                total += int(line.split()[1])
    return total


@contextlib.contextmanager
def _gunicorn(tmp_path: Path, worker_class: str):
    (tmp_path / "hello_app.py").write_text(APP)
    (tmp_path / "empty_conf.py").write_text("")  # not the project's: no kernels, no Django
    port = free_port()
    with (tmp_path / f"gunicorn-{worker_class.rsplit('.', 1)[-1]}.log").open("ab") as log:
        proc = subprocess.Popen(
            [
                str(GUNICORN),
                *("-c", str(tmp_path / "empty_conf.py"), "-k", worker_class, "-w", str(WORKERS)),
                *("-b", f"{HOST}:{port}", "--no-control-socket", "--pythonpath", str(REPO)),
                *("--chdir", str(tmp_path), "hello_app:app"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while len(_workers(proc.pid)) < WORKERS or not _answers(port):
            assert proc.poll() is None, f"gunicorn exited with {proc.returncode}"
            assert time.monotonic() < deadline, "gunicorn not ready within 30 s"
            time.sleep(0.05)
        yield proc, port
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _answers(port: int) -> bool:
    try:
        return _get(port)[0] == 200
    except OSError:
        return False


def _sleeps_per_request(tmp_path: Path, worker_class: str, n: int = 60) -> float:
    """Times the workers went back to waiting, per request, for ``n`` requests one by one."""
    with _gunicorn(tmp_path, worker_class) as (proc, port):
        workers = _workers(proc.pid)
        time.sleep(0.3)  # every worker idle, waiting for a connection
        before = _sleeps(workers)
        for _ in range(n):
            assert _get(port) == (200, b"hello")
            time.sleep(0.01)  # the next one arrives to idle workers, as traffic short of the peak does
        return (_sleeps(workers) - before) / n


def test_a_new_connection_wakes_one_idle_worker_not_all(tmp_path):
    herd = _sleeps_per_request(tmp_path, "sync")
    one = _sleeps_per_request(tmp_path, EXCLUSIVE)
    # gunicorn's own sync worker: every idle worker wakes for every connection.
    assert herd >= WORKERS - 0.5
    assert one < 0.7 * herd, (one, herd)


def test_it_answers_concurrent_clients_and_stops_gracefully(tmp_path):
    with _gunicorn(tmp_path, EXCLUSIVE) as (proc, port):
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda _: _get(port), range(200)))
        assert answers == [(200, b"hello")] * 200
        assert len(_workers(proc.pid)) == WORKERS  # none died or was replaced
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
