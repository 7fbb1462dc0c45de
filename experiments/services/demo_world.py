"""The demo storefront: a synthetic catalog with hidden shopper taste, its history, slots,
variants and one running experiment per slot.

The hidden world (``reco_runtime.synthetic``) is regenerated from its recorded parameters
by ``simulate_traffic``, so simulated shoppers react to the very catalog that was seeded.
"""

import csv
import json
import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from django.utils import timezone

from experiments.models import Experiment, Interaction, Item, Slot, Variant
from experiments.models.experiments import Status
from reco_runtime.models import ALGORITHMS
from reco_runtime.synthetic import World, world_generate, world_history
from reco_runtime.synthetic_catalog import brand_names, category_paths

from .catalog_import import catalog_import
from .experiments import ArmSpec, experiment_create, experiment_start
from .interaction_import import interactions_import
from .program_settings import holdout_share_set

OTHER_PAGE_SLOTS = [
    ("cart_upsell", "Cart upsell", "cart"),
    ("email_recs", "Email recommendations", "email"),
    ("post_purchase", "Post-purchase", "post_purchase"),
]
# Which challengers each kind of slot tries against the legacy baseline (control).
SLOT_CHALLENGERS = {
    "pdp_similar": ["item_knn", "hybrid", "content"],
    "pdp_bought_together": ["item_knn", "hybrid"],
    "pdp_also_viewed": ["item_knn", "session_bayes"],
    "pdp_complete_the_look": ["content", "hybrid"],
    "pdp_for_you": ["als", "hybrid", "session_bayes"],
    "pdp_recently_viewed": ["session_bayes", "popularity"],
    "pdp_trending_in_category": ["popularity", "session_bayes"],
    "pdp_top_in_category": ["popularity", "hybrid"],
    "pdp_new_arrivals": ["content", "popularity"],
    "pdp_more_from_brand": ["content", "item_knn"],
    "pdp_price_alternatives": ["content", "item_knn"],
    "pdp_accessories": ["item_knn", "hybrid"],
    "cart_upsell": ["item_knn", "hybrid"],
    "email_recs": ["als", "hybrid"],
    "post_purchase": ["item_knn", "als"],
}
# The demo's global holdout: 20% of shoppers, not the production default of 5%. The holdout is
# what makes the program's uplift measurable, and its cost is the shoppers who keep the legacy
# recommendations; a shop's millions of sessions give a 5% holdout thousands of sessions a day, but
# the demo's 1,500 sessions would give it about 75, too few to measure even CTR. At 20% the
# holdout gets about 300 sessions and several thousand decisions, enough for the CTR comparison;
# the program report still says when conversion or order value have too few purchases to measure.
# It is an ordinary program setting (admin: Program settings), and the report names the share.
DEMO_HOLDOUT_SHARE = 0.2
MERCHANDISER_MODELS = ("slot", "variant", "experiment", "arm", "guardrail", "programsettings")
ANALYST_MODELS = (
    "slot",
    "variant",
    "experiment",
    "arm",
    "guardrail",
    "posterior",
    "posteriorsnapshot",
    "item",
    "programsettings",
    "exposure",
)


@dataclass(frozen=True)
class WorldParams:
    n_items: int
    n_users: int
    seed: int


def world_params_path():
    return settings.VAR_DIR / "demo_world.json"


def world_load() -> World:
    """The hidden world that ``seed_demo`` seeded (regenerated from its parameters)."""
    path = world_params_path()
    if not path.exists():
        raise FileNotFoundError("No demo world: run `python manage.py seed_demo` first.")
    return world_generate(**asdict(WorldParams(**json.loads(path.read_text()))))


DEMO_CATALOG_COLUMNS = "item_id title category brand price currency available created_at".split()


def demo_catalog_path() -> Path:
    return settings.VAR_DIR / "demo" / "catalog.csv"


def _items_store(world: World) -> None:
    """The world's catalog goes in through the shop's own door: written as a catalog file and
    imported with ``import_catalog``'s service (``--full``: items of an earlier demo are marked
    unavailable, never deleted). Each world category is one leaf path, so the hidden
    structure the simulated shoppers follow is the catalog's."""
    cat = world.catalog
    paths = category_paths(world.n_categories)
    brands = brand_names(int(cat.brand.max()) + 1)
    currency = settings.SHOP_CURRENCY
    target = demo_catalog_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    # A file of its own per call, so parallel seeds never read each other's half-written file.
    with tempfile.NamedTemporaryFile(
        "w", dir=target.parent, prefix=".catalog-", suffix=".csv", newline="", delete=False
    ) as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ("item_id", "title", "category", "brand", "price", "currency", "available", "created_at")
        )
        for item_id, title, category, brand, price, created in zip(
            cat.item_ids.tolist(),
            cat.titles.tolist(),
            cat.category.tolist(),
            cat.brand.tolist(),
            cat.price.tolist(),
            cat.created_at.tolist(),
            strict=True,
        ):
            when = datetime.fromtimestamp(created, tz=UTC).isoformat()
            writer.writerow(
                (item_id, title, paths[category], brands[brand], f"{price:.2f}", currency, "true", when)
            )
    summary = catalog_import(path=handle.name, full=True)
    os.replace(handle.name, target)
    if summary.rejected:
        raise ValueError(f"the demo catalog has {summary.rejected} rejected rows: {summary.rejections[:3]}")


def history_file_write(world: World, n_sessions: int, seed: int, path: Path) -> int:
    """The world's past sessions as a shop's interaction file (CSV, the ``import_interactions``
    columns); purchases carry the item's price. Returns the number of rows."""
    log = world_history(world, n_sessions=n_sessions, rng=np.random.default_rng(seed + 1))
    price = world.catalog.price
    index_of = world.catalog.index_of
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("user_id", "session_id", "item_id", "type", "ts", "value", "event_id"))
        for n, (user, item, kind, ts) in enumerate(
            zip(log.user_ids, log.item_ids, log.types, log.ts.tolist(), strict=True)
        ):
            value = f"{float(price[index_of(item)]):.2f}" if kind == "purchase" else ""
            writer.writerow(
                (
                    "" if user.startswith("anon-") else user,
                    log.session_ids[n],
                    item,
                    kind,
                    datetime.fromtimestamp(ts, tz=UTC).isoformat(),
                    value,
                    f"hist-{n}",
                )
            )
    return len(log.ts)


def _history_store(world: World, n_sessions: int, seed: int) -> int:
    """Past sessions through the shop's door: written to ``VAR_DIR/demo/history.csv`` and imported
    with ``import_interactions``'s service (training data only, never the event ledger)."""
    folder = settings.VAR_DIR / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    # A private name while writing: parallel seeds (tests) must not read each other's half-written file.
    partial = folder / f".history-{uuid.uuid4().hex[:12]}.csv"
    try:
        history_file_write(world, n_sessions, seed, partial)
        Interaction.objects.all().delete()  # re-seeding replaces the demo shop's history
        result = interactions_import(path=partial)
        os.replace(partial, folder / "history.csv")
    finally:
        partial.unlink(missing_ok=True)
    if result.rejected:
        raise ValueError(f"the demo history was not imported cleanly: {result.summary}")
    return result.added


def _bulk_load_tidy(models: tuple) -> None:
    """PostgreSQL, after a bulk load: ``VACUUM (ANALYZE)`` the loaded tables, as its manual
    advises, instead of leaving it to autovacuum, which may be late or off. Without statistics
    and hint bits the first workers to read the fresh rows pay for both while serving. Inside a
    caller's transaction, where VACUUM cannot run, only ``ANALYZE``."""
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    with connection.cursor() as cursor:
        cursor.execute(f"{command} {tables}")


def _slots_and_variants() -> list[Slot]:
    for position, (key, name, page) in enumerate(OTHER_PAGE_SLOTS):
        Slot.objects.get_or_create(key=key, defaults={"name": name, "page": page, "position": position})
    baseline = "cohort_bestsellers" if "cohort_bestsellers" in ALGORITHMS else "popularity"
    slots = list(Slot.objects.filter(key__in=SLOT_CHALLENGERS))
    for slot in slots:
        legacy, _ = Variant.objects.get_or_create(
            key=f"{slot.key}-legacy",
            defaults={"slot": slot, "algorithm": baseline, "description": "Legacy 12-cohort bestsellers"},
        )
        for algorithm in SLOT_CHALLENGERS[slot.key]:
            if algorithm in ALGORITHMS and algorithm != baseline:
                Variant.objects.get_or_create(
                    key=f"{slot.key}-{algorithm}", defaults={"slot": slot, "algorithm": algorithm}
                )
        slot.baseline_variant = legacy
        slot.save()
    return slots


def _experiments_start(slots: list[Slot]) -> list[Experiment]:
    started = []
    for slot in slots:
        if Experiment.objects.filter(slot=slot, status=Status.RUNNING).exists():
            continue
        variants = list(slot.variants.order_by("key"))
        legacy = next(v for v in variants if v.key.endswith("-legacy"))
        challengers = [v for v in variants if v != legacy]
        arms = [ArmSpec("A", legacy, is_control=True)] + [
            ArmSpec(chr(ord("B") + i), v) for i, v in enumerate(challengers)
        ]
        if len(arms) < 2:
            continue
        key = f"{slot.key.replace('_', '-')}-demo-{timezone.now():%Y%m%d%H%M%S}"
        experiment = experiment_create(key=key, slot=slot, arms=arms, burn_in=100, exploration_floor=0.1)
        started.append(experiment_start(experiment=experiment))
    return started


def groups_ensure() -> None:
    """The ``merchandiser`` (edit slots, variants, experiments) and ``analyst`` (read all) groups."""
    merch, _ = Group.objects.get_or_create(name="merchandiser")
    merch.permissions.set(
        Permission.objects.filter(
            content_type__app_label="experiments",
            content_type__model__in=MERCHANDISER_MODELS,
        ).exclude(codename__startswith="delete_programsettings")
    )
    analyst, _ = Group.objects.get_or_create(name="analyst")
    analyst.permissions.set(
        Permission.objects.filter(
            content_type__app_label="experiments",
            content_type__model__in=ANALYST_MODELS,
            codename__startswith="view_",
        )
    )


def demo_seed(
    *, n_items: int, n_users: int, n_sessions: int, seed: int = 0, say: Callable[[str], None] = print
) -> dict:
    """Seed the whole demo; re-running replaces the catalog and history and starts fresh experiments."""
    from .training import models_train

    world = world_generate(n_items=n_items, n_users=n_users, seed=seed)
    say(f"world: {n_items} items, {n_users} users, {world.n_categories} categories")
    with transaction.atomic():
        _items_store(world)
        events = _history_store(world, n_sessions, seed)
        say(f"history: {events} events from {n_sessions} past sessions")
        slots = _slots_and_variants()
        groups_ensure()
    _bulk_load_tidy((Item, Interaction))
    world_params_path().parent.mkdir(parents=True, exist_ok=True)
    world_params_path().write_text(json.dumps(asdict(WorldParams(n_items, n_users, seed))))
    models_train(progress=say)
    holdout_share_set(share=DEMO_HOLDOUT_SHARE)
    started = _experiments_start(slots)
    say(f"experiments running: {len(started)}")
    return {"items": n_items, "events": events, "experiments": [e.key for e in started]}
