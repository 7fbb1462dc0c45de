"""An item marked unavailable leaves every slot on the next serving refresh and comes back when
available again, through the availability feed, without reloading the state or the models."""

from collections import Counter

import pytest
from django.core.cache import cache

from experiments.models import AvailabilityChange, Item
from experiments.services import item_availability
from experiments.services.item_availability import items_availability_changed
from experiments.serving import state as serving_state
from experiments.serving.availability import AVAILABILITY_VERSION_KEY
from experiments.serving.model_store import catalog_current
from experiments.serving.runtime import serving_state as current_state
from tests.experiments.storefront_helpers import PRODUCT_ID, decisions_for

K = 4
SESSIONS = 12
PRODUCTS = ("p-0", "p-1", "p-2")


def _pages(api, tag: str) -> list[dict]:
    """12 slots for a few sessions on a few product pages."""
    return [
        d
        for n in range(SESSIONS)
        for d in decisions_for(api, session_id=f"{tag}-{n}", context={"product_id": PRODUCTS[n % 3]}, k=K)
    ]


def _served(decisions: list[dict]) -> Counter:
    return Counter(item["item_id"] for d in decisions for item in d["items"])


def _availability_set(item_ids: list[str], available: bool) -> None:
    """As a writer does it; the announcement waits for a commit, which a test's transaction never
    makes, so it is run here (as ``captureOnCommitCallbacks`` would)."""
    from django.test import TestCase

    Item.objects.filter(item_id__in=item_ids).update(available=available)
    with TestCase.captureOnCommitCallbacks(execute=True):
        items_availability_changed(item_ids)


@pytest.fixture
def no_reload(monkeypatch):
    """Call it once the state is loaded: from then on, a reload of the serving state from the
    database fails the request (models are only ever loaded on such a reload)."""

    def refuse(version):
        raise AssertionError("an availability change must not reload the serving state")

    return lambda: monkeypatch.setattr(serving_state, "state_load", refuse)


def _index(item_id: str) -> int:
    state = current_state()
    return catalog_current(state.catalog_version).index_of(item_id)


@pytest.mark.django_db
def test_an_unavailable_item_leaves_every_slot_and_comes_back(api, storefront, no_reload):
    before = _served(_pages(api, "before"))
    no_reload()
    gone = [item for item, _ in before.most_common(5)]  # the bestsellers that fill most slots

    _availability_set(gone, False)
    decisions = _pages(api, "while-out")
    assert not set(gone) & set(_served(decisions))
    assert all(len(d["items"]) == K for d in decisions)  # the slots are still filled

    _availability_set(gone, True)
    assert set(gone) <= set(_served(_pages(api, "back")))


@pytest.mark.django_db
def test_an_unavailable_product_page_serves_the_fallback_for_unknown_product(api, storefront):
    before = decisions_for(api, session_id="s-anchor", k=K)
    assert not any(d["fallback"] for d in before)
    _availability_set([PRODUCT_ID], False)
    decisions = [d for n in range(10) for d in decisions_for(api, session_id=f"s-{n}", k=K)]
    fell_back = [d for d in decisions if d["fallback"]]
    assert fell_back, "the category-scoped arms need the product: they must fall back"
    assert {d["reason"] for d in fell_back} == {"unknown_product"}
    assert PRODUCT_ID not in _served(decisions)


@pytest.mark.django_db
def test_a_change_costs_one_feed_read_and_then_no_sql(
    api, storefront, settings, monkeypatch, django_assert_num_queries
):
    settings.SERVING_REFRESH_S = 60.0
    now = [1_000.0]
    monkeypatch.setattr(serving_state.time, "monotonic", lambda: now[0])
    decisions_for(api, session_id="warm")
    _availability_set(["p-5"], False)
    now[0] += 61.0
    # The version row (or the cache's MGET, which is no query), then the feed's new batches.
    with django_assert_num_queries(2 if not serving_state.cache_shared() else 1):
        decisions_for(api, session_id="after-change")
    with django_assert_num_queries(0):
        decisions_for(api, session_id="hot")
    assert not current_state().availability.mask[_index("p-5")]


@pytest.mark.django_db
def test_a_process_behind_the_kept_feed_rebuilds_its_mask_from_the_items(
    api, storefront, monkeypatch, no_reload
):
    decisions_for(api, session_id="warm")
    no_reload()
    monkeypatch.setattr(item_availability, "AVAILABILITY_FEED_KEEP", 2)
    for item in ("p-7", "p-8", "p-9"):  # no request in between: this process falls behind
        _availability_set([item], False)
    _availability_set(["p-8"], True)
    assert sorted(AvailabilityChange.objects.values_list("version", flat=True)) == [3, 4]
    availability = current_state().availability
    assert [bool(availability.mask[_index(i)]) for i in ("p-7", "p-8", "p-9")] == [False, True, False]
    assert availability.version == 4


@pytest.mark.django_db
def test_a_batch_too_big_to_list_makes_processes_rebuild(api, storefront, monkeypatch, no_reload):
    decisions_for(api, session_id="warm")
    no_reload()
    monkeypatch.setattr(item_availability, "AVAILABILITY_LISTED_MAX", 1)
    _availability_set(["p-3", "p-4"], False)
    assert AvailabilityChange.objects.get().changes is None
    availability = current_state().availability
    assert availability.unavailable == 2
    assert not availability.mask[[_index("p-3"), _index("p-4")]].any()


@pytest.mark.django_db
def test_a_batch_records_the_state_it_reads_not_a_toggle(storefront):
    _availability_set(["p-1"], False)
    items_availability_changed(["p-1", "p-1", "no-such-item"])  # a retry, a duplicate, an unknown id
    assert [c.changes for c in AvailabilityChange.objects.order_by("version")] == [
        {"p-1": False},
        {"p-1": False},
    ]
    items_availability_changed([])
    assert AvailabilityChange.objects.count() == 2


@pytest.mark.django_db
def test_a_flushed_cache_loses_no_availability_change(api, storefront, monkeypatch, no_reload):
    """With a shared cache (here this process's own, standing in for Redis) that loses every key
    after a change was announced, the process reads both versions from the database."""
    monkeypatch.setattr(serving_state, "cache_shared", lambda: True)
    decisions_for(api, session_id="warm")
    no_reload()
    _availability_set(["p-6"], False)
    cache.clear()
    decisions_for(api, session_id="after-flush")
    assert not current_state().availability.mask[_index("p-6")]
    assert cache.get(AVAILABILITY_VERSION_KEY) == current_state().availability.version
