"""Embedded recommender runtime: catalog, variants, candidates, re-ranking, offline evaluation.

Pure Python + numpy/scipy (scikit-learn and ``implicit`` for training only); never imports
Django, Celery or the web apps (an import-linter contract enforces it).

Serving, in a web process::

    registry = ModelRegistry(root)
    catalog = registry.load_catalog(catalog_version)          # arrays memory-mapped, id index built once
    model = registry.load(version, catalog)                   # ArtifactError -> serve the fallback
    request = request_build(catalog, k=10, user_id="u-9", product_id="p-42", cart_ids=["p-7"])
    items, scores = model.recommend(request)                  # item indices, best first
    catalog.ids_of(items)                                      # -> ["p-91", ...]

Training (a worker; set ``OPENBLAS_NUM_THREADS=1`` there, ``implicit`` asks for it)::

    interactions = Interactions.from_events(catalog, user_ids, item_ids, types, ts)
    versions = train_all(interactions, catalog, registry)     # {"als": "als-20261123T101500-3f2a", ...}

Every variant: ``reco_runtime.models.ALGORITHMS``. Errors: ``RecoError`` (a ``ValueError``),
``ArtifactError`` for missing or corrupt artifacts.
"""

from reco_runtime.catalog import Catalog
from reco_runtime.cohorts import N_COHORTS, cohort_of
from reco_runtime.errors import ArtifactError, RecoError
from reco_runtime.interactions import EVENT_WEIGHTS, Interactions
from reco_runtime.models import ALGORITHMS, Recommender
from reco_runtime.registry import Manifest, ModelRegistry
from reco_runtime.request import RecRequest, SessionSignals, request_build


def __getattr__(name: str) -> object:
    # Lazy, so that `python -m reco_runtime.evaluate` / `.training` do not import themselves twice.
    if name == "train_all":
        from reco_runtime.training import train_all

        return train_all
    raise AttributeError(f"module 'reco_runtime' has no attribute {name!r}")


__all__ = [
    "ALGORITHMS",
    "EVENT_WEIGHTS",
    "N_COHORTS",
    "ArtifactError",
    "Catalog",
    "Interactions",
    "Manifest",
    "ModelRegistry",
    "RecRequest",
    "RecoError",
    "Recommender",
    "SessionSignals",
    "cohort_of",
    "request_build",
    "train_all",
]
