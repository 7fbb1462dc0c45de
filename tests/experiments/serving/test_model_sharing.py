"""Training builds a hybrid from the generators fitted for standalone variants; serving loads each
distinct model once, and a page that serves a hybrid beside its generators scores the session once."""

from collections import Counter

import pytest

from experiments.models import Slot, Variant
from experiments.services.demo_world import _history_store, _items_store
from experiments.services.serving_version import serving_version_bump
from experiments.services.training import models_train
from experiments.serving.model_store import model_for, models_forget, registry
from experiments.serving.runtime import serving_state
from reco_runtime.models.item_knn import ItemKnn
from reco_runtime.models.session_bayes import SessionBayes
from reco_runtime.synthetic import world_generate

HYBRID = {"weights": {"knn": 1.0, "session": 1.0}}
SLOT_ALGORITHMS = {
    "pdp_similar": ("hybrid", HYBRID),
    "pdp_also_viewed": ("session_bayes", {}),
    "pdp_bought_together": ("item_knn", {"n_neighbors": 100}),  # the default, spelled out
}


@pytest.fixture
def shared_world(db):
    world = world_generate(n_items=300, n_users=80, n_categories=6, n_brands=20, seed=3)
    _items_store(world)
    _history_store(world, n_sessions=200, seed=3)
    for key, (algorithm, params) in SLOT_ALGORITHMS.items():
        slot = Slot.objects.get(key=key)
        slot.baseline_variant = Variant.objects.create(
            key=f"{key}-{algorithm}", slot=slot, algorithm=algorithm, params=params
        )
        slot.save()
    versions = models_train(evaluate=False)
    serving_version_bump()
    return world, versions


def _loaded(versions: dict, key: str):
    from experiments.models import ProgramSettings

    return model_for(versions[key], ProgramSettings.load().catalog_version)


@pytest.mark.django_db
@pytest.mark.parametrize("hybrid_first", [True, False])
def test_serving_holds_one_object_per_distinct_model(shared_world, hybrid_first):
    _, versions = shared_world
    models_forget()
    keys = ["pdp_similar-hybrid", "pdp_also_viewed-session_bayes", "pdp_bought_together-item_knn"]
    loaded = {key: _loaded(versions, key) for key in (keys if hybrid_first else keys[::-1])}
    hybrid = loaded["pdp_similar-hybrid"]
    assert hybrid.generators["session"] is loaded["pdp_also_viewed-session_bayes"]
    assert hybrid.generators["knn"] is loaded["pdp_bought_together-item_knn"]
    manifest = registry().manifest(versions["pdp_similar-hybrid"])
    assert manifest.content_key("session/") == registry().manifest(versions[keys[1]]).content_key()


@pytest.mark.django_db
def test_a_page_scores_the_session_once_for_a_hybrid_and_its_generators(shared_world, api, monkeypatch):
    world, _ = shared_world
    serving_state()  # loads the models, whose warm-up answers a request of its own
    calls: Counter = Counter()
    for cls, name in ((SessionBayes, "_pool"), (ItemKnn, "_scores")):
        original = getattr(cls, name)

        def counted(self, request, _original=original, _name=name):
            calls[_name] += 1
            return _original(self, request)

        monkeypatch.setattr(cls, name, counted)
    product = str(world.catalog.item_ids[7])
    body = {"session_id": "s-shared", "slots": list(SLOT_ALGORITHMS), "context": {"product_id": product}}
    decisions = api.post("/api/v1/assignments", body, format="json").json()["decisions"]
    assert [d["variant"] for d in decisions] == [f"{k}-{a}" for k, (a, _) in SLOT_ALGORITHMS.items()]
    assert all(len(d["items"]) == 10 and not d["fallback"] for d in decisions)
    served = [item["item_id"] for d in decisions for item in d["items"]]
    assert len(served) == len(set(served))
    assert product not in served
    assert calls == {"_pool": 1, "_scores": 1}
