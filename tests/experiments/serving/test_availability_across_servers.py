"""On PostgreSQL + Redis with two gunicorn servers: an item marked unavailable leaves every one of
the 12 product-page slots of both within the refresh window, and comes back when available."""

import time
from collections import Counter

import pytest
from django.db import connection

from experiments.models import Item
from experiments.services.item_availability import items_availability_changed
from tests.experiments.faults.service_processes import HttpStorefront, storefront_web_env, web_server
from tests.experiments.storefront_helpers import decisions_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

REFRESH_S = 1.0
# The poll interval plus a feed read and a mask copy, on a loaded two-core machine.
WINDOW_S = REFRESH_S + 2.0
PRODUCTS = ("p-0", "p-1", "p-2", "p-3")
K = 4


def _page_items(client: HttpStorefront, n: int) -> list[str]:
    """Every item of the 12 slots of one page view."""
    decisions = decisions_for(client, session_id=f"s-{n}", context={"product_id": PRODUCTS[n % 4]}, k=K)
    assert len(decisions) == 12, decisions
    assert all(len(d["items"]) == K for d in decisions), decisions
    return [item["item_id"] for d in decisions for item in d["items"]]


def _set(item_ids: list[str], available: bool) -> float:
    """Write and announce as a writer would; returns when its answer would have gone out."""
    Item.objects.filter(item_id__in=item_ids).update(available=available)
    items_availability_changed(item_ids)
    return time.monotonic()


def _last_seen_after(clients: list[HttpStorefront], items: set[str], since: float, quiet_s: float) -> float:
    """Pages from every server until none shows ``items`` for ``quiet_s``: seconds from ``since``
    to the answer of the last page that still showed one of them."""
    last, n = since, 0
    while time.monotonic() - last < quiet_s:
        for client in clients:
            n += 1
            shown = set(_page_items(client, n)) & items
            if shown:
                last = time.monotonic()
            assert time.monotonic() - since < 30, f"{shown} still served after 30 s"
    return last - since


def test_an_unavailable_item_leaves_every_slot_of_every_server_within_the_window(
    storefront, storefront_key, tmp_path
):
    assert connection.vendor == "postgresql"
    env = storefront_web_env(refresh_s=REFRESH_S)
    with web_server(env, tmp_path / "a.log") as a, web_server(env, tmp_path / "b.log") as b:
        clients = [HttpStorefront(a, storefront_key), HttpStorefront(b, storefront_key)]
        served = Counter(i for n in range(24) for c in clients for i in _page_items(c, n))
        gone = {item for item, _ in served.most_common(3)}

        lag_out = _last_seen_after(clients, gone, _set(sorted(gone), False), quiet_s=WINDOW_S)
        assert lag_out < WINDOW_S, (lag_out, a.log_tail(), b.log_tail())

        back_at = _set(sorted(gone), True)
        seen_back: set[str] = set()
        n = 10_000
        while seen_back != gone:
            assert time.monotonic() - back_at < WINDOW_S + 5, f"{gone - seen_back} not served again"
            for client in clients:
                n += 1
                seen_back |= set(_page_items(client, n)) & gone
