"""The storefront API refuses bad input loudly: wrong types, unknown pages, unknown event fields,
a purchase without its value, and answers every error under /api/ as JSON with a code."""

import pytest

from experiments.models import Event
from tests.experiments.storefront_helpers import event, events_post


def _assign(api, body):
    return api.post("/api/v1/assignments", body, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"context": {"cart": {}}}, "context.cart"),
        ({"context": {"cart": "p-1"}}, "context.cart"),
        ({"context": {"cart": [1]}}, "context.cart"),
        ({"context": {"cart": [""]}}, "context.cart"),
        ({"context": {"device": 5}}, "context.device"),
        ({"context": {"device": ["mobile"]}}, "context.device"),
        ({"context": {"page": 3}}, "context.page"),
        ({"context": {"page": {"name": "product"}}}, "context.page"),
        ({"context": {"product_id": 42}}, "context.product_id"),
        ({"context": {"product_id": ["p-1"]}}, "context.product_id"),
        ({"k": "10"}, "k"),
        ({"k": 2.5}, "k"),
        ({"k": True}, "k"),
        ({"slots": [1]}, "slots"),
        ({"slots": {"pdp_similar": 1}}, "slots"),
        ({"user_id": 7}, "user_id"),
        ({"session_id": 5}, "session_id"),
        ({"session_id": {"id": "s"}}, "session_id"),
    ],
)
def test_it_answers_a_wrongly_typed_field_with_a_400_naming_it(api, storefront, body, field):
    response = _assign(api, {"session_id": "s-1", **body})
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_field"
    assert response.json()["field"] == field


@pytest.mark.django_db
def test_it_answers_an_unknown_page_with_a_400_listing_the_known_pages(api, storefront):
    response = _assign(api, {"session_id": "s-1", "context": {"page": "homepage"}})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unknown_page"
    assert body["field"] == "context.page"
    assert body["known_pages"] == ["product"]
    assert "homepage" in body["detail"]


@pytest.mark.django_db
def test_it_serves_a_page_that_has_active_slots(api, storefront):
    from experiments.models import Slot, Variant
    from experiments.services.serving_version import serving_version_bump

    slot = Slot.objects.create(key="cart_upsell", name="Cart upsell", page="cart")
    slot.baseline_variant = Variant.objects.get(key="pdp_similar-legacy")
    slot.save()
    serving_version_bump()
    response = _assign(api, {"session_id": "s-1", "context": {"page": "cart"}})
    assert response.status_code == 200
    assert [d["slot"] for d in response.json()["decisions"]] == ["cart_upsell"]
    unknown = _assign(api, {"session_id": "s-1", "context": {"page": "homepage"}}).json()
    assert unknown["known_pages"] == ["cart", "product"]


@pytest.mark.django_db
def test_it_rejects_an_event_field_the_contract_does_not_know_and_keeps_the_good_events(api, storefront):
    item = str(storefront.catalog.item_ids[0])
    batch = [
        event("view", item_id=item),
        event("purchase", items=[item], revenue=25.0),
        event("view", item_id=item, dwel_ms=300),
        event("purchase", items=[item], value=25.0),
    ]
    body = events_post(api, batch).json()
    assert body["accepted"] == 2
    assert body["rejected"] == [
        {"index": 1, "event_id": batch[1]["event_id"], "field": "revenue", "code": "unknown_field"},
        {"index": 2, "event_id": batch[2]["event_id"], "field": "dwel_ms", "code": "unknown_field"},
    ]
    kept = [batch[0]["event_id"], batch[3]["event_id"]]
    assert Event.objects.filter(event_id__in=kept).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("value", [None, "missing"])
def test_it_rejects_a_purchase_without_its_value(api, storefront, value):
    item = str(storefront.catalog.item_ids[0])
    purchase = event("purchase", items=[item]) | ({} if value == "missing" else {"value": value})
    free = event("purchase", items=[item], value=0)
    body = events_post(api, [purchase, free]).json()
    assert body["accepted"] == 1
    assert body["rejected"] == [
        {"index": 0, "event_id": purchase["event_id"], "field": "value", "code": "required"}
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    ("method", "path", "hint"),
    [
        ("post", "/api/v1/assignments/", "/api/v1/assignments"),
        ("post", "/api/v1/events/", "/api/v1/events"),
        ("get", "/api/v1/experiments", "/api/v1/experiments/"),
        ("get", "/api/v2/assignments", None),
        ("delete", "/api/nothing/here", None),
        ("get", "/api/", None),
    ],
)
def test_it_answers_an_unknown_api_path_with_a_json_404(api, storefront, settings, debug, method, path, hint):
    settings.DEBUG = debug
    response = getattr(api, method)(path, {"session_id": "s-1"}, format="json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "not_found"
    assert path in body["detail"]
    if hint:
        assert f"Did you mean {hint}?" in body["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/assignments"),
        ("put", "/api/v1/events"),
        ("delete", "/api/v1/assignments"),
    ],
)
def test_it_answers_a_wrong_method_with_a_json_405(api, storefront, settings, debug, method, path):
    settings.DEBUG = debug
    response = getattr(api, method)(path, {}, format="json")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_it_answers_a_server_error_under_api_with_json(storefront, client, settings, monkeypatch):
    from django.test import Client

    import experiments.api.report_views as report_views

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(report_views.ExperimentListApi, "get", broken)
    settings.DEBUG = False
    from django.contrib.auth.models import User

    user = User.objects.create_superuser("root", "root@example.com", "pw")
    raising = Client(raise_request_exception=False)
    raising.force_login(user)
    response = raising.get("/api/v1/experiments/")
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"


@pytest.mark.django_db
def test_the_schema_documents_the_pages_reasons_and_event_fields_the_api_enforces(storefront, client):
    schema = client.get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    assert components["Context"]["properties"]["page"]["enum"] == ["product"]
    assert components["FallbackReasonEnum"]["enum"] == [
        "unknown_product",
        "missing_product",
        "model_unavailable",
        "model_error",
    ]
    assert components["Event"]["additionalProperties"] is False
    assert "known_pages" in components["Error"]["properties"]
    assert "405" in schema["paths"]["/api/v1/assignments"]["post"]["responses"]
