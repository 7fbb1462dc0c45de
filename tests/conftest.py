"""Shared fixtures. Tests marked ``services`` need PostgreSQL, Redis and a Celery broker.

They are skipped on the embedded default, and ``REQUIRE_SERVICES=1`` (set by .ci/run)
turns that skip into a failure so CI can never pass without really running them.
"""

import os

import pytest

SERVICES_ENV = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")


def services_configured() -> bool:
    return all(os.environ.get(name) for name in SERVICES_ENV) and os.environ["DATABASE_URL"].startswith("postgres")


def pytest_runtest_setup(item):
    if item.get_closest_marker("services") is None or services_configured():
        return
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail("REQUIRE_SERVICES=1 but DATABASE_URL (PostgreSQL), REDIS_URL or CELERY_BROKER_URL is not set")
    pytest.skip("needs DATABASE_URL (PostgreSQL), REDIS_URL and CELERY_BROKER_URL")


@pytest.fixture(autouse=True)
def _serving_state_fresh(settings, tmp_path):
    """Every test starts with no loaded serving state or models, and a private cache namespace."""
    from django.core.cache import cache

    from experiments.serving.model_store import models_forget
    from experiments.serving.runtime import serving_state_reset

    settings.SERVING_REFRESH_S = 0.0
    settings.MODEL_ROOT = tmp_path / "models"
    serving_state_reset()
    models_forget()
    try:
        cache.clear()
    except Exception:  # a test that stops the cache on purpose restores it itself
        pass
    yield
    serving_state_reset()
    models_forget()
