"""The retraining guard, pins and rollbacks, and the training window."""

import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from experiments.models import Event, Interaction, Slot, Variant
from experiments.services import training
from experiments.services.demo_world import _history_store, _items_store, groups_ensure
from experiments.services.training import catalog_snapshot, interactions_load, models_train
from experiments.services.variant_versions import VariantVersionError, variant_version_set
from reco_runtime.models.item_knn import ItemKnn
from reco_runtime.synthetic import world_generate
from tests.experiments.roles import role_client
from tests.factories import ItemFactory


@pytest.fixture
def variant(db):
    world = world_generate(n_items=300, n_users=120, n_categories=8, n_brands=30, seed=0)
    _items_store(world)
    _history_store(world, n_sessions=800, seed=0)
    return Variant.objects.create(
        key="sim-knn", slot=Slot.objects.get(key="pdp_similar"), algorithm="item_knn"
    )


def serving_trained_on_older_data(monkeypatch, variant) -> str:
    """Train a first version on the oldest 70% of the history, so newer interactions stay unseen."""
    full_load = training.interactions_load

    def older(catalog):
        full = full_load(catalog)
        return full.subset(full.ts < np.quantile(full.ts, 0.7))

    monkeypatch.setattr(training, "interactions_load", older)
    models_train(algorithms=["item_knn"])
    monkeypatch.setattr(training, "interactions_load", full_load)
    variant.refresh_from_db()
    assert variant.model_version.startswith("item_knn-")
    return variant.model_version


def test_a_worse_version_is_kept_out_with_the_reason_and_a_better_one_goes_live(monkeypatch, variant):
    first = serving_trained_on_older_data(monkeypatch, variant)
    fit = ItemKnn.fit

    def shuffled_fit(self, interactions, catalog, **kwargs):
        rng = np.random.default_rng(0)
        garbled = dataclasses.replace(interactions, item_idx=rng.permutation(interactions.item_idx))
        return fit(self, garbled, catalog, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(ItemKnn, "fit", shuffled_fit)
        assigned = models_train(algorithms=["item_knn"])
        variant.refresh_from_db()
        assert assigned == {}, variant.version_note
    variant.refresh_from_db()
    assert variant.model_version == first
    assert "kept out" in variant.version_note
    assert f"{first} keeps serving" in variant.version_note
    record = variant.history.first()
    assert record.history_change_reason.startswith("retrain: item_knn-")
    assert "kept out" in record.history_change_reason

    assigned = models_train(algorithms=["item_knn"])
    variant.refresh_from_db()
    assert assigned["sim-knn"] == variant.model_version  # the slots' out-of-the-box variants move too
    assert variant.model_version != first
    assert "serves" in variant.version_note
    assert "recall@10" in variant.version_note


def test_both_versions_are_scored_on_the_same_fresh_holdout_users(monkeypatch, variant):
    serving_trained_on_older_data(monkeypatch, variant)
    seen = []
    compare = training.guard_compare

    def spy(candidate, serving, train, test, *, serving_data_end, settings):
        verdict = compare(
            candidate, serving, train, test, serving_data_end=serving_data_end, settings=settings
        )
        seen.append((serving_data_end, verdict))
        return verdict

    monkeypatch.setattr(training, "guard_compare", spy)
    models_train(algorithms=["item_knn"])
    ((data_end, verdict),) = seen
    assert verdict.compared
    assert verdict.users >= 20
    assert data_end < Interaction.objects.latest("ts").ts.timestamp()


def test_a_pinned_variant_is_never_moved_by_retraining_and_the_pin_is_audited(
    monkeypatch, variant, django_user_model
):
    first = serving_trained_on_older_data(monkeypatch, variant)
    mia = django_user_model.objects.create(username="mia")
    variant_version_set(variant=variant, version=first, pinned=True, user=mia, reason="holiday campaign")
    record = variant.history.first()
    assert (record.history_user, record.history_change_reason, record.version_pinned) == (
        mia,
        "holiday campaign",
        True,
    )
    assert "sim-knn" not in models_train(algorithms=["item_knn"])
    variant.refresh_from_db()
    assert variant.model_version == first
    assert "pinned" in variant.version_note


def test_a_version_change_by_hand_needs_a_reason_and_the_right_algorithm(variant):
    with pytest.raises(VariantVersionError) as caught:
        variant_version_set(variant=variant, version="", pinned=True, user=None, reason=" ")
    assert caught.value.code == "no_reason"
    with pytest.raises(VariantVersionError) as caught:
        variant_version_set(
            variant=variant, version="als-20260101T000000-abcd", pinned=True, user=None, reason="x"
        )
    assert caught.value.code == "wrong_algorithm"


def test_a_merchandiser_rolls_back_a_version_in_the_admin_with_a_reason(variant):
    models_train(algorithms=["item_knn"])
    variant.refresh_from_db()
    first = variant.model_version
    Variant.objects.filter(pk=variant.pk).update(model_version="")
    models_train(algorithms=["item_knn"])
    variant.refresh_from_db()
    assert variant.model_version != first
    groups_ensure()
    client = role_client("mia", "merchandiser")
    data = {"key": variant.key, "slot": variant.slot_id, "algorithm": "item_knn", "params": "{}"}
    data |= {"model_version": first, "version_pinned": "on", "description": ""}
    url = f"/admin/experiments/variant/{variant.pk}/change/"
    page = client.post(url, data)
    assert page.status_code == 200
    assert "Say why the version or pin changes" in page.content.decode()
    assert client.post(url, data | {"version_reason": "the new one shows sold-out sizes"}).status_code == 302
    variant.refresh_from_db()
    assert (variant.model_version, variant.version_pinned) == (first, True)
    record = variant.history.first()
    assert (record.history_user.username, record.history_change_reason) == (
        "mia",
        "the new one shows sold-out sizes",
    )
    assert "the new one shows sold-out sizes" in client.get(url).content.decode()


@pytest.mark.django_db
def test_training_reads_imported_and_live_interactions_within_the_window_back_from_the_newest(settings):
    settings.TRAINING_WINDOW_DAYS = 10
    ItemFactory(item_id="a")
    ItemFactory(item_id="b")
    newest = datetime(2021, 3, 1, tzinfo=UTC)  # a history that ended long ago still trains
    for n, (item, age_days) in enumerate([("a", 0), ("b", 9), ("a", 11), ("b", 400)]):
        Interaction.objects.create(
            event_id=f"i{n}", user_id="u", item_id=item, type="view", ts=newest - timedelta(days=age_days)
        )
    live = dict(type="click", session_id="s", received_at=newest)
    Event.objects.create(event_id="e1", item_id="b", ts=newest - timedelta(days=2), **live)
    Event.objects.create(event_id="e2", item_id="a", ts=newest - timedelta(days=30), **live)
    Event.objects.create(event_id="e3", type="impression", session_id="s", items=["a"], ts=newest)
    loaded = interactions_load(catalog_snapshot())
    assert len(loaded) == 3
    assert sorted(loaded.user_ids.tolist()) == ["session:s", "u"]
    assert loaded.window == ((newest - timedelta(days=9)).timestamp(), newest.timestamp())
