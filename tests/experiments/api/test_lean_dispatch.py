"""The storefront endpoints' lean POST path answers exactly as DRF's own ``APIView`` path would."""

from types import SimpleNamespace

import orjson
import pytest
from rest_framework.test import APIClient
from rest_framework.views import APIView

from experiments.api import throttling
from experiments.api.storefront_views import StorefrontApi
from tests.experiments.storefront_helpers import event

# (path, body, content type, Authorization header or None for the test key)
CASES = {
    "no key": ("/api/v1/assignments", b'{"session_id": "s"}', "application/json", ""),
    "wrong keyword": ("/api/v1/events", b'{"events": []}', "application/json", "Bearer x.y"),
    "unknown key": ("/api/v1/assignments", b'{"session_id": "s"}', "application/json", "Api-Key nope.nope"),
    "not json": ("/api/v1/assignments", b"session_id=s", "application/x-www-form-urlencoded", None),
    "malformed": ("/api/v1/assignments", b'{"session_id": ', "application/json", None),
    "not an object": ("/api/v1/events", b"[1, 2]", "application/json", None),
    "empty body": ("/api/v1/assignments", b"", "application/json", None),
    "bad field": ("/api/v1/assignments", b'{"session_id": "s", "k": 0}', "application/json", None),
    "events not a list": ("/api/v1/events", b'{"events": 3}', "application/json", None),
    "too many events": (
        "/api/v1/events",
        b'{"events": [' + b",".join([b"{}"] * 5001) + b"]}",
        "application/json",
        None,
    ),
    "too big": ("/api/v1/events", b'{"events": ["' + b"x" * 1_100_000 + b'"]}', "application/json", None),
}
COMPARED_HEADERS = ("Content-Type", "WWW-Authenticate", "Retry-After")


def _post(client: APIClient, path: str, body: bytes, content_type: str, auth: str | None, key: str):
    header = f"Api-Key {key}" if auth is None else auth
    return client.generic("POST", path, body, content_type, HTTP_AUTHORIZATION=header)


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES)
def test_every_error_is_the_one_drf_gives(storefront, storefront_key, monkeypatch, case):
    path, body, content_type, auth = CASES[case]
    lean = _post(APIClient(), path, body, content_type, auth, storefront_key)
    monkeypatch.setattr(StorefrontApi, "dispatch", APIView.dispatch)
    full = _post(APIClient(), path, body, content_type, auth, storefront_key)
    assert lean.status_code == full.status_code >= 400
    assert lean.json() == full.json()
    assert "code" in lean.json()
    for name in COMPARED_HEADERS:
        assert lean.get(name) == full.get(name), name


@pytest.mark.django_db
def test_a_throttled_key_gets_the_same_429_on_both_paths(storefront, storefront_key, monkeypatch, settings):
    settings.STOREFRONT_RATE_PER_S = 1
    # All three requests in one window of the limiter's clock, even when a second turns between them.
    monkeypatch.setattr(throttling, "time", SimpleNamespace(time=lambda: 1_000_000.25))
    body = b'{"session_id": "s"}'
    first = _post(APIClient(), "/api/v1/assignments", body, "application/json", None, storefront_key)
    lean = _post(APIClient(), "/api/v1/assignments", body, "application/json", None, storefront_key)
    monkeypatch.setattr(StorefrontApi, "dispatch", APIView.dispatch)
    full = _post(APIClient(), "/api/v1/assignments", body, "application/json", None, storefront_key)
    assert first.status_code == 200
    assert lean.status_code == full.status_code == 429
    assert lean.json() == full.json() == {"code": "throttled", "detail": lean.json()["detail"]}
    assert int(lean["Retry-After"]) >= 1
    assert int(full["Retry-After"]) >= 1


@pytest.mark.django_db
def test_successes_have_the_same_shape_and_other_methods_keep_drf_handling(
    storefront, storefront_key, monkeypatch
):
    page = (
        b'{"session_id": "same", "context": {"product_id": "%s"}}'
        % str(storefront.catalog.item_ids[3]).encode()
    )

    def answers():
        page_answer = _post(
            APIClient(), "/api/v1/assignments", page, "application/json", None, storefront_key
        )
        batch = orjson.dumps({"events": [event("view", item_id="x")]})
        events_answer = _post(APIClient(), "/api/v1/events", batch, "application/json", None, storefront_key)
        return page_answer, events_answer

    lean_page, lean_events = answers()
    not_allowed = APIClient().get("/api/v1/assignments", HTTP_AUTHORIZATION=f"Api-Key {storefront_key}")
    monkeypatch.setattr(StorefrontApi, "dispatch", APIView.dispatch)
    full_page, full_events = answers()
    assert lean_page.status_code == full_page.status_code == 200
    assert lean_page["Content-Type"] == full_page["Content-Type"] == "application/json"

    def stable(decisions):
        return [{k: v for k, v in d.items() if k != "decision_id"} for d in decisions]

    assert stable(lean_page.json()["decisions"]) == stable(full_page.json()["decisions"])
    assert lean_events.status_code == full_events.status_code == 202
    assert lean_events.json() == full_events.json()
    assert lean_events.json()["accepted"] == 1
    assert not_allowed.status_code == 405
    assert not_allowed.json()["code"] == "method_not_allowed"
