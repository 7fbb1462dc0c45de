from datetime import UTC, datetime

import pytest
import time_machine
from rest_framework.test import APIClient

from experiments.services.storefront_keys import storefront_key_create


@pytest.mark.django_db
def test_a_key_over_its_rate_gets_429_with_retry_after_and_other_keys_do_not(api, storefront, settings):
    settings.STOREFRONT_RATE_PER_S = 3
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {storefront_key_create(name='other')[1]}")
    body = {"session_id": "s", "slots": ["pdp_similar"]}
    with time_machine.travel(datetime(2026, 11, 23, 10, 0, 0, 250_000, tzinfo=UTC), tick=False):
        statuses = [api.post("/api/v1/assignments", body, format="json").status_code for _ in range(4)]
        refused = api.post("/api/v1/events", {"events": []}, format="json")
        assert other.post("/api/v1/assignments", body, format="json").status_code == 200
    assert statuses == [200, 200, 200, 429]
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert refused["Retry-After"] == "1"
    with time_machine.travel(datetime(2026, 11, 23, 10, 0, 1, 250_000, tzinfo=UTC), tick=False):
        assert api.post("/api/v1/assignments", body, format="json").status_code == 200
