import pytest
from django.conf import settings
from django.core.cache import cache

from experiments.services import training
from experiments.tasks import models_retrain_task


def test_the_beat_schedules_the_retrain_daily_by_default():
    entry = settings.CELERY_BEAT_SCHEDULE["models-retrain"]
    assert entry["task"] == "experiments.tasks.models_retrain_task"
    assert entry["schedule"] == settings.RETRAIN_INTERVAL_S == 86_400


def test_a_retrain_while_another_runs_is_skipped_and_the_lock_is_freed_after(monkeypatch):
    runs = []

    def train():
        runs.append("outer")
        assert models_retrain_task.apply().get() is None  # a second run meanwhile skips
        return {"v": "x"}

    monkeypatch.setattr(training, "models_train", train)
    assert models_retrain_task.apply().get() == {"v": "x"}
    assert runs == ["outer"]
    assert cache.get(training.RETRAIN_LOCK_KEY) is None
    assert models_retrain_task.apply().get() == {"v": "x"}


def test_a_failed_retrain_frees_the_lock(monkeypatch):
    def broken():
        raise ValueError("The catalog is empty")

    monkeypatch.setattr(training, "models_train", broken)
    with pytest.raises(ValueError, match="catalog is empty"):
        models_retrain_task.apply()
    assert cache.get(training.RETRAIN_LOCK_KEY) is None
