"""The web server's settings: one sync worker per core plus one (gunicorn's sync worker, woken one
at a time per connection), unless the deployment says, and one BLAS thread per worker."""

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

CONF = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"


def test_one_sync_worker_per_core_plus_one(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("WEB_WORKER_CLASS", raising=False)
    conf = runpy.run_path(str(CONF))
    assert conf["workers"] == len(os.sched_getaffinity(0)) + 1
    assert conf["worker_class"] == "controlplane.gunicorn_worker.ExclusiveSyncWorker"


def test_web_worker_class_sets_gunicorns_own(monkeypatch):
    monkeypatch.setenv("WEB_WORKER_CLASS", "sync")
    assert runpy.run_path(str(CONF))["worker_class"] == "sync"


def test_web_concurrency_sets_the_count(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "7")
    assert runpy.run_path(str(CONF))["workers"] == 7


def test_the_master_caps_blas_threads_before_it_imports_numpy():
    """``on_starting`` imports numpy in the master and the workers inherit it as loaded there:
    the config itself must cap BLAS threads, or every worker would run one per core."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    script = (
        f"import runpy; runpy.run_path({str(CONF)!r}); import numpy, json; "
        "from threadpoolctl import threadpool_info; "
        "print(json.dumps([p['num_threads'] for p in threadpool_info() if p['user_api'] == 'blas']))"
    )
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [1]
