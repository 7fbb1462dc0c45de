import pytest

from experiments.services import events as events_service


@pytest.fixture
def no_enqueue(monkeypatch):
    """Leave posted events unapplied so the test decides who applies them."""
    monkeypatch.setattr(events_service, "_posterior_update_enqueue", lambda: None)
