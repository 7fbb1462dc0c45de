"""Training: snapshot the catalog and the ledger's interactions, fit each variant, publish versions."""

import json
import logging
from collections.abc import Callable

from django.db import transaction
from tqdm import tqdm

from experiments.models import Event, ProgramSettings, Variant
from experiments.selectors.catalog_snapshot import catalog_snapshot
from experiments.serving.model_store import models_forget, registry
from experiments.serving.state import serving_version_bump
from reco_runtime.catalog import Catalog
from reco_runtime.interactions import Interactions
from reco_runtime.training import HoldoutFits

log = logging.getLogger(__name__)
TRAINING_EVENT_TYPES = ("view", "click", "add_to_cart", "purchase")
EVAL_USERS = 500


def interactions_load(catalog: Catalog) -> Interactions:
    """Every view / click / add-to-cart / purchase of the ledger; anonymous shoppers by session."""
    users, items, types, ts = [], [], [], []
    query = Event.objects.filter(type__in=TRAINING_EVENT_TYPES).values_list(
        "user_id", "session_id", "type", "item_id", "items", "ts"
    )
    for user_id, session_id, kind, item_id, event_items, when in query.iterator(chunk_size=20_000):
        owner = user_id or f"session:{session_id}"
        for item in ([item_id] if item_id else []) + list(event_items or []):
            users.append(owner)
            items.append(item)
            types.append(kind)
            ts.append(when.timestamp())
    return Interactions.from_events(catalog, users, items, types, ts)


def _variant_groups(algorithms: list[str] | None) -> dict[tuple[str, str], list[Variant]]:
    groups: dict[tuple[str, str], list[Variant]] = {}
    for variant in Variant.objects.order_by("key"):
        if algorithms and variant.algorithm not in algorithms:
            continue
        groups.setdefault((variant.algorithm, json.dumps(variant.params, sort_keys=True)), []).append(variant)
    return groups


def models_train(
    *,
    algorithms: list[str] | None = None,
    repoint: bool = True,
    evaluate: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, str]:
    """Train one model per distinct (algorithm, params) of the variants; return variant key -> version.

    With ``repoint`` every trained variant serves its new version from the next serving
    refresh on; otherwise only variants that had no version yet get one. With ``evaluate``
    the manifest records offline metrics on a temporal holdout (the admin shows them).
    """
    say = progress or (lambda message: None)
    catalog = catalog_snapshot()
    reg = registry()
    catalog_version = reg.save_catalog(catalog)
    interactions = interactions_load(catalog)
    say(f"catalog {catalog_version}: {catalog.n_items} items, {len(interactions)} interactions")
    assigned: dict[str, str] = {}
    groups = _variant_groups(algorithms)
    planned = [(algorithm, json.loads(params_json)) for algorithm, params_json in groups]
    fits = HoldoutFits(interactions, catalog, planned=planned, evaluate=evaluate, eval_users=EVAL_USERS)
    for (algorithm, params_json), variants in tqdm(
        groups.items(), desc="train", unit="model", mininterval=1.0
    ):
        params = json.loads(params_json)
        model, metrics = fits.fit(algorithm, params)
        version = reg.publish(
            model,
            params=params,
            data_window=interactions.window,
            metrics=metrics,
            catalog_version=catalog_version,
        )
        say(f"trained {version} for {', '.join(v.key for v in variants)} {_metrics_text(metrics)}")
        for variant in variants:
            if repoint or not variant.model_version:
                assigned[variant.key] = version
    with transaction.atomic():
        for key, version in assigned.items():
            Variant.objects.filter(key=key).update(model_version=version)
        ProgramSettings.load()
        ProgramSettings.objects.filter(pk=1).update(catalog_version=catalog_version)
        serving_version_bump()
    models_forget()
    return assigned


def _metrics_text(metrics: dict) -> str:
    if not metrics:
        return ""
    return f"(holdout recall@10 {metrics['recall@10']:.3f}, ndcg@10 {metrics['ndcg@10']:.3f})"
