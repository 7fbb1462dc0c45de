"""A small but real storefront: synthetic catalog, history, trained models, running experiments."""

import importlib

import numpy as np
import pytest
from django.apps import apps as django_apps
from rest_framework.test import APIClient

from experiments.models import Slot, Variant
from experiments.services.demo_world import _history_store, _items_store, groups_ensure
from experiments.services.experiments import ArmSpec, experiment_create, experiment_start
from experiments.services.storefront_keys import storefront_key_create
from experiments.services.training import models_train
from reco_runtime.synthetic import world_generate
from tests.experiments.worker_process import celery_worker_process  # noqa: F401  (a fixture)

WORLD_ITEMS = 400


def storefront_build(*, n_items: int = WORLD_ITEMS, seed: int = 0):
    """Items, history, two popularity variants per product-page slot, one running experiment each."""
    world = world_generate(n_items=n_items, n_users=100, n_categories=8, n_brands=30, seed=seed)
    _items_store(world)
    _history_store(world, n_sessions=300, seed=seed)
    groups_ensure()
    # Transactional tests flush the tables, data-migration rows included: put the slots back.
    migration = importlib.import_module("experiments.migrations.0002_product_page_slots")
    migration.slots_create(django_apps, None)
    experiments = []
    for slot in Slot.objects.filter(page="product"):
        legacy = Variant.objects.create(key=f"{slot.key}-legacy", slot=slot, algorithm="popularity")
        challenger = Variant.objects.create(
            key=f"{slot.key}-category", slot=slot, algorithm="popularity", params={"scope": "category"}
        )
        slot.baseline_variant = legacy
        slot.save()
        experiment = experiment_create(
            key=f"{slot.key.replace('_', '-')}-test",
            slot=slot,
            burn_in=0,
            exploration_floor=0.1,
            arms=[ArmSpec("A", legacy, is_control=True), ArmSpec("B", challenger)],
        )
        experiments.append(experiment)
    models_train()
    for experiment in experiments:
        experiment_start(experiment=experiment)
    return world


@pytest.fixture
def storefront(db):
    return storefront_build()


@pytest.fixture
def storefront_key(db) -> str:
    return storefront_key_create(name="tests")[1]


@pytest.fixture
def api(storefront_key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {storefront_key}")
    return client


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
