"""``PUT /api/v1/items``: a storefront's batch of item upserts (the day's price and stock changes).

Each item is judged alone, like an event: one bad item never loses the good ones beside it.
An item already stored may carry only the fields that change (``{"item_id": "p-1",
"available": false}``); a new one needs every required field (``missing_field``).
"""

from dataclasses import dataclass, field
from typing import Any

from experiments.domain.item_fields import ItemInvalid, item_fields_parse

from .item_upserts import items_upsert

MAX_ITEMS_PER_BATCH = 1000


@dataclass
class ItemBatchResult:
    accepted: int = 0  # items created or changed
    unchanged: int = 0  # items already exactly so (a retried batch lands here)
    rejected: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "unchanged": self.unchanged, "rejected": self.rejected}


def _raw_id(raw: Any) -> str | None:
    item_id = raw.get("item_id") if isinstance(raw, dict) else None
    if isinstance(item_id, int) and not isinstance(item_id, bool):
        return str(item_id)
    return item_id if isinstance(item_id, str) and item_id else None


def items_record(*, items: list) -> ItemBatchResult:
    """Validate and upsert a batch; the accepted ones are committed when this returns."""
    result = ItemBatchResult()
    rows: list[tuple[int, dict[str, Any]]] = []
    seen: set[str] = set()
    for index, raw in enumerate(items):
        item_id = _raw_id(raw)
        try:
            if item_id is not None and item_id in seen:
                raise ItemInvalid("item_id", "duplicate_id")
            if item_id is not None:
                seen.add(item_id)
            rows.append((index, item_fields_parse(raw, text=False)))
        except ItemInvalid as exc:
            result.rejected.append({"index": index, "item_id": item_id, "field": exc.field, "code": exc.code})
    upserted = items_upsert(rows)
    result.accepted = upserted.created + upserted.updated
    result.unchanged = upserted.unchanged
    result.rejected += [
        {"index": r.position, "item_id": r.item_id, "field": r.field, "code": r.code}
        for r in upserted.rejected
    ]
    result.rejected.sort(key=lambda r: r["index"])
    return result
