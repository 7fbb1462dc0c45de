"""A slot whose variant needs the page's product, asked without one the catalog knows, is served
its fallback with a reason; real items, never the back-filled placeholder scores."""

import pytest

from experiments.models import Experiment, Slot, Variant
from experiments.models.experiments import Status
from experiments.services.serving_version import serving_version_bump
from experiments.services.training import models_train

K = 6


def _assign(api, **body):
    response = api.post("/api/v1/assignments", {"session_id": "s-1", "k": K, **body}, format="json")
    assert response.status_code == 200, response.content
    return {d["slot"]: d for d in response.json()["decisions"]}


def _serve_outside_experiments(slot_key: str, *, default: str, fallback: str | None = None) -> Slot:
    """``slot_key`` served its ``default`` variant (no experiment), with ``fallback`` if given."""
    Experiment.objects.filter(slot__key=slot_key).update(status=Status.CONCLUDED)
    slot = Slot.objects.get(key=slot_key)
    slot.default_variant = Variant.objects.get(key=default)
    slot.fallback_variant = Variant.objects.get(key=fallback) if fallback else None
    slot.save()
    serving_version_bump()
    return slot


@pytest.fixture
def knn_similar(storefront):
    """pdp_similar serves item_knn ("similar to this product"); its fallback is the global legacy list."""
    Variant.objects.create(
        key="pdp_similar-knn", slot=Slot.objects.get(key="pdp_similar"), algorithm="item_knn"
    )
    models_train(algorithms=["item_knn"], evaluate=False)
    _serve_outside_experiments("pdp_similar", default="pdp_similar-knn")
    return storefront


def _real_items(decision: dict) -> None:
    scores = [i["score"] for i in decision["items"]]
    assert len(scores) == K
    # Back-filled placeholders score min(last, 0) - r / (n + 1): -0.142857, -0.285714, ... for k = 6.
    assert all(s > 0 for s in scores), scores
    assert scores == sorted(scores, reverse=True)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("context", "reason"),
    [
        ({"product_id": "no-such-product"}, "unknown_product"),
        ({"page": "product"}, "missing_product"),
        ({}, "missing_product"),
    ],
)
def test_it_serves_a_product_slot_its_fallback_when_the_product_is_unknown_or_missing(
    api, knn_similar, context, reason
):
    decisions = _assign(api, slots=["pdp_similar", "pdp_trending_in_category"], context=context)
    similar = decisions["pdp_similar"]
    assert similar["fallback"] is True
    assert similar["reason"] == reason
    assert similar["variant"] == "pdp_similar-legacy"
    assert similar["experiment"] is None
    _real_items(similar)


@pytest.mark.django_db
def test_it_serves_a_slot_normally_when_its_variant_does_not_need_the_product(api, knn_similar):
    _serve_outside_experiments("pdp_for_you", default="pdp_for_you-legacy")
    decisions = _assign(api, slots=["pdp_for_you"], context={"product_id": "no-such-product"})
    assert decisions["pdp_for_you"]["fallback"] is False
    assert "reason" not in decisions["pdp_for_you"]
    _real_items(decisions["pdp_for_you"])


@pytest.mark.django_db
def test_it_serves_a_known_product_with_the_variant_itself(api, knn_similar):
    product = str(knn_similar.catalog.item_ids[5])
    decisions = _assign(api, slots=["pdp_similar"], context={"product_id": product})
    assert decisions["pdp_similar"]["fallback"] is False
    assert decisions["pdp_similar"]["variant"] == "pdp_similar-knn"


@pytest.mark.django_db
def test_it_serves_no_items_when_the_fallback_needs_the_product_too(api, knn_similar):
    _serve_outside_experiments("pdp_similar", default="pdp_similar-knn", fallback="pdp_similar-category")
    decisions = _assign(api, slots=["pdp_similar"], context={"product_id": "no-such-product"})
    assert decisions["pdp_similar"]["fallback"] is True
    assert decisions["pdp_similar"]["reason"] == "unknown_product"
    assert decisions["pdp_similar"]["items"] == []


@pytest.mark.django_db
def test_no_slot_of_a_product_less_page_returns_placeholder_scores(api, knn_similar):
    for product in ("no-such-product", None):
        context = {"product_id": product} if product else {}
        for decision in _assign(api, context=context).values():
            assert all(i["score"] > 0 for i in decision["items"]), decision
            if decision["fallback"]:
                assert decision["reason"] in ("unknown_product", "missing_product")


@pytest.mark.django_db
def test_a_cart_page_slot_anchored_on_the_cart_needs_no_product(api, storefront):
    slot = Slot.objects.create(key="cart_upsell", name="Cart upsell", page="cart")
    knn = Variant.objects.create(key="cart_upsell-knn", slot=slot, algorithm="item_knn")
    slot.baseline_variant = knn
    slot.save()
    models_train(algorithms=["item_knn"], evaluate=False)
    serving_version_bump()
    cart = [str(storefront.catalog.item_ids[3])]
    decisions = _assign(api, context={"page": "cart", "cart": cart})
    assert decisions["cart_upsell"]["fallback"] is False
    assert decisions["cart_upsell"]["variant"] == "cart_upsell-knn"
    assert len(decisions["cart_upsell"]["items"]) == K


@pytest.mark.django_db
def test_a_failing_model_falls_back_with_reason_model_error(api, knn_similar, monkeypatch):
    from reco_runtime.models import ItemKnn

    def broken(self, request):
        raise RuntimeError("corrupt neighbour lists")

    monkeypatch.setattr(ItemKnn, "recommend", broken)
    product = str(knn_similar.catalog.item_ids[5])
    similar = _assign(api, slots=["pdp_similar"], context={"product_id": product})["pdp_similar"]
    assert (similar["fallback"], similar["reason"], similar["variant"]) == (
        True,
        "model_error",
        "pdp_similar-legacy",
    )
    _real_items(similar)
