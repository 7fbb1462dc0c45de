"""SIGKILL the Celery worker halfway through applying a large replay; a new worker finishes it exactly."""

import signal
import time
from datetime import UTC, datetime

import numpy as np
import pytest
from django.db import connection

from experiments.models import Event
from experiments.selectors.posterior_recount import posteriors_recount, posteriors_stored
from experiments.services import events as events_service
from experiments.services.events import events_record
from experiments.tasks import posteriors_update_task
from tests.experiments.storefront_helpers import decisions_for
from tests.experiments.worker_process import worker_start, worker_stop

REPLAY_EVENTS = 100_000


def _replay(api, rng, n_events: int) -> int:
    """Decisions from the real API, then impressions and clicks on them, stored without enqueuing."""
    now = datetime.now(UTC).isoformat()
    stored, page = 0, 0
    while stored < n_events:
        session = f"kill-{page}"
        batch = []
        for decision in decisions_for(api, session_id=session, k=4):
            batch.append(
                {
                    "event_id": f"{session}-{decision['slot']}-i",
                    "type": "impression",
                    "ts": now,
                    "session_id": session,
                    "decision_id": decision["decision_id"],
                }
            )
            for n, item in enumerate(decision["items"]):
                for repeat in range(int(rng.integers(0, 8))):
                    batch.append(
                        {
                            "event_id": f"{session}-{decision['slot']}-c{n}-{repeat}",
                            "type": "click",
                            "ts": now,
                            "session_id": session,
                            "decision_id": decision["decision_id"],
                            "item_id": item["item_id"],
                        }
                    )
        for start in range(0, len(batch), 1000):
            stored += events_record(events=batch[start : start + 1000]).accepted
        page += 1
    return stored


def _applied() -> int:
    return Event.objects.filter(applied_at__isnull=False, event_id__startswith="kill-").count()


def _wait(predicate, timeout_s: float, proc) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(f"worker exited: {proc.stdout.read().decode()[-2000:]}")
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.mark.services
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_replay_loses_and_doubles_nothing(api, storefront, monkeypatch):
    assert connection.vendor == "postgresql"
    monkeypatch.setattr(events_service, "_posterior_update_enqueue", lambda: None)
    total = _replay(api, np.random.default_rng(3), REPLAY_EVENTS)
    assert total >= REPLAY_EVENTS

    first = worker_start(concurrency=1)
    posteriors_update_task.delay()
    _wait(lambda: _applied() > 0, 120, first)
    worker_stop(first, signal.SIGKILL)  # mid-replay: some batches committed, one in flight
    applied_at_kill = _applied()
    assert 0 < applied_at_kill < total, "the kill should land in the middle of the replay"

    second = worker_start(concurrency=2)
    try:
        posteriors_update_task.delay()  # what the beat's sweep does every POSTERIOR_SWEEP_INTERVAL_S
        _wait(lambda: _applied() == total, 300, second)
    finally:
        worker_stop(second)
    assert posteriors_stored() == posteriors_recount()
