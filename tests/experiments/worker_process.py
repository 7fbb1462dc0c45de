"""Real ``celery worker`` processes for services tests, on the test database and this run's queue."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from controlplane.celery import app as celery_app

REPO = Path(__file__).resolve().parents[2]


def database_url(*, host: str | None = None, port: int | None = None) -> str:
    """The URL of the test database this process uses; ``host``/``port`` reach it another way (a proxy)."""
    db = connection.settings_dict
    host = host or db["HOST"] or "127.0.0.1"
    port = port or db["PORT"] or 5432
    return f"postgres://{db['USER']}@{host}:{port}/{db['NAME']}"


def _worker_env() -> dict:
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url()
    # Under xdist the queue has a per-process suffix: the worker's own re-enqueues must land there too.
    env["CELERY_QUEUE"] = celery_app.conf.task_default_queue
    env["OPENBLAS_NUM_THREADS"] = "1"
    return env


def worker_start(concurrency: int = 2, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start a worker in its own process group, so a test can SIGKILL it with its pool children.

    ``env`` overrides the test's environment, e.g. ``CELERY_BROKER_URL`` for a private broker.
    """
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "controlplane",
            "worker",
            "-Q",
            celery_app.conf.task_default_queue,
            "-c",
            str(concurrency),
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=REPO,
        env={**_worker_env(), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def worker_stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture
def celery_worker_process():
    proc = worker_start()
    yield proc
    worker_stop(proc)
