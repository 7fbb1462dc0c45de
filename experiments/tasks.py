"""Celery tasks: thin wrappers that call one service each and are safe to run twice."""

from celery import shared_task
from django.db import OperationalError

from experiments.services.allocations import allocations_recompute
from experiments.services.posteriors import posteriors_update


@shared_task(
    acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, time_limit=300,
    soft_time_limit=240,
)
def posteriors_update_task() -> int:
    """Apply unapplied ledger events; concurrent runs split the work by row locks."""
    return posteriors_update()


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3, time_limit=120)
def allocations_recompute_task() -> int:
    """Fold the latest events first so the new weights see them, then recompute every running experiment."""
    posteriors_update()
    return allocations_recompute()
