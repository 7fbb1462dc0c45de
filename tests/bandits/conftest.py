"""tests/bandits needs no Django: run it with `pytest tests/bandits -p no:django`."""

import pytest


@pytest.fixture(autouse=True)
def _serving_state_fresh():
    """Replaces the Django-side autouse fixture of tests/conftest.py: nothing to reset for pure math."""
    return
