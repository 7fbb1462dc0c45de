"""A click winner that loses revenue, on the real stack: gunicorn serving the REST API, PostgreSQL,
Redis, and a Celery worker that applies the events and runs the allocation recompute."""

import math
import os
import signal
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from controlplane.celery import app as celery_app
from experiments.models import Arm, Event, Experiment, PosteriorSnapshot, Slot
from experiments.models.experiments import Status
from experiments.tasks import allocations_recompute_task
from tests.experiments.faults.service_processes import HttpStorefront, web_server
from tests.experiments.guardrail_helpers import revenue_guardrail_add
from tests.experiments.storefront_helpers import decisions_for, event, events_post
from tests.experiments.worker_process import database_url, worker_start, worker_stop

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

SLOT = "pdp_similar"
EXPERIMENT = "pdp-similar-test"
# B clicks 2.5 times as often as A; both sell on 80% of impressions, B's orders are 20% smaller.
# With ~380 impressions per arm the revenue per impression is known to ~3% (one standard error)
# per arm, so a 20% drop clears the 5% tolerance at P >= 0.95 in all but ~0.3% of runs, while the
# click difference (about 5 standard errors) alone meets the stopping rule, so auto-conclude would
# ship B. The salt is pinned, so the arms, and with the seed the whole run, are reproducible.
CLICK_RATE = {"A": 0.08, "B": 0.20}
PURCHASE_RATE = 0.8
ORDER_VALUE = {"A": 50.0, "B": 40.0}
ORDER_VALUE_LOG_SD = 0.2
SESSIONS = 800
HELD_SESSIONS = 600
BATCH_EVENTS = 900
WAIT_S = 120.0


def _web_env() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_QUEUE": celery_app.conf.task_default_queue,
        "CACHE_KEY_PREFIX": cache.key_prefix,
        "MODEL_ROOT": str(settings.MODEL_ROOT),
        "OPENBLAS_NUM_THREADS": "1",
    }


def _shoppers(client, product: str, rng, sessions: int, prefix: str) -> tuple[list[dict], list[dict]]:
    """One product page per session through the REST API; the events each shopper sends back.

    Returns the experiment's decisions (the global holdout's are left out) and all the events.
    """
    now = datetime.now(UTC)
    decisions, events = [], []
    for n in range(sessions):
        session_id = f"{prefix}-{n}"
        (decision,) = decisions_for(
            client, session_id=session_id, slots=[SLOT], context={"product_id": product}
        )
        arm = "A" if decision["variant"].endswith("legacy") else "B"
        if decision["experiment"] == EXPERIMENT:
            decisions.append({**decision, "arm": arm})
        ts = lambda s: (now - timedelta(seconds=s)).isoformat()  # noqa: E731
        events.append(event("impression", session_id, decision_id=decision["decision_id"], ts=ts(30)))
        item = decision["items"][0]["item_id"]
        if rng.random() < CLICK_RATE[arm]:
            events.append(
                event("click", session_id, decision_id=decision["decision_id"], item_id=item, ts=ts(20))
            )
        if rng.random() < PURCHASE_RATE:
            value = ORDER_VALUE[arm] * math.exp(ORDER_VALUE_LOG_SD * rng.standard_normal())
            events.append(event("purchase", session_id, items=[item], value=round(value, 2), ts=ts(10)))
    return decisions, events


def _post(client, events: list[dict]) -> None:
    for start in range(0, len(events), BATCH_EVENTS):
        response = events_post(client, events[start : start + BATCH_EVENTS])
        assert response.status_code == 202, response.content
        assert not response.json()["rejected"], response.content


def _wait(ready, what: str, worker) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        assert worker.poll() is None, worker.stdout.read().decode()[-3000:]
        if ready():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {WAIT_S:.0f} s")


def _recompute(experiment: Experiment, worker) -> PosteriorSnapshot:
    """The beat's allocation task, sent through the broker and run by the worker."""
    _wait(lambda: not Event.objects.filter(applied_at__isnull=True).exists(), "applying the events", worker)
    version = Experiment.objects.get(pk=experiment.pk).allocation_version
    allocations_recompute_task.apply_async()
    _wait(
        lambda: Experiment.objects.get(pk=experiment.pk).allocation_version > version,
        "the allocation recompute",
        worker,
    )
    return PosteriorSnapshot.objects.filter(experiment=experiment).latest("allocation_version")


def test_an_arm_with_better_clicks_and_20_percent_worse_revenue_is_held_at_the_floor_and_not_promoted(
    storefront, storefront_key, tmp_path
):
    assert connection.vendor == "postgresql"
    experiment = Experiment.objects.get(key=EXPERIMENT)
    Experiment.objects.filter(pk=experiment.pk).update(auto_conclude=True, salt="guardrail-e2e")
    revenue_guardrail_add(experiment)
    default_before = Slot.objects.get(key=SLOT).serving_default
    rng = np.random.default_rng(20261206)
    # The worker announces the new serving version in this test's cache namespace, where the web looks.
    worker = worker_start(concurrency=1, env={"CACHE_KEY_PREFIX": cache.key_prefix})
    try:
        with web_server(_web_env(), tmp_path / "gunicorn.log") as web:
            client = HttpStorefront(web, storefront_key)
            product = str(storefront.catalog.item_ids[0])
            served, events = _shoppers(client, product, rng, SESSIONS, "even")
            share_b = sum(d["arm"] == "B" for d in served) / len(served)
            assert abs(share_b - 0.5) < 3 * math.sqrt(0.25 / len(served))
            _post(client, events)
            snapshot = _recompute(experiment, worker)

            arms = {a.key: a for a in Arm.objects.filter(experiment=experiment)}
            floor_share = experiment.exploration_floor / 2
            assert arms["B"].guardrail_breach["metric"] == "revenue", snapshot.arms
            assert arms["B"].guardrail_breach["prob_worse"] >= 0.95
            assert arms["A"].guardrail_breached_at is None
            assert arms["B"].weight == pytest.approx(floor_share)
            # The clicks alone met the stopping rule: without the guardrail B would have shipped.
            assert snapshot.stopping["stop"] is True
            assert snapshot.stopping["winner"] == "B"
            assert snapshot.stopping["guardrail_breached"] is True

            # The web process picks the held weights up; B's decisions are served at the floor share.
            time.sleep(settings.SERVING_REFRESH_S + 0.5)
            held, _ = _shoppers(client, product, rng, HELD_SESSIONS, "held")
            b_decisions = [d for d in held if d["arm"] == "B"]
            sd = math.sqrt(floor_share * (1 - floor_share) / len(held))
            assert abs(len(b_decisions) / len(held) - floor_share) < 3 * sd
            assert all(d["propensity"] == pytest.approx(floor_share) for d in b_decisions)

            _recompute(experiment, worker)  # another look: still held, still not promoted
    finally:
        worker_stop(worker, signal.SIGTERM)
    experiment.refresh_from_db()
    assert experiment.status == Status.RUNNING
    assert experiment.winner is None
    assert Slot.objects.get(key=SLOT).serving_default == default_before
    assert Arm.objects.get(experiment=experiment, key="B").weight == pytest.approx(floor_share)
    history = experiment.history.exclude(history_change_reason=None).values_list(
        "history_change_reason", flat=True
    )
    assert any(reason.startswith("Guardrail breached: B on revenue") for reason in history)
