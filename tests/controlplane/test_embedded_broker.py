"""The embedded default runs tasks eagerly and must not talk about a broker it does not have."""

import logging

from django.conf import settings

from controlplane.celery import app


def test_the_embedded_default_names_a_broker_host_so_kombu_does_not_warn(caplog):
    assert settings.CELERY_TASK_ALWAYS_EAGER
    with caplog.at_level(logging.WARNING, logger="kombu"):
        with app.connection_for_write() as connection:
            connection.info()
    assert not [r for r in caplog.records if "hostname" in r.getMessage()]
