"""When the cache (Redis in services mode) is flushed or down, serving goes on and events are kept."""

import pytest
from django.core.cache import cache

from experiments.models import Event
from experiments.serving import session_store
from experiments.serving.state import SERVING_VERSION_KEY, cache_shared
from tests.experiments.storefront_helpers import decisions_for, event, events_post


class _Down:
    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("cache is down")

        return fail


@pytest.mark.django_db
def test_a_flushed_cache_only_makes_the_state_reload_from_the_database(api, storefront):
    first = {d["slot"]: d["variant"] for d in decisions_for(api, session_id="flush")}
    # What FLUSHALL does to us, without flushing the Redis that parallel test processes share.
    cache.delete_many([SERVING_VERSION_KEY, session_store._key("flush")])
    again = {d["slot"]: d["variant"] for d in decisions_for(api, session_id="flush")}
    assert again == first


@pytest.mark.django_db
def test_assignments_keep_answering_from_memory_while_the_cache_is_down(
    api, storefront, settings, monkeypatch, django_assert_num_queries
):
    if not cache_shared():  # the embedded default reads the version row once per refresh interval
        settings.SERVING_REFRESH_S = 60.0
    decisions_for(api, session_id="warm")  # state loaded while everything is up
    monkeypatch.setattr("experiments.serving.state.cache", _Down())
    monkeypatch.setattr(session_store, "_get_one", _Down().get_one)
    monkeypatch.setattr(session_store, "_get_many", _Down().get_many)
    with django_assert_num_queries(0):
        decisions = decisions_for(api, session_id="down")
    assert len(decisions) == 12
    assert all(d["items"] and not d["fallback"] for d in decisions)


@pytest.mark.django_db
def test_events_are_stored_while_the_session_store_is_down(api, storefront, monkeypatch):
    monkeypatch.setattr(session_store, "_get_many", _Down().get_many)
    monkeypatch.setattr(session_store, "_set_many", _Down().set_many)
    view = event("view", item_id=str(storefront.catalog.item_ids[0]), dwell_ms=1000)
    response = events_post(api, [view])
    assert response.status_code == 202
    assert response.json()["accepted"] == 1
    assert Event.objects.filter(event_id=view["event_id"]).exists()
