import pytest

from experiments.serving.decision_tokens import token_verify

PRODUCT_SLOTS = [
    "pdp_similar",
    "pdp_bought_together",
    "pdp_also_viewed",
    "pdp_complete_the_look",
    "pdp_for_you",
    "pdp_recently_viewed",
    "pdp_trending_in_category",
    "pdp_top_in_category",
    "pdp_new_arrivals",
    "pdp_more_from_brand",
    "pdp_price_alternatives",
    "pdp_accessories",
]


def _assign(api, **body):
    return api.post("/api/v1/assignments", {"session_id": "s-1", **body}, format="json")


@pytest.mark.django_db
def test_it_serves_all_twelve_product_slots_when_slots_are_omitted(api, storefront, settings):
    response = _assign(api, context={"product_id": str(storefront.catalog.item_ids[0])}, k=5)
    assert response.status_code == 200
    body = response.json()
    assert [d["slot"] for d in body["decisions"]] == PRODUCT_SLOTS
    catalog_ids = set(map(str, storefront.catalog.item_ids))
    for decision in body["decisions"]:
        items = [i["item_id"] for i in decision["items"]]
        assert len(items) == 5
        assert len(set(items)) == 5
        assert set(items) <= catalog_ids
        assert [i["rank"] for i in decision["items"]] == [1, 2, 3, 4, 5]
        assert decision["fallback"] is False
        assert decision["experiment"].endswith("-test")
        payload = token_verify(decision["decision_id"], key=settings.DECISION_SIGNING_KEY.encode())
        assert payload.items == tuple(items)
        assert payload.propensity == pytest.approx(decision["propensity"])
    assert body["served_in_ms"] > 0


@pytest.mark.django_db
def test_slots_of_one_page_do_not_repeat_items(api, storefront):
    body = _assign(api, k=10).json()
    served = [i["item_id"] for d in body["decisions"] for i in d["items"]]
    assert len(served) == len(set(served)) == 120


@pytest.mark.django_db
def test_the_current_product_and_cart_are_never_recommended(api, storefront):
    product, cart = str(storefront.catalog.item_ids[3]), [str(storefront.catalog.item_ids[7])]
    body = _assign(api, context={"product_id": product, "cart": cart}).json()
    served = {i["item_id"] for d in body["decisions"] for i in d["items"]}
    assert product not in served
    assert cart[0] not in served


@pytest.mark.django_db
def test_an_unknown_slot_gets_its_own_error_and_the_others_are_served(api, storefront):
    body = _assign(api, slots=["pdp_similar", "no_such_slot"]).json()
    assert body["decisions"][0]["items"]
    assert body["decisions"][1] == {
        "slot": "no_such_slot",
        "error": {"code": "unknown_slot", "detail": "No active slot with this key."},
    }


@pytest.mark.django_db
def test_a_broken_model_falls_back_for_its_slot_only(api, storefront, settings):
    from experiments.models import Variant
    from experiments.services.serving_version import serving_version_bump

    Variant.objects.filter(key="pdp_similar-category").update(model_version="popularity-20990101T000000-dead")
    Variant.objects.filter(key="pdp_similar-legacy").update(model_version="popularity-20990101T000000-beef")
    serving_version_bump()
    product = str(storefront.catalog.item_ids[0])
    body = _assign(api, slots=["pdp_similar", "pdp_for_you"], context={"product_id": product}).json()
    similar, for_you = body["decisions"]
    assert similar["fallback"] is True
    assert similar["reason"] == "model_unavailable"
    assert similar["items"] == []
    assert similar["experiment"] is None
    assert for_you["fallback"] is False
    assert for_you["items"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "session_id"),
        ({"session_id": "s", "k": 0}, "k"),
        ({"session_id": "s", "slots": "x"}, "slots"),
        ({"session_id": "s", "context": []}, "context"),
    ],
)
def test_bad_assignment_input_gets_a_field_error(api, storefront, body, field):
    response = api.post("/api/v1/assignments", body, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == field


@pytest.mark.django_db
def test_malformed_json_is_a_400_with_a_code(api, storefront):
    response = api.post("/api/v1/assignments", data=b"{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"


@pytest.mark.django_db
def test_the_answer_is_json_whatever_accept_says_and_a_non_json_body_is_415(api, storefront):
    body = b'{"session_id": "s", "slots": ["pdp_similar"]}'
    json_utf8 = "application/json; charset=utf-8"
    answer = api.post("/api/v1/assignments", data=body, content_type=json_utf8, HTTP_ACCEPT="text/html")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/json"
    assert answer.json()["decisions"][0]["slot"] == "pdp_similar"
    refused = api.post("/api/v1/assignments", data=body, content_type="text/plain")
    assert refused.status_code == 415
    assert refused.json()["code"] == "unsupported_media_type"


@pytest.mark.django_db
@pytest.mark.parametrize("header", [None, "Api-Key wrong.key", "Bearer x", "Api-Key "])
def test_missing_or_invalid_key_is_401(storefront, header):
    from rest_framework.test import APIClient

    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    for path in ("/api/v1/assignments", "/api/v1/events"):
        response = client.post(path, {"session_id": "s"}, format="json")
        assert response.status_code == 401
        assert response.json()["code"] in {"not_authenticated", "authentication_failed"}
        assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.django_db
def test_a_revoked_key_stops_working(api, storefront, django_capture_on_commit_callbacks):
    from rest_framework_api_key.models import APIKey

    from experiments.services.storefront_keys import storefront_key_revoke

    assert _assign(api).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        storefront_key_revoke(api_key=APIKey.objects.get(name="tests"))
    assert _assign(api).status_code == 401
