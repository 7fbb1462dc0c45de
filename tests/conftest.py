"""Shared fixtures. Tests marked ``services`` need PostgreSQL, Redis and a Celery broker.

They are skipped on the embedded default, and ``REQUIRE_SERVICES=1`` (set by .ci/run)
turns that skip into a failure so CI can never pass without really running them.
"""

import os
import uuid

import pytest

SERVICES_ENV = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")


def services_configured() -> bool:
    return all(os.environ.get(name) for name in SERVICES_ENV) and os.environ["DATABASE_URL"].startswith(
        "postgres"
    )


def pytest_configure(config):
    """One Celery queue per test process, so a worker started by one never serves another's tasks."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        from controlplane.celery import app

        app.conf.task_default_queue = f"{app.conf.task_default_queue}-{worker}"


def pytest_runtest_setup(item):
    if item.get_closest_marker("services") is None or services_configured():
        return
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(
            "REQUIRE_SERVICES=1 but DATABASE_URL (PostgreSQL), REDIS_URL or CELERY_BROKER_URL is not set"
        )
    pytest.skip("needs DATABASE_URL (PostgreSQL), REDIS_URL and CELERY_BROKER_URL")


@pytest.fixture(autouse=True)
def _serving_state_fresh(settings, tmp_path):
    """Every test starts with no loaded serving state or models, and a private cache namespace."""
    from django.core.cache import cache

    from experiments.serving.model_store import models_forget
    from experiments.serving.runtime import serving_state_reset

    settings.SERVING_REFRESH_S = 0.0
    settings.SERVING_GC_FREEZE = False  # freezing would keep the test run's garbage; one test turns it on
    settings.MODEL_ROOT = tmp_path / "models"
    serving_state_reset()
    models_forget()
    # A private key namespace per test: parallel test processes share one Redis.
    previous_prefix = cache.key_prefix
    cache.key_prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield
    cache.key_prefix = previous_prefix
    serving_state_reset()
    models_forget()
