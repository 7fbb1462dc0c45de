"""Celery app; configuration comes from Django settings (``CELERY_*``)."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.settings")

app = Celery("controlplane")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def database_connections_tidy(task=None, **kwargs) -> None:
    """Around a worker's task, what Django does around a request: drop a database connection
    that broke or outlived ``CONN_MAX_AGE``, and health-check the kept one at its next use.

    ``CELERY_DB_REUSE_MAX`` stops Celery's own fixup from closing every connection around
    every task; without this handler a connection PostgreSQL dropped (a restart, a failover)
    would fail every task until the fixup's next forced close.
    """
    if task is None or getattr(task.request, "is_eager", False):
        return  # in-process (tests, the embedded default): the caller owns the connection
    from django.db import close_old_connections

    close_old_connections()
