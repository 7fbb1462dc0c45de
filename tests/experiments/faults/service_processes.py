"""Real services a fault test can break: a private redis-server, a cuttable TCP proxy, gunicorn.

Every helper is a context manager that kills what it started on the way out, failure or not.
"""

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

import redis

HOST = "127.0.0.1"
REDIS_SERVER = "/usr/bin/redis-server"
GUNICORN = Path(sys.executable).with_name("gunicorn")
# No control socket: its default path (~/.gunicorn/gunicorn.ctl) is shared by every gunicorn.
GUNICORN_OPTIONS = ("controlplane.wsgi", "-w", "1", "--timeout", "60", "--no-control-socket")
REPO = Path(__file__).resolve().parents[3]
PROXY_POLL_S = 0.05
PROXY_BUFFER_BYTES = 65_536


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _wait_until(ready, timeout_s: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}")
        if ready():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} not ready within {timeout_s:.0f} s")


def _group_kill(proc: subprocess.Popen | None) -> None:
    """SIGKILL a process started with ``start_new_session=True`` and all its children."""
    if proc is None:
        return
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


class RedisServer:
    """A private ``redis-server`` on its own port, nothing persisted: a test may SIGKILL it and
    start it again on the same port, and parallel test processes sharing the main Redis never notice."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://{HOST}:{self.port}/{db}"

    def _answers(self) -> bool:
        client = redis.Redis(host=HOST, port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self, timeout_s: float = 10.0) -> None:
        assert self.proc is None or self.proc.poll() is not None, "redis-server is already running"
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no"]
            + ["--dir", str(self.workdir), "--logfile", ""],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_until(self._answers, timeout_s, f"redis-server on port {self.port}", self.proc)

    def kill(self) -> None:
        """SIGKILL: no shutdown, every client connection drops, the data is gone."""
        _group_kill(self.proc)


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[RedisServer]:
    server = RedisServer(workdir)
    try:
        server.start()
        yield server
    finally:
        server.kill()


class TcpProxy:
    """Forwards ``HOST:port`` to ``upstream`` (pure sockets, two threads per connection).

    ``cut()`` closes every live connection and stops listening (new connections are refused);
    ``restore()`` listens again on the same port.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._lock = threading.Lock()
        self._live: set[socket.socket] = set()
        self._pumps: list[threading.Thread] = []
        self._accepting: threading.Thread | None = None
        self._stop = threading.Event()

    def restore(self) -> None:
        assert self._accepting is None, "the proxy is already listening"
        listener = socket.create_server((HOST, self.port))  # SO_REUSEADDR: the same port at once
        listener.settimeout(PROXY_POLL_S)
        self._stop.clear()
        self._accepting = threading.Thread(target=self._accept_loop, args=(listener,), daemon=True)
        self._accepting.start()

    def cut(self) -> None:
        if self._accepting is not None:
            self._stop.set()
            self._accepting.join()
            self._accepting = None
        with self._lock:
            live = list(self._live)
        for sock in live:
            self._close(sock)

    def close(self) -> None:
        self.cut()
        for pump in self._pumps:
            pump.join(timeout=5)

    def _accept_loop(self, listener: socket.socket) -> None:
        with listener:
            while not self._stop.is_set():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                try:
                    upstream = socket.create_connection(self.upstream, timeout=5)
                except OSError:
                    client.close()
                    continue
                for sock in (client, upstream):
                    sock.settimeout(None)
                with self._lock:
                    self._live.update((client, upstream))
                for src, dst in ((client, upstream), (upstream, client)):
                    pump = threading.Thread(target=self._pump, args=(src, dst), daemon=True)
                    self._pumps.append(pump)
                    pump.start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(PROXY_BUFFER_BYTES):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._close(src)
            self._close(dst)

    def _close(self, sock: socket.socket) -> None:
        with self._lock:
            self._live.discard(sock)
        # shutdown() first: it wakes the pump thread blocked in recv() on this socket.
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


@contextlib.contextmanager
def tcp_proxy(upstream: tuple[str, int]) -> Iterator[TcpProxy]:
    proxy = TcpProxy(upstream)
    try:
        proxy.restore()
        yield proxy
    finally:
        proxy.close()


class WebServer:
    """``gunicorn controlplane.wsgi`` with one sync worker, in its own process group."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def _answers(self) -> bool:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def start(self, timeout_s: float = 60.0) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(GUNICORN), *GUNICORN_OPTIONS, "-b", f"{HOST}:{self.port}"],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_until(self._answers, timeout_s, f"gunicorn (log: {self.log_path})", self.proc)

    def log_tail(self, n_chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-n_chars:] if self.log_path.exists() else ""

    def kill(self) -> None:
        _group_kill(self.proc)


def storefront_web_env(*, refresh_s: float) -> dict[str, str]:
    """The environment of a gunicorn storefront that shares this test's database, Redis namespace,
    broker queue and models, and refreshes its serving state every ``refresh_s`` seconds."""
    from django.conf import settings
    from django.core.cache import cache

    from controlplane.celery import app as celery_app
    from tests.experiments.worker_process import database_url

    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "CELERY_QUEUE": celery_app.conf.task_default_queue,
        "CACHE_KEY_PREFIX": cache.key_prefix,  # this test's private namespace (see tests/conftest.py)
        "MODEL_ROOT": str(settings.MODEL_ROOT),
        "SERVING_REFRESH_S": str(refresh_s),
        "OPENBLAS_NUM_THREADS": "1",
    }


@contextlib.contextmanager
def web_server(env: dict[str, str], log_path: Path) -> Iterator[WebServer]:
    server = WebServer(env, log_path)
    try:
        server.start()
        yield server
    finally:
        server.kill()


@dataclass
class HttpResponse:
    status_code: int
    content: bytes
    elapsed_s: float
    headers: Message = field(repr=False)

    def json(self):
        return json.loads(self.content)


class HttpStorefront:
    """Posts and puts like DRF's ``APIClient`` (so ``storefront_helpers`` work with it), over real HTTP."""

    def __init__(self, server: WebServer, api_key: str, timeout_s: float = 30.0) -> None:
        self.server = server
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.last_elapsed_s = 0.0  # wall clock of the last call, connect included

    def post(self, path: str, data: dict, format: str = "json") -> HttpResponse:
        assert format == "json"
        return self._send("POST", path, data)

    def put(self, path: str, data: dict, format: str = "json") -> HttpResponse:
        assert format == "json"
        return self._send("PUT", path, data)

    def _send(self, method: str, path: str, data: dict) -> HttpResponse:
        started = time.perf_counter()
        connection = http.client.HTTPConnection(HOST, self.server.port, timeout=self.timeout_s)
        try:
            connection.request(
                method,
                path,
                body=json.dumps(data).encode(),
                headers={"Content-Type": "application/json", "Authorization": f"Api-Key {self.api_key}"},
            )
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        self.last_elapsed_s = time.perf_counter() - started
        return HttpResponse(response.status, content, self.last_elapsed_s, response.headers)
