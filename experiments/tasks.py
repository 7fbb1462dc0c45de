"""Celery tasks: thin wrappers that call one service each and are safe to run twice."""

from celery import shared_task
from django.db import OperationalError

from experiments.services.allocations import allocations_recompute
from experiments.services.posteriors import posteriors_update

WAITING_RETRY_S = 1


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    time_limit=300,
    soft_time_limit=240,
)
def posteriors_update_task(self) -> int:
    """Apply unapplied ledger events; concurrent runs split the work by row locks."""
    result = posteriors_update()
    if result.waiting and not self.request.is_eager:
        # Events stored after a transaction that is still open wait for it to end, and nothing
        # else may enqueue a run then (a seed, say, stores no events): look again shortly.
        posteriors_update_task.apply_async(countdown=WAITING_RETRY_S)
    return result.applied


# Both limits, always: a task's hard limit under the global soft limit (CELERY_TASK_SOFT_TIME_LIMIT)
# makes Celery refuse to send it at all, and the beat would log the error and never recompute.
@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    time_limit=120,
    soft_time_limit=100,
)
def allocations_recompute_task() -> int:
    """Fold the latest events first so the new weights see them, then recompute every running experiment."""
    posteriors_update()
    return allocations_recompute()


@shared_task(acks_late=True, time_limit=3_600, soft_time_limit=3_300)
def models_train_task(algorithms: list[str] | None = None) -> dict[str, str]:
    """Retrain on the stored interactions (e.g. nightly from beat); new immutable versions each time."""
    from experiments.services.training import models_train

    return models_train(algorithms=algorithms)


@shared_task(acks_late=True, time_limit=2 * 3_600, soft_time_limit=2 * 3_600 - 300)
def models_retrain_task() -> dict[str, str] | None:
    """The scheduled retrain (beat, every RETRAIN_INTERVAL_S); a second run while one is going skips."""
    from experiments.services.training import models_retrain

    return models_retrain()
