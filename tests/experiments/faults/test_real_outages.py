"""Outages of the real services under a real gunicorn: Redis SIGKILLed, PostgreSQL cut off.

Unlike ``test_cache_outage`` nothing is monkeypatched: the web process and the worker run as
subprocesses on the test database and find out about the outage the way production would.
"""

import os
import signal
import time
import zlib

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from controlplane.celery import app as celery_app
from experiments.models import Event
from experiments.selectors.posterior_recount import posteriors_recount, posteriors_stored
from tests.experiments.storefront_helpers import decisions_for, event, events_post
from tests.experiments.worker_process import database_url, worker_start, worker_stop

from .service_processes import HttpStorefront, WebServer, redis_server, tcp_proxy, web_server

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

PRODUCT_SLOTS = 12
# A refused localhost connection fails at once, so an outage must not slow serving down.
EVENTS_BATCH_MAX_S = 0.4
ASSIGNMENT_MAX_S = 0.2
CATCH_UP_TIMEOUT_S = 30.0


def _web_env(*, database: str, redis_url: str, broker_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_QUEUE": celery_app.conf.task_default_queue,
        "CACHE_KEY_PREFIX": cache.key_prefix,  # this test's private namespace (see tests/conftest.py)
        "MODEL_ROOT": str(settings.MODEL_ROOT),  # the artifacts the storefront fixture trained
        "OPENBLAS_NUM_THREADS": "1",
    }


def _page(client, storefront, session_id: str) -> list[dict]:
    """The 12 product-page decisions for a session, each with items (served by a model or fallback)."""
    item_ids = storefront.catalog.item_ids
    product = str(item_ids[zlib.crc32(session_id.encode()) % len(item_ids)])
    decisions = decisions_for(client, session_id=session_id, context={"product_id": product}, k=4)
    assert len(decisions) == PRODUCT_SLOTS
    assert all(d["items"] for d in decisions), decisions
    return decisions


def _shopper_events(session_id: str, decisions: list[dict]) -> list[dict]:
    """An impression per decision, a click on the first item of every other one, and a purchase."""
    batch = [event("impression", session_id, decision_id=d["decision_id"]) for d in decisions]
    clicked = [d["items"][0]["item_id"] for d in decisions[::2]]
    batch += [
        event("click", session_id, decision_id=d["decision_id"], item_id=item)
        for d, item in zip(decisions[::2], clicked, strict=True)
    ]
    batch.append(event("purchase", session_id, items=clicked[:1], value=25.0))
    return batch


def _post_stored(client, batch: list[dict]) -> None:
    response = events_post(client, batch)
    assert response.status_code == 202, response.content
    assert response.json()["accepted"] == len(batch), response.content
    assert Event.objects.filter(event_id__in=[e["event_id"] for e in batch]).count() == len(batch)


def _wait_applied(posted: list[dict], worker, timeout_s: float) -> None:
    """Until every posted event, and everything else in the ledger, is applied to the posteriors."""
    event_ids = [e["event_id"] for e in posted]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        applied = Event.objects.filter(event_id__in=event_ids, applied_at__isnull=False).count()
        if applied == len(event_ids) and not Event.objects.filter(applied_at__isnull=True).exists():
            return
        if worker.poll() is not None:
            raise AssertionError(f"worker exited: {worker.stdout.read().decode()[-2000:]}")
        time.sleep(0.1)
    unapplied = Event.objects.filter(applied_at__isnull=True).count()
    raise AssertionError(f"{unapplied} events still unapplied after {timeout_s:.0f} s")


def test_redis_killed_serving_and_intake_go_on_and_posteriors_catch_up(storefront, storefront_key, tmp_path):
    assert connection.vendor == "postgresql"
    with redis_server(tmp_path) as redis:
        worker = worker_start(concurrency=1, env={"CELERY_BROKER_URL": redis.url(1)})
        try:
            env = _web_env(database=database_url(), redis_url=redis.url(0), broker_url=redis.url(1))
            with web_server(env, tmp_path / "gunicorn.log") as web:
                _redis_outage_run(storefront, HttpStorefront(web, storefront_key), redis, worker, web)
        finally:
            worker_stop(worker, signal.SIGKILL)


def _redis_outage_run(storefront, client: HttpStorefront, redis, worker, web: WebServer) -> None:
    before = _page(client, storefront, "warm")
    posted = _shopper_events("warm", before)
    _post_stored(client, posted)
    _wait_applied(posted, worker, CATCH_UP_TIMEOUT_S)  # the worker works before the outage
    applied_before = len(posted)

    redis.kill()
    latencies, batch_latencies = [], []
    for n in range(8):
        decisions = _page(client, storefront, f"down-{n}")
        latencies.append(client.last_elapsed_s)
        during = _shopper_events(f"down-{n}", decisions)
        _post_stored(client, during)
        batch_latencies.append(client.last_elapsed_s)
        posted += during
    again = _page(client, storefront, "warm")
    latencies.append(client.last_elapsed_s)
    assert [d["variant"] for d in again] == [d["variant"] for d in before], "assignment is sticky"
    assert max(latencies) < ASSIGNMENT_MAX_S, (latencies, web.log_tail())
    # One quick publish retry, not Celery's default 3 x 0.2 s, while the broker is gone.
    assert max(batch_latencies) < EVENTS_BATCH_MAX_S, batch_latencies
    # The broker is down: the enqueue after each batch was lost, the rows wait in the ledger.
    assert Event.objects.filter(applied_at__isnull=True).count() == len(posted) - applied_before

    redis.start()
    restarted = time.monotonic()
    after = _page(client, storefront, "back")
    back = _shopper_events("back", after)
    _post_stored(client, back)  # its enqueue wakes the worker, which applies the backlog too
    posted += back
    _wait_applied(posted, worker, CATCH_UP_TIMEOUT_S)
    print(
        f"assignment latency during the Redis outage: max {max(latencies) * 1000:.1f} ms, "
        f"catch-up {time.monotonic() - restarted:.2f} s after the restart"
    )
    stored = posteriors_stored()
    assert stored, "the impressions and clicks should have reached the posteriors"
    assert stored == posteriors_recount()


def test_postgresql_cut_off_events_get_503_and_serving_goes_on(storefront, storefront_key, tmp_path):
    db = connection.settings_dict
    with (
        redis_server(tmp_path) as broker,  # a broker nobody consumes: the enqueue after each batch is dropped
        tcp_proxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))) as proxy,
        web_server(
            _web_env(
                database=database_url(host="127.0.0.1", port=proxy.port),
                redis_url=settings.REDIS_URL,
                broker_url=broker.url(1),
            ),
            tmp_path / "gunicorn.log",
        ) as web,
    ):
        client = HttpStorefront(web, storefront_key)
        before = _page(client, storefront, "warm")
        _post_stored(client, _shopper_events("warm", before))

        proxy.cut()
        during = _shopper_events("down", _page(client, storefront, "down"))
        for _ in range(2):  # the broken pooled connection, then a refused new one
            response = events_post(client, during)
            assert response.status_code == 503, (response.content, web.log_tail())
            assert response.json()["code"] == "database_unavailable"
            assert int(response.headers["Retry-After"]) > 0
        assert not Event.objects.filter(event_id__in=[e["event_id"] for e in during]).exists()
        again = _page(client, storefront, "warm")
        assert [d["variant"] for d in again] == [d["variant"] for d in before], "assignment is sticky"

        proxy.restore()
        _post_stored(client, during)  # the storefront's retry, once the database is back
