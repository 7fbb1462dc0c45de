"""The processes a benchmark runs: gunicorn, a Celery worker or beat, or the WSGI app in process.

Every process is started in its own process group and stopped by ``stop``, so a run leaves
nothing behind, even when interrupted (``sigterm_unwinds`` turns SIGTERM into Ctrl-C).
"""

from __future__ import annotations

import argparse
import io
import os
import runpy
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.harness import HOST, PYTHON, ROOT, VENV_BIN, BenchError, say


def web_workers() -> int:
    """The gunicorn worker count a deployment of this machine runs (``gunicorn.conf.py``)."""
    return int(runpy.run_path(str(ROOT / "gunicorn.conf.py"))["workers"])


def _worker_count(text: str) -> int:
    return web_workers() if text == "auto" else int(text)


def workers_argument(parser: argparse.ArgumentParser) -> None:
    """``--workers N``, by default what ``gunicorn.conf.py`` runs on this machine."""
    parser.add_argument(
        "--workers", type=_worker_count, default="auto", help="gunicorn workers (default: gunicorn.conf.py's)"
    )


def ingest_workers_argument(parser: argparse.ArgumentParser, default: int = 0) -> None:
    """``--ingest-workers N``: events go to a second gunicorn, as the Procfile's ingest process."""
    parser.add_argument(
        "--ingest-workers",
        type=int,
        default=default,
        help="events go to a second gunicorn with this many workers, as the Procfile's ingest process"
        f" (default {default}{': pages and events share one server' if not default else ''})",
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def children(pid: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    )
    return [int(p) for p in out.stdout.split()]


def rss_mb(pid: int) -> float | None:
    """Resident memory of one process in MB, None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


def stop(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """SIGTERM to the process group (a graceful stop), SIGKILL after ``timeout``."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass


class Server:
    """gunicorn with ``gunicorn.conf.py``'s worker class, on 127.0.0.1."""

    def __init__(self, env: dict[str, str], workers: int, log_path: Path, port: int = 0) -> None:
        self.env, self.workers, self.log_path = env, workers, log_path
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 120.0) -> None:
        """Start and wait until ``/healthz`` answers 200."""
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
        say("server", f"gunicorn: {' '.join(cmd[1:])}")
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
        return children(self.proc.pid) if self.proc is not None else []

    def workers_cpu_s(self) -> float:
        """CPU seconds of the workers so far: what a request costs, whatever the neighbours on
        the machine do (wall-clock figures move with them; this barely does)."""
        return cpu_s(self.worker_pids())

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        orphans = self.worker_pids()
        self.proc.send_signal(signal.SIGTERM)  # graceful: the arbiter stops its workers
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        for pid in orphans:  # should any worker outlive its arbiter
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def celery_start(env: dict[str, str], *argv: str, quiet: bool = False) -> subprocess.Popen:
    """``celery -A controlplane ARGV`` (a worker or beat) in its own process group."""
    output = subprocess.DEVNULL if quiet else None
    return subprocess.Popen(
        [PYTHON, "-m", "celery", "-A", "controlplane", *argv, "--loglevel", "WARNING"],
        cwd=ROOT,
        env=env | {"OPENBLAS_NUM_THREADS": "1"},
        start_new_session=True,
        stdout=output,
        stderr=output,
    )


def celery_worker_start(env: dict[str, str], concurrency: int, *, quiet: bool = False) -> subprocess.Popen:
    """A worker on the bench's own queue, without gossip and mingle (nothing to meet here)."""
    return celery_start(
        env,
        "worker",
        "-Q",
        env["CELERY_QUEUE"],
        "-c",
        str(concurrency),
        "--without-gossip",
        "--without-mingle",
        quiet=quiet,
    )


def _interrupted(signum, frame) -> None:
    raise KeyboardInterrupt


def sigterm_unwinds() -> None:
    """SIGTERM (e.g. a CI timeout) unwinds like Ctrl-C, through the ``finally`` that stops servers."""
    signal.signal(signal.SIGTERM, _interrupted)


# ---------------------------------------------------------------------------------------------
# The WSGI app in this process: CPU per request without HTTP
# ---------------------------------------------------------------------------------------------


def django_start(env: dict[str, str]) -> None:
    """Set the bench environment in this process and set Django up (before importing models)."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.settings")
    import django

    django.setup()


def wsgi_environ(method: str, path: str, body: bytes, key: str) -> dict:
    """The WSGI environ gunicorn would build for this request."""
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": HOST,
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": HOST,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": HOST,
        "HTTP_AUTHORIZATION": f"Api-Key {key}",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def _start_response(status, headers, exc_info=None):
    if not status.startswith("20"):
        raise BenchError(f"the app answered {status}")


def wsgi_call(method: str, path: str, body: bytes, key: str) -> bytes:
    """One request through ``controlplane.wsgi.application``; the whole answer's body.
    Anything but a 2xx raises ``BenchError``."""
    from controlplane.wsgi import application

    return b"".join(application(wsgi_environ(method, path, body, key), _start_response))
