"""A NUL character cannot be stored in PostgreSQL text: it rejects that event alone, never the batch."""

from datetime import UTC, datetime

import pytest

from experiments.services.events import events_record


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["event_id", "session_id", "user_id", "item_id", "items"])
def test_nul_character_rejects_only_its_event(field):
    now = datetime.now(UTC)
    good = {
        "event_id": "e-good",
        "type": "view",
        "ts": now.isoformat(),
        "session_id": "s-1",
        "item_id": "p-1",
    }
    bad = {**good, "event_id": "e-bad", field: ["p\x001"] if field == "items" else "x\x00y"}
    result = events_record(events=[bad, good], now=now)
    assert result.accepted == 1
    assert result.rejected == [
        {
            "index": 0,
            "event_id": bad["event_id"],
            "field": field,
            "code": "invalid_item_id" if field == "items" else "invalid_character",
        }
    ]
