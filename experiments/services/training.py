"""Training: snapshot the catalog and the window of interactions (imported and live), fit each
variant, publish versions."""

import json
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max
from tqdm import tqdm

from experiments.models import Event, Interaction, ProgramSettings, Variant
from experiments.selectors.catalog_snapshot import catalog_snapshot
from experiments.serving.model_store import models_forget, registry
from reco_runtime.catalog import Catalog
from reco_runtime.errors import ArtifactError, RecoError
from reco_runtime.interactions import Interactions
from reco_runtime.training import HoldoutFits
from reco_runtime.version_guard import GuardSettings, guard_compare

from .serving_version import serving_version_bump
from .slot_defaults import slots_defaults_ensure
from .variant_versions import variant_version_record

log = logging.getLogger(__name__)
TRAINING_EVENT_TYPES = ("view", "click", "add_to_cart", "purchase")
EVAL_USERS = 500


class NoInteractionsError(ValueError):
    """Nothing to train on: no interactions of catalog items, imported or live."""


def training_window_start() -> datetime | None:
    """The first instant of the training window: ``TRAINING_WINDOW_DAYS`` back from the newest
    interaction (imported or live), so a history that ends in the past still trains. None when
    there are no interactions."""
    newest = [
        Interaction.objects.aggregate(newest=Max("ts"))["newest"],
        Event.objects.filter(type__in=TRAINING_EVENT_TYPES).aggregate(newest=Max("ts"))["newest"],
    ]
    newest = [ts for ts in newest if ts is not None]
    if not newest:
        return None
    return max(newest) - timedelta(days=settings.TRAINING_WINDOW_DAYS)


def interactions_load(catalog: Catalog) -> Interactions:
    """The training window's interactions: imported history plus the ledger's live views, clicks,
    add-to-carts and purchases; anonymous shoppers by session."""
    since = training_window_start()
    users, items, types, ts = [], [], [], []
    if since is None:
        return Interactions.from_events(catalog, users, items, types, ts)
    imported = Interaction.objects.filter(ts__gte=since).values_list(
        "user_id", "session_id", "type", "item_id", "ts"
    )
    for user_id, session_id, kind, item_id, when in imported.iterator(chunk_size=50_000):
        users.append(user_id or f"session:{session_id}")
        items.append(item_id)
        types.append(kind)
        ts.append(when.timestamp())
    live = Event.objects.filter(type__in=TRAINING_EVENT_TYPES, ts__gte=since).values_list(
        "user_id", "session_id", "type", "item_id", "items", "ts"
    )
    for user_id, session_id, kind, item_id, event_items, when in live.iterator(chunk_size=20_000):
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
    """Train one model per distinct (algorithm, params) of the variants; return variant key -> the
    version it serves from the next serving refresh on (only variants whose version moved).

    With ``repoint`` a variant moves to its new version if the retraining guard lets it
    (``version_guard``: not worse than the serving version on a fresh holdout beyond
    ``RETRAIN_TOLERANCE``) and it is not pinned; otherwise only variants that had no version get
    one. Each verdict is recorded on the variant (note and history). With ``evaluate`` the manifest
    records offline metrics on a temporal holdout; without it the guard cannot compare. With no
    interactions at all it raises ``NoInteractionsError`` before writing anything.
    """
    say = progress or (lambda message: None)
    catalog = catalog_snapshot()
    interactions = interactions_load(catalog)
    if len(interactions) == 0:
        raise NoInteractionsError(
            f"no interactions to train on for the {catalog.n_items} catalog items: import the shop's "
            "history first (python manage.py import_interactions FILE)"
        )
    provided = slots_defaults_ensure()
    if provided:
        say(f"default variants for {len(provided)} slots without any: {', '.join(provided)}")
    reg = registry()
    catalog_version = reg.save_catalog(catalog)
    say(f"catalog {catalog_version}: {catalog.n_items} items, {len(interactions)} interactions")
    groups = _variant_groups(algorithms)
    planned = [(algorithm, json.loads(params_json)) for algorithm, params_json in groups]
    fits = HoldoutFits(interactions, catalog, planned=planned, evaluate=evaluate, eval_users=EVAL_USERS)
    guard = VersionGuard(fits, reg, catalog)
    verdicts: list[tuple[Variant, str | None, str]] = []
    for (algorithm, params_json), variants in tqdm(
        groups.items(), desc="train", unit="model", mininterval=1.0
    ):
        params = json.loads(params_json)
        model, metrics, holdout_model = fits.fit_with_holdout(algorithm, params)
        version = reg.publish(
            model,
            params=params,
            data_window=interactions.window,
            metrics=metrics,
            catalog_version=catalog_version,
        )
        say(f"trained {version} for {', '.join(v.key for v in variants)} {_metrics_text(metrics)}")
        for variant in variants:
            if not repoint and variant.model_version:
                continue
            serve, note = guard.verdict(variant, version, holdout_model)
            say(f"{variant.key}: {note}")
            verdicts.append((variant, version if serve else None, note))
    assigned = {v.key: version for v, version, _ in verdicts if version and version != v.model_version}
    with transaction.atomic():
        for variant, version, note in verdicts:
            variant_version_record(variant=variant, version=version, note=note)
        ProgramSettings.load()
        ProgramSettings.objects.filter(pk=1).update(catalog_version=catalog_version)
        serving_version_bump()
    models_forget()
    return assigned


class VersionGuard:
    """The retraining guard's verdict for each variant of one training run (``version_guard``)."""

    def __init__(self, fits: HoldoutFits, reg, catalog: Catalog) -> None:
        self.fits, self.reg, self.catalog = fits, reg, catalog
        self.settings = GuardSettings(tolerance=settings.RETRAIN_TOLERANCE, eval_users=EVAL_USERS)
        self._memo: dict[tuple[str, str], tuple[bool, str]] = {}

    def verdict(self, variant: Variant, version: str, holdout_model) -> tuple[bool, str]:
        """(whether ``version`` serves, why)."""
        if variant.version_pinned:
            return (
                False,
                f"kept out {version}: the variant is pinned to {variant.model_version or 'no version'}",
            )
        if not variant.model_version:
            return True, f"serves {version}: the variant's first version"
        if holdout_model is None or self.fits.split is None:
            return True, f"serves {version}, not compared: trained without a holdout evaluation"
        key = (variant.model_version, version)
        if key not in self._memo:
            self._memo[key] = self._compare(variant.model_version, version, holdout_model)
        return self._memo[key]

    def _compare(self, serving_version: str, version: str, holdout_model) -> tuple[bool, str]:
        try:
            data_end = self.reg.manifest(serving_version).data_window[1]
            serving_model = self.reg.load(serving_version, self.catalog)
        except (ArtifactError, RecoError) as exc:
            return (
                True,
                f"serves {version}: the serving version {serving_version} cannot serve this catalog ({exc})",
            )
        train, test = self.fits.split
        result = guard_compare(
            holdout_model, serving_model, train, test, serving_data_end=data_end, settings=self.settings
        )
        if result.serve:
            return True, f"{version} {result.reason}"
        return False, f"{version} {result.reason}; {serving_version} keeps serving"


def _metrics_text(metrics: dict) -> str:
    fit = f"fit {metrics.get('fit_total_s', 0):.1f} s, peak {metrics.get('peak_rss_mb', 0):.0f} MB"
    if "recall@10" not in metrics:
        return f"({fit})"
    return f"({fit}; holdout recall@10 {metrics['recall@10']:.3f}, ndcg@10 {metrics['ndcg@10']:.3f})"


RETRAIN_LOCK_KEY = "models-retrain-lock"
RETRAIN_LOCK_S = 3 * 3_600  # outlives the task's hard time limit, so a killed run frees it by expiring


def models_retrain() -> dict[str, str] | None:
    """The scheduled retrain: ``models_train`` under a lock shared by every worker (the cache, Redis
    in production), so two retrains never overlap; None when another one holds the lock."""
    token = uuid.uuid4().hex
    if not cache.add(RETRAIN_LOCK_KEY, token, timeout=RETRAIN_LOCK_S):
        log.info("retrain skipped: another retrain is running")
        return None
    try:
        return models_train()
    finally:
        if cache.get(RETRAIN_LOCK_KEY) == token:
            cache.delete(RETRAIN_LOCK_KEY)
