"""Writes to a slot's configuration and its three variant roles (DESIGN.md, Slot).

The baseline (what the global holdout is always served, and what program uplift is measured
against) changes only through ``slot_baseline_change``: confirmed, with a written reason, audited.
Every other save keeps the stored baseline, so neither a forged change-form POST nor a history
revert can move it. A slot's first baseline (while it has none) may be set by an ordinary save.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from experiments.models import Slot, Variant

from .serving_version import serving_version_bump
from .slot_defaults import slot_defaults_ensure

BASELINE_REASON_MAX_CHARS = 100  # simple_history's change reason column


class SlotError(ValidationError):
    """A slot rule was broken; ``code`` is stable for callers."""


def _roles_validate(slot: Slot) -> None:
    """Every variant role of the slot must be one of the slot's own variants."""
    for role in ("baseline_variant", "default_variant", "fallback_variant"):
        variant = getattr(slot, role)
        if variant is not None and slot.pk is not None and variant.slot_id != slot.pk:
            raise SlotError(
                f"{variant.key} belongs to another slot; the {role.split('_')[0]} of {slot.key} must be "
                "one of its own variants.",
                code="variant_slot_mismatch",
            )


def slot_save(*, slot: Slot) -> Slot:
    """Create or update a slot and publish it to the web processes.

    An existing slot keeps its stored baseline whatever ``slot.baseline_variant`` holds (a forged
    form field, a historical version being reverted); only a slot without a baseline takes one
    here. Use ``slot_baseline_change`` to replace a baseline.
    """
    with transaction.atomic():
        if slot.pk is not None:
            stored = Slot.objects.select_for_update().filter(pk=slot.pk).values_list("baseline_variant_id")
            row = stored.first()
            if row is not None and row[0] is not None:
                slot.baseline_variant_id = row[0]
        _roles_validate(slot)
        slot.full_clean()
        adding = slot.pk is None
        slot.save()
        if adding:
            slot_defaults_ensure(slot)
        serving_version_bump()
    return slot


def slot_baseline_change(*, slot: Slot, variant: Variant, user: AbstractBaseUser | None, reason: str) -> Slot:
    """Make ``variant`` the slot's baseline, audited with who did it and why.

    From the next serving refresh the global holdout is served ``variant`` on this slot, and so are
    non-holdout traffic outside experiments and failed slots while the default and fallback are
    blank. Exposures already logged keep the old baseline: the program report mixes both until
    they leave the data it reads (``selectors.program_report``).
    """
    reason = reason.strip()
    if not reason:
        raise SlotError("Write why the baseline changes; it is kept in the slot's history.", code="no_reason")
    if len(reason) > BASELINE_REASON_MAX_CHARS:
        raise SlotError(
            f"Keep the reason within {BASELINE_REASON_MAX_CHARS} characters.", code="reason_too_long"
        )
    with transaction.atomic():
        locked = Slot.objects.select_for_update().get(pk=slot.pk)
        if variant.slot_id != locked.pk:
            raise SlotError(
                f"{variant.key} is not a variant of slot {locked.key}.", code="variant_slot_mismatch"
            )
        if locked.baseline_variant_id == variant.pk:
            raise SlotError(f"{variant.key} is already the baseline of {locked.key}.", code="unchanged")
        locked.baseline_variant = variant
        locked._history_user = user  # type: ignore[attr-defined]  # read by simple_history
        locked._change_reason = reason  # type: ignore[attr-defined]
        locked.save(update_fields=["baseline_variant"])
        serving_version_bump()
    return locked
