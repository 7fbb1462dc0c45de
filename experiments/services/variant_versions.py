"""Which model version a variant serves: moved by retraining through the guard, or set by a person.

Every move is a historical record of the variant (django-simple-history): who (none for
retraining), when, and why in the change reason; the full reason is also kept in
``Variant.version_note``, which the variant's admin page shows. A pinned variant is never moved by
retraining; a person pins a version (or rolls back to an older one) with ``variant_version_set``.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from experiments.models import Variant

from .serving_version import serving_version_bump

CHANGE_REASON_MAX_CHARS = 100  # simple_history's change reason column


class VariantVersionError(ValidationError):
    """A version change was refused; ``code`` is stable."""


def _audited_save(variant: Variant, *, user: AbstractBaseUser | None, reason: str, fields: list[str]) -> None:
    variant._history_user = user  # type: ignore[attr-defined]  # read by simple_history
    variant._change_reason = reason[:CHANGE_REASON_MAX_CHARS]  # type: ignore[attr-defined]
    variant.save(update_fields=fields)


def variant_version_record(*, variant: Variant, version: str | None, note: str) -> None:
    """Retraining's verdict on one variant: serve ``version`` (None: keep the current one), and why.

    Expects to run inside the caller's transaction, which also bumps the serving version."""
    fields = ["version_note"]
    variant.version_note = note
    if version is not None and version != variant.model_version:
        variant.model_version = version
        fields.append("model_version")
    _audited_save(variant, user=None, reason=f"retrain: {note}", fields=fields)


def variant_version_set(
    *, variant: Variant, version: str, pinned: bool, user: AbstractBaseUser | None, reason: str
) -> Variant:
    """A person sets the variant's version (a rollback or a newer one) and whether it stays pinned.

    ``version`` must be a trained version of the variant's algorithm (the admin form lists them).
    """
    reason = reason.strip()
    if not reason:
        raise VariantVersionError(
            "Write why the version changes; it is kept in the variant's history.", code="no_reason"
        )
    if version and not version.startswith(f"{variant.algorithm}-"):
        raise VariantVersionError(
            f"{version} was not trained with {variant.algorithm}.", code="wrong_algorithm"
        )
    with transaction.atomic():
        locked = Variant.objects.select_for_update().get(pk=variant.pk)
        if locked.model_version == version and locked.version_pinned == pinned:
            raise VariantVersionError(
                f"{locked.key} already serves {version or 'no version'} so.", code="unchanged"
            )
        locked.model_version, locked.version_pinned = version, pinned
        who = getattr(user, "get_username", lambda: "someone")()
        locked.version_note = (
            f"{'pinned' if pinned else 'set'} to {version or 'no version'} by {who}: {reason}"
        )
        _audited_save(
            locked, user=user, reason=reason, fields=["model_version", "version_pinned", "version_note"]
        )
        serving_version_bump()
    return locked
