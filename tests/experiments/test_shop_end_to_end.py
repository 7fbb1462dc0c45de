"""A shop's first day on the real stack, through its own doors.

A catalog file and a history file go in with ``import_catalog`` and ``import_interactions``,
``train_models`` trains and gives every product-page slot its defaults, gunicorn serves the 12
slots, a real Celery worker applies the storefront's events to an experiment's posteriors, and an
item taken out of stock with ``PUT /api/v1/items`` leaves every slot within seconds and comes back.
The imported history trains models and never reaches the event ledger or a posterior.
"""

import csv
import importlib
import io
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum

from experiments.models import Event, Exposure, Interaction, Item, Posterior, Slot
from experiments.selectors.posterior_recount import posteriors_recount, posteriors_stored
from experiments.services.experiments import ArmSpec, experiment_create, experiment_start
from tests.experiments.faults.service_processes import HttpStorefront, storefront_web_env, web_server
from tests.experiments.storefront_helpers import event, events_post

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

CATEGORIES = (
    "Women > Shoes > Sneakers",
    "Women > Shoes > Boots",
    "Women > Tops",
    "Men > Shirts",
    "Men > Trousers",
    "Home > Kitchen",
)
BRANDS = ("Acme", "Bravo", "Corvo", "Delta", "Esker", "Fjord", "Gala", "Hale")
ITEMS_PER_CATEGORY = 20
HISTORY_SESSIONS = 400
HISTORY_END = datetime(2026, 3, 1, tzinfo=UTC)  # a history that ends in the past still trains
SLOTS = 12
K = 4
PAGES = 24
EXPERIMENT_SLOT = "pdp_similar"
REFRESH_S = 1.0
UNAVAILABLE_WITHIN_S = 5.0  # the target, from the 2xx answer to the last page showing it
QUIET_S = REFRESH_S + 2.0  # pages without the item for this long: it is gone
APPLY_TIMEOUT_S = 60.0


def _catalog_write(path) -> list[str]:
    """A JSON Lines catalog of names, paths and attributes, as a shop exports it; returns its ids."""
    item_ids = []
    with path.open("w") as handle:
        for c, category in enumerate(CATEGORIES):
            for n in range(ITEMS_PER_CATEGORY):
                item_id = f"sku-{c}{n:02d}"
                item_ids.append(item_id)
                row = {
                    "item_id": item_id,
                    "title": f"{category.rsplit(' > ', 1)[-1]} {n}",
                    "description": f"A {category.lower()} piece, style {n}.",
                    "category": category,
                    "brand": BRANDS[(c + n) % len(BRANDS)],
                    "price": f"{15 + 7 * n + 3 * c}.90",
                    "currency": "EUR",
                    "available": True,
                    "attributes": {"colour": ("black", "white", "blue")[n % 3]},
                    "image_url": f"https://shop.example/img/{item_id}.jpg",
                    "created_at": (HISTORY_END - timedelta(days=200 - n)).isoformat(),
                }
                handle.write(json.dumps(row) + "\n")
    return item_ids


def _history_write(path, rng: np.random.Generator) -> int:
    """Past sessions as a CSV interaction file: shoppers browse one category, favouring its first
    items, and sometimes buy. Returns the number of rows."""
    popularity = 1.0 / np.arange(1, ITEMS_PER_CATEGORY + 1)
    popularity /= popularity.sum()
    rows = 0
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("user_id", "session_id", "item_id", "type", "ts", "value", "event_id"))
        for s in range(HISTORY_SESSIONS):
            user = f"u-{rng.integers(80)}" if rng.random() < 0.7 else ""
            c = int(rng.integers(len(CATEGORIES)))
            start = HISTORY_END - timedelta(days=60 * (1 - s / HISTORY_SESSIONS), minutes=30)
            viewed = rng.choice(ITEMS_PER_CATEGORY, size=int(rng.integers(3, 7)), replace=False, p=popularity)
            steps = [("view", int(n), "") for n in viewed]
            if rng.random() < 0.4:
                steps += [("add_to_cart", int(viewed[0]), ""), ("purchase", int(viewed[0]), "29.90")]
            for t, (kind, n, value) in enumerate(steps):
                when = (start + timedelta(minutes=t)).isoformat()
                writer.writerow((user, f"h-{s}", f"sku-{c}{n:02d}", kind, when, value, f"hist-{rows}"))
                rows += 1
    return rows


def _page(client: HttpStorefront, session_id: str, product: str, catalog: set[str]) -> list[dict]:
    """The 12 product-page decisions for ``product``, each served by its own variant (no fallback)
    with K items of the imported catalog."""
    body = {"session_id": session_id, "context": {"product_id": product}, "k": K}
    response = client.post("/api/v1/assignments", body)
    assert response.status_code == 200, response.content
    decisions = response.json()["decisions"]
    assert len(decisions) == SLOTS, decisions
    for d in decisions:
        assert "error" not in d, d
        assert d["fallback"] is False, d
        assert len(d["items"]) == K, d
        assert {item["item_id"] for item in d["items"]} <= catalog, d
    return decisions


def _items(decisions: list[dict]) -> set[str]:
    return {item["item_id"] for d in decisions for item in d["items"]}


def _stock_set(client: HttpStorefront, item_id: str, available: bool) -> float:
    """``PUT /api/v1/items`` for one item's availability; returns when the 2xx answer came."""
    response = client.put("/api/v1/items", {"items": [{"item_id": item_id, "available": available}]})
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 1, response.content
    return time.monotonic()


def _posterior_totals() -> dict[str, int]:
    totals = Posterior.objects.aggregate(trials=Sum("trials"), clicks=Sum("clicks"))
    return {name: int(value or 0) for name, value in totals.items()}


def _wait_until_applied(worker, n_events: int) -> None:
    deadline = time.monotonic() + APPLY_TIMEOUT_S
    while time.monotonic() < deadline:
        assert worker.poll() is None, worker.stdout.read().decode()[-3000:]
        stored = Event.objects.count()
        if stored == n_events and not Event.objects.filter(applied_at__isnull=True).exists():
            return
        time.sleep(0.2)
    raise AssertionError(f"the worker did not apply {n_events} events within {APPLY_TIMEOUT_S:.0f} s")


def test_a_shop_imports_trains_serves_learns_and_takes_an_item_out_of_stock(tmp_path, celery_worker_process):
    assert connection.vendor == "postgresql"
    assert not settings.CELERY_TASK_ALWAYS_EAGER
    # Transactional tests flush the tables, data-migration rows included: the fresh install's slots.
    importlib.import_module("experiments.migrations.0002_product_page_slots").slots_create(django_apps, None)

    # 1. The shop's doors: its catalog and history files, then training.
    catalog_file, history_file = tmp_path / "catalog.jsonl", tmp_path / "history.csv"
    catalog = set(_catalog_write(catalog_file))
    history_rows = _history_write(history_file, np.random.default_rng(20))
    call_command("import_catalog", str(catalog_file), "--no-progress", stdout=io.StringIO())
    call_command("import_interactions", str(history_file), "--no-progress", stdout=io.StringIO())
    assert set(Item.objects.values_list("item_id", flat=True)) == catalog
    assert Interaction.objects.count() == history_rows
    call_command("train_models", stdout=io.StringIO())
    slots = {slot.key: slot for slot in Slot.objects.filter(page="product")}
    assert len(slots) == SLOTS
    assert all(slot.baseline_variant and slot.serving_default.model_version for slot in slots.values())

    # An experiment on one slot: its trained baseline against its trained default.
    similar = slots[EXPERIMENT_SLOT]
    experiment = experiment_create(
        key="similar-test",
        slot=similar,
        arms=[ArmSpec("A", similar.baseline_variant, is_control=True), ArmSpec("B", similar.default_variant)],
    )
    experiment_start(experiment=experiment)
    assert Event.objects.count() == 0, "the imported history is not the event ledger"
    assert Exposure.objects.count() == 0
    assert _posterior_totals() == {"trials": 0, "clicks": 0}

    out = io.StringIO()
    call_command("create_storefront_key", "shop", stdout=out, stderr=io.StringIO())
    api_key = out.getvalue().strip().splitlines()[-1]
    products = [f"sku-{c}00" for c in range(len(CATEGORIES))]  # one product page per category

    with web_server(storefront_web_env(refresh_s=REFRESH_S), tmp_path / "web.log") as server:
        client = HttpStorefront(server, api_key)

        # 2. Every slot serves, then the storefront reports what the shoppers saw and clicked.
        pages = [_page(client, f"shopper-{n}", products[n % len(products)], catalog) for n in range(PAGES)]
        batches, in_experiment, clicked = [], set(), set()
        for n, decisions in enumerate(pages):
            session_id = f"shopper-{n}"
            batch = [event("impression", session_id, decision_id=d["decision_id"]) for d in decisions]
            # A click on a third of each slot's decisions, quoting the decision.
            for d in (d for i, d in enumerate(decisions) if (n + i) % 3 == 0):
                first = d["items"][0]["item_id"]
                batch.append(event("click", session_id, decision_id=d["decision_id"], item_id=first))
                if d["experiment"]:
                    clicked.add(d["decision_id"])
            in_experiment |= {d["decision_id"] for d in decisions if d["experiment"]}
            response = events_post(client, batch)
            assert response.status_code == 202, response.content
            assert response.json()["accepted"] == len(batch), response.content
            batches.append(batch)
        assert in_experiment, "the experiment's slot took part in the pages"
        posted = {e["event_id"] for batch in batches for e in batch}

        _wait_until_applied(celery_worker_process, len(posted))
        expected = {"trials": len(in_experiment), "clicks": len(clicked)}
        assert 0 < expected["clicks"] < expected["trials"]
        assert _posterior_totals() == expected
        # The storefront retries every batch: each event was counted once already.
        for batch in batches:
            assert events_post(client, batch).json()["duplicates"] == len(batch)
        time.sleep(REFRESH_S)  # room for any task the retries enqueued
        _wait_until_applied(celery_worker_process, len(posted))
        assert _posterior_totals() == expected
        assert posteriors_stored() == posteriors_recount()
        # The imported history is in neither the ledger nor the posteriors (it is full of clicks).
        assert set(Event.objects.values_list("event_id", flat=True)) == posted
        assert Interaction.objects.count() == history_rows

        # 3. The most shown item (not a page's own product) goes out of stock through the API.
        shown = Counter(item for decisions in pages for item in _items(decisions) if item not in products)
        gone = shown.most_common(1)[0][0]
        answered_at = _stock_set(client, gone, available=False)
        last_seen, n = answered_at, 0
        while time.monotonic() - last_seen < QUIET_S:
            n += 1
            decisions = _page(client, f"after-{n}", products[n % len(products)], catalog)
            if gone in _items(decisions):
                last_seen = time.monotonic()
            assert time.monotonic() - answered_at < 30, f"{gone} still served after 30 s"
        lag = last_seen - answered_at
        assert lag < UNAVAILABLE_WITHIN_S, (gone, lag, server.log_tail())
        assert not Item.objects.get(item_id=gone).available

        # 4. Back in stock: it is served again.
        back_at = _stock_set(client, gone, available=True)
        while gone not in _items(_page(client, f"back-{n}", products[n % len(products)], catalog)):
            n += 1
            assert time.monotonic() - back_at < UNAVAILABLE_WITHIN_S, f"{gone} not served again"
