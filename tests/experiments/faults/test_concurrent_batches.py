"""The same batch posted by 8 clients at once: each event is stored once and reported accepted once."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from experiments.models import Event
from tests.experiments.storefront_helpers import decisions_for, event


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_eight_clients_posting_one_batch_store_each_event_once(storefront, storefront_key, api, monkeypatch):
    from experiments.services import events as events_service

    monkeypatch.setattr(events_service, "_posterior_update_enqueue", lambda: None)
    assert connection.vendor == "postgresql"
    batch = []
    for n in range(40):
        decision = decisions_for(api, session_id=f"c-{n}", slots=["pdp_similar"])[0]
        batch.append(event("impression", f"c-{n}", decision_id=decision["decision_id"]))
        batch.append(
            event(
                "click",
                f"c-{n}",
                decision_id=decision["decision_id"],
                item_id=decision["items"][0]["item_id"],
            )
        )
    results, barrier = [], threading.Barrier(8)

    def client():
        try:
            http = APIClient()
            http.credentials(HTTP_AUTHORIZATION=f"Api-Key {storefront_key}")
            barrier.wait()
            results.append(http.post("/api/v1/events", {"events": batch}, format="json").json())
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert sum(r["accepted"] for r in results) == len(batch)
    assert all(r["accepted"] + r["duplicates"] == len(batch) for r in results)
    assert Event.objects.filter(event_id__in=[e["event_id"] for e in batch]).count() == len(batch)
