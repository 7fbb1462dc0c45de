"""Out of the box, every slot serves: a baseline and a default variant for each slot that has none.

The one place that says which algorithm suits which slot. A slot not named here (one a shop adds
later) gets the ``hybrid`` re-ranker, which blends co-occurrence, the session and content, so it
fills any placement sensibly. The baseline of every slot is global popularity: what a shop without
this system would show, and what program uplift is measured against.

- similar / bought together / also viewed / accessories: item-to-item co-occurrence (``item_knn``)
- complete the look, more from the brand, price alternatives: ``content`` (text, category and
  brand; reaches items with no interactions yet); new arrivals: ``content`` over the items listed
  in the last 30 days
- for you, and any other slot: ``hybrid`` with a content generator over new listings beside
  co-occurrence, the session and popularity, so new arrivals reach it too
- recently viewed: ``session_bayes`` (the session's own items)
- top in category: ``popularity`` by category (7-day half-life); trending in category: the same
  with a 1-day half-life
"""

from django.db import transaction

from experiments.models import Slot, Variant
from reco_runtime.models.hybrid import PARAMS_WITH_NEW_ARRIVALS

BASELINE = ("popularity", {})
ANY_SLOT_DEFAULT = ("hybrid", PARAMS_WITH_NEW_ARRIVALS)
SLOT_DEFAULT_VARIANTS: dict[str, tuple[str, dict]] = {
    "pdp_similar": ("item_knn", {}),
    "pdp_bought_together": ("item_knn", {}),
    "pdp_also_viewed": ("item_knn", {}),
    "pdp_accessories": ("item_knn", {}),
    "pdp_complete_the_look": ("content", {}),
    "pdp_new_arrivals": ("content", {"new_within_days": 30.0}),
    "pdp_more_from_brand": ("content", {}),
    "pdp_price_alternatives": ("content", {}),
    "pdp_for_you": ANY_SLOT_DEFAULT,
    "pdp_recently_viewed": ("session_bayes", {}),
    "pdp_top_in_category": ("popularity", {"scope": "category"}),
    "pdp_trending_in_category": ("popularity", {"scope": "category", "half_life_days": 1.0}),
}


def slot_default_spec(slot_key: str) -> tuple[str, dict]:
    """(algorithm, params) of the slot's out-of-the-box default variant."""
    return SLOT_DEFAULT_VARIANTS.get(slot_key, ANY_SLOT_DEFAULT)


def _variant_made(slot: Slot, suffix: str, algorithm: str, params: dict, description: str) -> Variant:
    # A variant of the same recipe elsewhere may already have a trained version: serve it at once.
    trained = (
        Variant.objects.filter(algorithm=algorithm, params=params)
        .exclude(model_version="")
        .order_by("-created_at")
        .values_list("model_version", flat=True)
        .first()
    )
    variant, _ = Variant.objects.get_or_create(
        key=f"{slot.key}-{suffix}"[:64],
        defaults={
            "slot": slot,
            "algorithm": algorithm,
            "params": params,
            "model_version": trained or "",
            "description": description,
        },
    )
    return variant


def slot_defaults_ensure(slot: Slot) -> bool:
    """Give a slot without variants its baseline and default variant; True if it got them."""
    with transaction.atomic():
        locked = Slot.objects.select_for_update().get(pk=slot.pk)
        if locked.variants.exists():
            return False
        baseline = _variant_made(locked, "baseline", *BASELINE, "Out of the box: global popularity")
        algorithm, params = slot_default_spec(locked.key)
        default = baseline
        if (algorithm, params) != BASELINE:
            default = _variant_made(locked, algorithm, algorithm, params, f"Out of the box: {algorithm}")
        locked.baseline_variant = baseline
        locked.default_variant = default if default != baseline else None
        locked.save(update_fields=["baseline_variant", "default_variant"])
    slot.refresh_from_db()
    return True


def slots_defaults_ensure() -> list[str]:
    """``slot_defaults_ensure`` for every active slot; the keys of the slots that got variants."""
    return [slot.key for slot in Slot.objects.filter(active=True) if slot_defaults_ensure(slot)]
