"""An accepted batch is committed when the intake returns, in one statement and without a
transaction of its own; inside a caller's transaction it commits (and enqueues) with that one."""

import psycopg
import pytest
from django.db import connection, transaction

from experiments.services import events as events_service
from tests.experiments.storefront_helpers import event
from tests.experiments.worker_process import database_url


def _stored_elsewhere(event_ids: list[str]) -> int:
    """Rows with these ids as another session sees them (only what is committed)."""
    with psycopg.connect(database_url(), autocommit=True) as other:
        return other.execute(
            "SELECT count(*) FROM experiments_event WHERE event_id = ANY(%s)", [event_ids]
        ).fetchone()[0]


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(events_service, "_posterior_update_enqueue", lambda: calls.append(1))
    return calls


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_batch_is_committed_and_enqueued_when_the_intake_returns(enqueued):
    assert connection.vendor == "postgresql"
    batch = [event("view", f"s-commit-{n}", item_id="p-1") for n in range(5)]
    result = events_service.events_record(events=batch)
    assert result.accepted == 5
    assert connection.in_atomic_block is False
    assert _stored_elsewhere([e["event_id"] for e in batch]) == 5
    assert enqueued == [1]
    again = events_service.events_record(events=batch)  # a retried batch: nothing new, no enqueue
    assert (again.accepted, again.duplicates) == (0, 5)
    assert enqueued == [1]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_inside_a_callers_transaction_the_batch_goes_with_it(enqueued):
    batch = [event("view", f"s-outer-{n}", item_id="p-1") for n in range(3)]
    ids = [e["event_id"] for e in batch]
    with transaction.atomic():
        assert events_service.events_record(events=batch).accepted == 3
        assert _stored_elsewhere(ids) == 0
        assert enqueued == []
    assert _stored_elsewhere(ids) == 3
    assert enqueued == [1]
    rolled_back = [event("view", f"s-rollback-{n}", item_id="p-1") for n in range(2)]

    def intake_then_fail() -> None:
        with transaction.atomic():
            events_service.events_record(events=rolled_back)
            raise RuntimeError("the caller fails after the intake")

    with pytest.raises(RuntimeError):
        intake_then_fail()
    assert _stored_elsewhere([e["event_id"] for e in rolled_back]) == 0
    assert enqueued == [1]
