"""Reads of the slots' variant roles: today's baselines and when they changed (from the audit history)."""

from dataclasses import dataclass
from datetime import datetime

from experiments.models import Slot, Variant


@dataclass(frozen=True)
class BaselineChange:
    slot: str
    old: str | None  # variant key; None = the slot had no baseline
    new: str | None
    at: datetime
    by: str | None
    reason: str | None

    def as_dict(self) -> dict:
        return {
            "slot": self.slot,
            "from": self.old,
            "to": self.new,
            "at": self.at.isoformat(),
            "by": self.by,
            "reason": self.reason,
        }


def slot_baselines() -> list[dict]:
    """Each slot's baseline, the variant the global holdout is served: ``[{"slot", "variant"}]``."""
    slots = Slot.objects.select_related("baseline_variant").order_by("page", "position", "key")
    return [{"slot": s.key, "variant": s.baseline_variant.key if s.baseline_variant else None} for s in slots]


def baseline_changes(*, since: datetime | None = None) -> list[BaselineChange]:
    """Every change of a slot's baseline in the slots' history, oldest first (optionally from ``since``).

    A slot's first record is its creation, not a change; a record that kept the baseline is skipped.
    """
    records = Slot.history.order_by("id", "history_date", "history_id").values_list(
        "id", "key", "baseline_variant_id", "history_date", "history_user__username", "history_change_reason"
    )
    variant_keys = dict(Variant.objects.values_list("id", "key"))
    previous: dict[int, int | None] = {}
    changes = []
    for slot_id, key, baseline_id, at, user, reason in records:
        if slot_id in previous and previous[slot_id] != baseline_id and (since is None or at >= since):
            old = previous[slot_id]
            changes.append(
                BaselineChange(
                    slot=key,
                    old=variant_keys.get(old, f"deleted variant {old}") if old is not None else None,
                    new=variant_keys.get(baseline_id, f"deleted variant {baseline_id}")
                    if baseline_id is not None
                    else None,
                    at=at,
                    by=user,
                    reason=reason,
                )
            )
        previous[slot_id] = baseline_id
    return sorted(changes, key=lambda c: c.at)
