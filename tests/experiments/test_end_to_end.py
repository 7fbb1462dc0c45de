"""Storefront -> events -> posteriors, end to end: eagerly in-process, and with a real Celery worker."""

import time

import pytest
from django.db import connection
from django.db.models import Sum

from controlplane.celery import app as celery_app
from experiments.models import Event, Experiment, Exposure, Posterior, PosteriorEpoch, PosteriorSnapshot
from experiments.models.experiments import Status
from experiments.selectors.posterior_recount import posteriors_recount, posteriors_stored
from tests.experiments.storefront_helpers import traffic_post


def _mismatch_report(stored: dict, recount: dict) -> str:
    """The arms whose stored posterior differs from the recount, with their exposures and the
    events of those sessions in ledger order: what it takes to tell why, from a CI log."""
    lines = []
    for arm_id in sorted(set(stored) | set(recount)):
        if stored.get(arm_id) == recount.get(arm_id):
            continue
        lines.append(f"arm {arm_id}: stored {stored.get(arm_id)} recount {recount.get(arm_id)}")
        exposures = list(Exposure.objects.filter(arm_id=arm_id).order_by("first_event_id"))
        for x in exposures:
            lines.append(
                f"  exposure {x.decision_key} first_event={x.first_event_id} session={x.session_id} "
                f"served_at={x.served_at.isoformat()} items={x.items} clicked={x.clicked} "
                f"cart={x.added_to_cart} purchased={x.purchased}"
            )
        sessions = {x.session_id for x in exposures}
        for e in Event.objects.filter(session_id__in=sessions).order_by("id"):
            lines.append(
                f"  event {e.id} {e.type} session={e.session_id} ts={e.ts.isoformat()} item={e.item_id} "
                f"decision={e.decision_key or '-'} received={e.received_at.isoformat()} "
                f"applied={e.applied_at.isoformat() if e.applied_at else None}"
            )
    return "\n".join(lines)


def _assert_posteriors_match_ledger() -> None:
    stored, recount = posteriors_stored(), posteriors_recount()
    assert stored == recount, _mismatch_report(stored, recount)
    assert sum(v["trials"] for v in stored.values()) > 0
    assert sum(v["clicks"] for v in stored.values()) > 0
    for posterior in Posterior.objects.all():
        epochs = PosteriorEpoch.objects.filter(arm_id=posterior.arm_id).aggregate(
            t=Sum("trials"), c=Sum("clicks")
        )
        assert (epochs["t"] or 0, epochs["c"] or 0) == (posterior.trials, posterior.clicks)


@pytest.fixture
def eager_tasks():
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.mark.django_db(transaction=True)
def test_end_to_end_in_process(api, storefront, rng, eager_tasks):
    traffic_post(api, storefront.catalog, rng, sessions=25)
    assert not Event.objects.filter(applied_at__isnull=True).exists()
    _assert_posteriors_match_ledger()


def _wait_until_applied(proc, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"worker died: {proc.stdout.read().decode()[-3000:]}")
        if not Event.objects.filter(applied_at__isnull=True).exists():
            return
        time.sleep(0.2)
    raise AssertionError("the worker did not apply the events in time")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_end_to_end_with_a_real_worker(api, storefront, rng, celery_worker_process, settings):
    assert not settings.CELERY_TASK_ALWAYS_EAGER
    assert connection.vendor == "postgresql"
    traffic_post(api, storefront.catalog, rng, sessions=25)
    _wait_until_applied(celery_worker_process)
    assert Posterior.objects.filter(trials__gt=0).exists()
    _assert_posteriors_match_ledger()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_every_beat_task_is_sent_through_the_broker_and_run_by_the_worker(
    api, storefront, rng, celery_worker_process, settings
):
    """What the beat does, on the real broker: a task Celery refuses to send (e.g. a hard time
    limit under the global soft one) would be logged by the beat and never run."""
    traffic_post(api, storefront.catalog, rng, sessions=10)
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        celery_app.tasks[entry["task"]].apply_async(**entry.get("options", {}))
    running = set(Experiment.objects.filter(status=Status.RUNNING).values_list("id", flat=True))
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert celery_worker_process.poll() is None, celery_worker_process.stdout.read().decode()[-3000:]
        snapshotted = set(PosteriorSnapshot.objects.values_list("experiment_id", flat=True))
        if running and snapshotted >= running:
            break
        time.sleep(0.2)
    assert running
    assert snapshotted >= running, "the allocation recompute did not run for every running experiment"
    _wait_until_applied(celery_worker_process)
    _assert_posteriors_match_ledger()
