"""``PUT /api/v1/items``: batches of item upserts, each item judged alone."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from experiments.models import Item
from tests.factories import ItemFactory

NEW = {"item_id": "n-1", "title": "New lamp", "price": 30, "category": "Home > Lighting", "currency": "EUR"}


def items_put(api, items, **extra):
    return api.put("/api/v1/items", {"items": items, **extra}, format="json")


@pytest.fixture
def changes(monkeypatch):
    calls: list[list[str]] = []
    monkeypatch.setattr(
        "experiments.services.item_upserts.items_availability_changed", lambda ids: calls.append(sorted(ids))
    )
    return calls


@pytest.mark.django_db(transaction=True)
def test_a_partial_upsert_changes_only_the_fields_it_carries(api, changes):
    ItemFactory(item_id="p-1", title="Kettle", price=20, brand="Acme", available=True)
    response = items_put(api, [{"item_id": "p-1", "available": False}, {"item_id": "p-1x", "price": 1}])
    assert response.status_code == 200
    assert response.json() == {
        "accepted": 1,
        "unchanged": 0,
        "rejected": [{"index": 1, "item_id": "p-1x", "field": "title", "code": "missing_field"}],
    }
    item = Item.objects.get(item_id="p-1")
    assert (item.available, item.title, item.brand, item.price) == (False, "Kettle", "Acme", Decimal("20.00"))
    assert changes == [["p-1"]]
    again = items_put(api, [{"item_id": "p-1", "available": False}])
    assert again.json() == {"accepted": 0, "unchanged": 1, "rejected": []}
    assert changes == [["p-1"]]  # a retried batch tells serving nothing new
    assert not Item.objects.filter(item_id="p-1x").exists()


@pytest.mark.django_db
def test_a_new_item_needs_the_required_fields_and_one_bad_item_loses_nothing(api):
    batch = [
        NEW,
        {"item_id": "n-2", "price": 5},
        {"item_id": "n-3", "title": "T", "price": "cheap"},
        {"item_id": "n-4", "title": "T", "price": 1, "colour": "red"},
        {"item_id": "n-5", "title": "T", "price": 1, "currency": "euros"},
        {"item_id": "n-6", "title": "T", "price": 1, "created_at": "soon"},
        {"item_id": "n-7", "title": "T", "price": 1, "available": "no"},
        {"title": "no id", "price": 1},
        {**NEW, "title": "Same id again"},
        "not an object",
    ]
    body = items_put(api, batch).json()
    assert body["accepted"] == 1
    assert [(r["index"], r["item_id"], r["field"], r["code"]) for r in body["rejected"]] == [
        (1, "n-2", "title", "missing_field"),
        (2, "n-3", "price", "not_a_number"),
        (3, "n-4", "colour", "unknown_field"),
        (4, "n-5", "currency", "bad_currency"),
        (5, "n-6", "created_at", "bad_timestamp"),
        (6, "n-7", "available", "invalid_type"),
        (7, None, "item_id", "missing_field"),
        (8, "n-1", "item_id", "duplicate_id"),
        (9, None, "item", "invalid_type"),
    ]
    item = Item.objects.get(item_id="n-1")
    assert (item.title, item.currency, item.category, item.available) == (
        "New lamp",
        "EUR",
        "Home > Lighting",
        True,
    )
    assert list(Item.objects.values_list("item_id", flat=True)) == ["n-1"]


@pytest.mark.django_db
def test_batch_limits_and_bad_bodies_are_refused_whole(api):
    too_many = items_put(api, [{**NEW, "item_id": f"n-{i}"} for i in range(1001)])
    assert (too_many.status_code, too_many.json()["code"]) == (413, "too_many_items")
    huge = api.put(
        "/api/v1/items", data=b'{"items": [' + b" " * 1_100_000 + b"]}", content_type="application/json"
    )
    assert (huge.status_code, huge.json()["code"]) == (413, "payload_too_large")
    broken = api.put("/api/v1/items", data=b'{"items": [', content_type="application/json")
    assert (broken.status_code, broken.json()["code"]) == (400, "malformed_json")
    not_list = items_put(api, {"item_id": "x"})
    assert (not_list.status_code, not_list.json()["code"]) == (400, "invalid_field")
    assert not Item.objects.exists()


@pytest.mark.django_db
def test_a_batch_without_a_key_is_refused(storefront_key):
    response = APIClient().put("/api/v1/items", {"items": [NEW]}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Api-Key nope.nope")
    assert wrong.put("/api/v1/items", {"items": [NEW]}, format="json").status_code == 401
    assert not Item.objects.exists()


@pytest.mark.django_db
def test_a_database_error_answers_503_with_retry_after(api, monkeypatch):
    from django.db import OperationalError

    def broken(**kwargs):
        raise OperationalError("server closed the connection")

    monkeypatch.setattr("experiments.api.storefront_views.items_record", broken)
    response = items_put(api, [NEW])
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
    assert response["Retry-After"] == "5"


@pytest.mark.django_db
def test_the_schema_describes_the_items_endpoint(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/items"]["put"]
    assert set(operation["responses"]) >= {"200", "400", "401", "413", "503"}
    assert schema["components"]["schemas"]["CatalogItem"]["additionalProperties"] is False


@pytest.mark.django_db
def test_only_put_upserts(api):
    assert api.post("/api/v1/items", {"items": [NEW]}, format="json").status_code == 405
    assert not Item.objects.exists()


@pytest.mark.django_db
def test_text_that_postgresql_cannot_store_or_an_empty_title_is_rejected(api):
    batch = [
        {"item_id": "z-1", "title": "", "price": 1},
        {"item_id": "z-2", "title": "T", "price": 1, "attributes": {"k": "a\x00b"}},
        {"item_id": "z-3", "title": "T\x00", "price": 1},
        {"item_id": "z-4", "title": "T", "price": 1, "brand": ""},
    ]
    body = items_put(api, batch).json()
    assert [(r["item_id"], r["field"], r["code"]) for r in body["rejected"]] == [
        ("z-1", "title", "missing_field"),
        ("z-2", "attributes", "invalid_character"),
        ("z-3", "title", "invalid_character"),
    ]
    assert body["accepted"] == 1
