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


@pytest.mark.django_db
def test_far_below_the_limit_processes_add_their_counts_at_most_every_sync_interval(monkeypatch):
    from experiments.api import throttling

    added = []
    shared_add = throttling._shared_add
    monkeypatch.setattr(throttling, "_shared_add", lambda key, n: added.append(n) or shared_add(key, n))
    first, second = throttling.RateLimiter(), throttling.RateLimiter()
    start = 1_800_000_000.0
    for n in range(500):  # 1000 requests/s per process for half a second, limit 20000/s
        now = start + n / 1000
        assert first.admit("far", 20_000, now)
        assert second.admit("far", 20_000, now)
    assert len(added) <= 2 * (0.5 / throttling.SYNC_S + 1)
    # The shared counter holds both processes' requests but for at most one interval each.
    assert shared_add(f"{throttling.cache.key_prefix}:thr:far:{int(start)}", 0) == sum(added)
    assert sum(added) >= 1000 - 2 * throttling.SYNC_S * 1000


@pytest.mark.django_db
def test_two_processes_near_the_limit_admit_at_most_the_limit_plus_one_sync_interval():
    from experiments.api.throttling import SYNC_S, RateLimiter

    processes = [RateLimiter(), RateLimiter()]
    start, limit, rate = 1_800_000_100.0, 200, 1000  # each process gets 1000 requests/s
    admitted = 0
    for n in range(rate):
        now = start + n / rate
        admitted += sum(p.admit("near", limit, now) for p in processes)
    assert limit <= admitted <= limit + len(processes) * SYNC_S * rate
