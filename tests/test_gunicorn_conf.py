"""The web server's worker count: one sync worker per core plus one, unless the deployment says."""

import os
import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"


def test_one_sync_worker_per_core_plus_one(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    conf = runpy.run_path(str(CONF))
    assert conf["workers"] == len(os.sched_getaffinity(0)) + 1
    assert conf["worker_class"] == "sync"


def test_web_concurrency_sets_the_count(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "7")
    assert runpy.run_path(str(CONF))["workers"] == 7
