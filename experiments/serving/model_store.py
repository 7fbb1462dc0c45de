"""Loaded catalog and model artifacts, kept per process and keyed by their immutable versions."""

import logging
import threading
from functools import lru_cache

from django.conf import settings

from reco_runtime.catalog import Catalog
from reco_runtime.models.base import Recommender
from reco_runtime.registry import ModelRegistry

log = logging.getLogger(__name__)
_lock = threading.Lock()
_catalogs: dict[str, Catalog] = {}
_models: dict[tuple[str, str], Recommender | None] = {}
# (content key, catalog version) -> the one loaded model with that content (see ``_shared``)
_by_content: dict[tuple[str, str], Recommender] = {}


@lru_cache(maxsize=1)
def registry() -> ModelRegistry:
    return ModelRegistry(settings.MODEL_ROOT)


def catalog_current(version: str) -> Catalog | None:
    if not version:
        return None
    catalog = _catalogs.get(version)
    if catalog is None:
        with _lock:
            catalog = _catalogs.get(version)
            if catalog is None:
                catalog = registry().load_catalog(version)
                _catalogs.clear()  # one catalog in memory at a time; old models go with it
                _models.clear()
                _by_content.clear()
                _catalogs[version] = catalog
    return catalog


def model_for(model_version: str, catalog_version: str) -> Recommender | None:
    """The loaded model, or None when its artifact is missing or corrupt (the slot falls back)."""
    key = (model_version, catalog_version)
    if key in _models:
        return _models[key]
    catalog = catalog_current(catalog_version)
    if catalog is None:
        return None
    with _lock:
        if key not in _models:
            try:
                # warm: touch its pages and load its compiled kernels now, not in a request.
                model = registry().load(model_version, catalog, warm=True)
                _models[key] = _shared(model, model_version, catalog_version)
            except Exception:
                log.exception("model %s cannot be loaded; its slots fall back", model_version)
                _models[key] = None
    return _models[key]


def _shared(model: Recommender, model_version: str, catalog_version: str) -> Recommender:
    """One object per distinct model content: a hybrid's generator that is byte-identical to a
    model published on its own (training builds hybrids from those) becomes that same object,
    whichever is loaded first. Memory is held once, and a page that serves both scores the
    session once for both (``Recommender._page_once``)."""
    manifest = registry().manifest(model_version)
    parts = model.sub_models()
    for name, part in parts.items():
        parts[name] = _by_content.setdefault((manifest.content_key(f"{name}/"), catalog_version), part)
    return _by_content.setdefault((manifest.content_key(), catalog_version), model)


def models_forget() -> None:
    """Drop every loaded artifact (tests, and after retraining in the same process)."""
    with _lock:
        _catalogs.clear()
        _models.clear()
        _by_content.clear()
    registry.cache_clear()
