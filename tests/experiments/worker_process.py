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


def _worker_env() -> dict:
    db = connection.settings_dict
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    env["OPENBLAS_NUM_THREADS"] = "1"
    return env


def worker_start(concurrency: int = 2) -> subprocess.Popen:
    """Start a worker in its own process group, so a test can SIGKILL it with its pool children."""
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
        env=_worker_env(),
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
