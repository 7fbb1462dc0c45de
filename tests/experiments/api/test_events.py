from datetime import UTC, datetime, timedelta

import orjson
import pytest
import time_machine

from experiments.models import Event
from experiments.serving.decision_tokens import _b64, _unb64
from tests.experiments.storefront_helpers import decisions_for, event, events_post


@pytest.mark.django_db
def test_a_resent_batch_is_counted_once(api, storefront):
    decision = decisions_for(api, slots=["pdp_similar"])[0]
    batch = [
        event("impression", decision_id=decision["decision_id"]),
        event("click", decision_id=decision["decision_id"], item_id=decision["items"][0]["item_id"]),
    ]
    first = events_post(api, batch)
    assert first.status_code == 202
    assert first.json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    again = events_post(api, batch)
    assert again.json() == {"accepted": 0, "duplicates": 2, "rejected": []}
    assert Event.objects.filter(event_id__in=[e["event_id"] for e in batch]).count() == 2


@pytest.mark.django_db
def test_a_duplicate_inside_one_batch_is_counted_once(api, storefront):
    view = event("view", item_id=str(storefront.catalog.item_ids[0]))
    body = events_post(api, [view, dict(view)]).json()
    assert (body["accepted"], body["duplicates"]) == (1, 1)


@pytest.mark.django_db
def test_one_malformed_event_is_reported_and_the_rest_are_stored(api, storefront):
    item = str(storefront.catalog.item_ids[0])
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    batch = [
        event("view", item_id=item),
        event("view", item_id=item),
        event("teleport", item_id=item),
        event("view", item_id=item, ts=future),
        event("view", item_id=item, dwell_ms=-1),
        "not an object",
    ]
    body = events_post(api, batch).json()
    assert body["accepted"] == 2
    assert body["rejected"] == [
        {"index": 2, "event_id": batch[2]["event_id"], "field": "type", "code": "invalid_choice"},
        {"index": 3, "event_id": batch[3]["event_id"], "field": "ts", "code": "in_future"},
        {"index": 4, "event_id": batch[4]["event_id"], "field": "dwell_ms", "code": "out_of_range"},
        {"index": 5, "event_id": None, "field": "event", "code": "not_an_object"},
    ]
    assert Event.objects.filter(event_id__in=[batch[0]["event_id"], batch[1]["event_id"]]).count() == 2


@pytest.mark.django_db
def test_a_tampered_decision_id_is_rejected(api, storefront):
    decision = decisions_for(api, slots=["pdp_similar"])[0]
    body, tag = decision["decision_id"].split(".")
    altered = ("A" if body[5] != "A" else "B").join([body[:5], body[6:]]) + "." + tag
    forged = body + "." + "A" * len(tag)
    batch = [
        event("impression", decision_id=altered),
        event("impression", decision_id=forged),
        event("impression", decision_id="garbage"),
    ]
    result = events_post(api, batch).json()
    assert result["accepted"] == 0
    assert [r["code"] for r in result["rejected"]] == ["invalid_signature"] * 3


@pytest.mark.django_db
def test_a_decision_cannot_be_moved_to_another_experiment_or_arm(api, storefront):
    """Rewriting a genuine token's experiment or arm to another running experiment's keeps the
    genuine tag, and is refused: an outcome is only ever credited where it was served."""
    first, second = decisions_for(api, slots=["pdp_similar", "pdp_bought_together"])
    body, tag = first["decision_id"].split(".")
    other_body = second["decision_id"].split(".")[0]
    fields = orjson.loads(_unb64(body))
    other = orjson.loads(_unb64(other_body))
    assert fields[2] != other[2]  # two different experiments
    moved_experiment = [*fields[:2], other[2], other[3], *fields[4:]]
    moved_arm = [*fields[:3], fields[3] + 1, *fields[4:]]
    batch = [
        event("click", decision_id=_token(moved, tag), item_id=first["items"][0]["item_id"])
        for moved in (moved_experiment, moved_arm)
    ]
    result = events_post(api, batch).json()
    assert result["accepted"] == 0
    assert [r["code"] for r in result["rejected"]] == ["invalid_signature"] * 2
    genuine = event("click", decision_id=first["decision_id"], item_id=first["items"][0]["item_id"])
    assert events_post(api, [genuine]).json()["accepted"] == 1


def _token(fields: list, tag: str) -> str:
    return _b64(orjson.dumps(fields)) + "." + tag


@pytest.mark.django_db
def test_a_decision_cannot_be_replayed_from_another_session(api, storefront):
    decision = decisions_for(api, session_id="s-1", slots=["pdp_similar"])[0]
    result = events_post(
        api, [event("impression", session_id="s-2", decision_id=decision["decision_id"])]
    ).json()
    assert result["rejected"][0]["code"] == "session_mismatch"


@pytest.mark.django_db
def test_a_click_on_an_item_the_decision_did_not_show_is_rejected(api, storefront):
    decision = decisions_for(api, slots=["pdp_similar"])[0]
    shown = {i["item_id"] for i in decision["items"]}
    other = next(str(i) for i in storefront.catalog.item_ids if str(i) not in shown)
    result = events_post(api, [event("click", decision_id=decision["decision_id"], item_id=other)]).json()
    assert result["rejected"][0] == {
        "index": 0,
        "event_id": result["rejected"][0]["event_id"],
        "field": "item_id",
        "code": "not_in_decision",
    }


@pytest.mark.django_db
def test_batch_limits_are_enforced_whole(api, storefront):
    too_many = events_post(api, [event("view", item_id="p-1") for _ in range(1001)])
    assert too_many.status_code == 413
    assert too_many.json()["code"] == "too_many_events"
    huge = api.post(
        "/api/v1/events", data=b'{"events": [' + b" " * 1_100_000 + b"]}", content_type="application/json"
    )
    assert huge.status_code == 413
    assert huge.json()["code"] == "payload_too_large"
    assert Event.objects.filter(event_id__startswith="e-").count() == 0


@pytest.mark.django_db
def test_events_update_the_sessions_signals(api, storefront):
    from experiments.serving.session_store import signals_read

    a, b = str(storefront.catalog.item_ids[1]), str(storefront.catalog.item_ids[2])
    events_post(
        api,
        [
            event("view", item_id=a, dwell_ms=40_000),
            event("add_to_cart", item_id=b),
            event("add_to_cart", item_id=a),
            event("remove_from_cart", item_id=b),
        ],
    )
    signals = signals_read("s-1")
    assert signals["viewed"] == [[a, 40_000.0]]
    assert signals["cart"] == [a]
    assert signals["removed"] == [b]


@pytest.mark.django_db
def test_a_database_outage_is_a_503_with_retry_after_never_a_silent_202(api, storefront, monkeypatch):
    from django.db import OperationalError

    from experiments.services import events as events_service

    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(events_service, "insert_new_returning", down)
    response = events_post(api, [event("view", item_id=str(storefront.catalog.item_ids[0]))])
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "database_unavailable"


@pytest.mark.django_db
def test_a_late_click_inside_the_attribution_window_still_counts(api, storefront, settings):
    from experiments.models import Posterior
    from experiments.services.posteriors import posteriors_update

    decision = decisions_for(api, slots=["pdp_similar"])[0]
    late = (datetime.now(UTC) + timedelta(seconds=settings.ATTRIBUTION_WINDOW_S - 3600)).isoformat()
    item = decision["items"][0]["item_id"]
    events_post(api, [event("impression", decision_id=decision["decision_id"])])
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=settings.ATTRIBUTION_WINDOW_S - 3590)):
        body = events_post(
            api, [event("click", decision_id=decision["decision_id"], item_id=item, ts=late)]
        ).json()
    assert body["accepted"] == 1
    posteriors_update()
    assert sum(Posterior.objects.values_list("clicks", flat=True)) == 1
