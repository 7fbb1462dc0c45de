"""The real worker keeps its PostgreSQL connection between tasks, and replaces one that broke."""

import time
from types import SimpleNamespace

import psycopg
import pytest
from celery.signals import task_prerun
from django.db import connection

from experiments.models import Experiment, PosteriorSnapshot
from experiments.models.experiments import Status
from experiments.tasks import allocations_recompute_task
from tests.experiments.worker_process import database_url, worker_start, worker_stop


@pytest.fixture
def one_worker():
    """One pool process: tasks run one after another, so each recompute snapshots every experiment
    (concurrent ones skip the experiments the other has locked)."""
    proc = worker_start(concurrency=1)
    yield proc
    worker_stop(proc)


def _recompute_and_wait(worker, times: int, timeout: float = 60.0) -> float:
    """Send ``times`` allocation recomputes; return how long until their snapshots were all written."""
    running = Experiment.objects.filter(status=Status.RUNNING).count()
    target = PosteriorSnapshot.objects.count() + times * running
    started = time.monotonic()
    for _ in range(times):
        allocations_recompute_task.delay()
    while time.monotonic() - started < timeout:
        assert worker.poll() is None, worker.stdout.read().decode()[-3000:]
        if PosteriorSnapshot.objects.count() >= target:
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"{times} recomputes not done in {timeout:.0f} s")


def _worker_backends() -> list[tuple[int, float]]:
    """(pid, seconds since the session began) of every other session on this test database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, extract(epoch FROM now() - backend_start) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [(pid, float(age)) for pid, age in cursor.fetchall()]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_worker_keeps_its_connection_from_task_to_task(storefront, one_worker):
    _recompute_and_wait(one_worker, 2)
    before = _worker_backends()
    took = _recompute_and_wait(one_worker, 20)
    after = _worker_backends()
    assert before, "the worker holds no connection between tasks"
    assert {pid for pid, _ in after} == {pid for pid, _ in before}
    # No session began while the 20 tasks ran.
    assert min(age for _, age in after) > took


class _WorkerTask:
    """A task as a worker runs it (not eagerly, in the caller's process)."""

    request = SimpleNamespace(is_eager=False)


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _terminate(pids: str = "pid = %s", params=()) -> int:
    """Terminate sessions from a connection of its own, as a PostgreSQL restart or failover would."""
    with psycopg.connect(database_url(), autocommit=True) as admin:
        sql = (
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            f"WHERE pid <> pg_backend_pid() AND {pids}"
        )
        return admin.execute(sql, params).fetchone()[0]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_before_a_task_a_connection_postgresql_dropped_is_replaced():
    """What the worker's task_prerun handler does, in this process: a task that starts on a kept
    connection PostgreSQL has since dropped gets a new one instead of an OperationalError."""
    dropped = _backend_pid()
    assert _terminate(params=(dropped,)) == 1
    task_prerun.send(sender=_WorkerTask, task_id="t", task=_WorkerTask(), args=(), kwargs={})
    assert _backend_pid() != dropped


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_real_worker_runs_on_after_its_connection_was_dropped(storefront, one_worker):
    _recompute_and_wait(one_worker, 2)
    mine = _backend_pid()
    assert _terminate("datname = %s AND pid <> %s", (connection.settings_dict["NAME"], mine)) >= 1
    _recompute_and_wait(one_worker, 4, timeout=30)
