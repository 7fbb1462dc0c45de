import pytest

from experiments.models import Slot, Variant
from experiments.services.demo_world import _history_store, _items_store
from experiments.services.slot_defaults import SLOT_DEFAULT_VARIANTS, slot_default_spec
from experiments.services.slots import slot_save
from experiments.services.training import models_train
from reco_runtime.synthetic import world_generate

PRODUCT_PAGE = list(SLOT_DEFAULT_VARIANTS)


def shop_imported() -> None:
    """A fresh install's first steps: a catalog and its history imported."""
    world = world_generate(n_items=200, n_users=60, n_categories=6, n_brands=20, seed=1)
    _items_store(world)
    _history_store(world, n_sessions=200, seed=1)


@pytest.mark.django_db
def test_after_train_models_every_product_page_slot_serves_a_trained_default_and_baseline():
    shop_imported()
    models_train(evaluate=False)
    slots = {slot.key: slot for slot in Slot.objects.filter(page="product")}
    assert sorted(slots) == sorted(PRODUCT_PAGE)
    for key, slot in slots.items():
        assert slot.baseline_variant.algorithm == "popularity"
        assert slot.baseline_variant.model_version
        served = slot.serving_default
        assert (served.algorithm, served.params) == slot_default_spec(key)
        assert served.model_version.startswith(f"{served.algorithm}-")
    assert slots["pdp_similar"].default_variant.algorithm == "item_knn"
    assert slots["pdp_new_arrivals"].default_variant.algorithm == "content"
    assert slots["pdp_top_in_category"].default_variant.params == {"scope": "category"}


@pytest.mark.django_db
def test_a_slot_added_later_gets_variants_serving_the_trained_versions_at_once():
    shop_imported()
    models_train(evaluate=False)
    slot = slot_save(slot=Slot(key="cart_upsell", name="Cart upsell", page="cart"))
    assert slot.baseline_variant.key == "cart_upsell-baseline"
    assert slot.default_variant.algorithm == "hybrid"
    trained = Variant.objects.get(key="pdp_for_you-hybrid").model_version
    assert slot.default_variant.model_version == trained


@pytest.mark.django_db
def test_slots_that_have_variants_are_left_alone():
    slot = Slot.objects.get(key="pdp_similar")
    mine = Variant.objects.create(key="mine", slot=slot, algorithm="als")
    shop_imported()
    models_train(evaluate=False, algorithms=["als"])
    assert list(slot.variants.all()) == [mine]
