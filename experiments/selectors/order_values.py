"""The shop's order values, read for the revenue model's prior and its cap on order values."""

import numpy as np

from experiments.models import Event, Exposure, Item

ORDER_HISTORY_LIMIT = 100_000  # the latest orders are plenty for a prior and a p99.5


def order_values_history() -> np.ndarray:
    """The shop's latest order values (purchase events), or its catalog's prices when it has none.

    (n,) money, all > 0. Empty only for a shop with neither orders nor priced items.
    """
    values = list(
        Event.objects.filter(type="purchase", value__gt=0)
        .order_by("-id")
        .values_list("value", flat=True)[:ORDER_HISTORY_LIMIT]
    )
    if not values:
        values = [
            float(p)
            for p in Item.objects.filter(price__gt=0).values_list("price", flat=True)[:ORDER_HISTORY_LIMIT]
        ]
    return np.asarray(values, dtype=np.float64)


def order_values_above(*, arm_ids: list[int], cap: float) -> list[np.ndarray]:
    """Per arm, in the given order, the attributed order values above ``cap``; each (k,) money."""
    found: dict[int, list[float]] = {arm_id: [] for arm_id in arm_ids}
    if np.isfinite(cap):
        rows = Exposure.objects.filter(arm_id__in=arm_ids, purchased=True, revenue__gt=cap)
        for arm_id, revenue in rows.values_list("arm_id", "revenue"):
            found[arm_id].append(revenue)
    return [np.asarray(found[arm_id], dtype=np.float64) for arm_id in arm_ids]
