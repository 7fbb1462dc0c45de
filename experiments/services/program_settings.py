"""Writes behind the merchandiser admin that are not experiment lifecycle steps."""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Model

from experiments.models import ProgramSettings

from .serving_version import serving_version_bump


def serving_config_save(*, obj: Model) -> Model:
    """Save a slot, variant or program setting and tell web processes to reload their serving state.

    Without the version bump a new fallback variant, model version or holdout share would only be
    served after the next unrelated change. An existing row saves its editable fields only: the
    program's ``serving_version`` moves only by ``serving_version_bump`` and its ``catalog_version``
    only by a catalog import, so neither an edit begun before such a change nor a History revert
    can set them back.
    """
    with transaction.atomic():
        obj.full_clean()
        if obj._state.adding:
            obj.save()
        else:
            editable = [f.attname for f in obj._meta.concrete_fields if f.editable and not f.primary_key]
            obj.save(update_fields=editable)
        serving_version_bump()
    return obj


def serving_config_delete(*, objs: Iterable[Model]) -> None:
    """Delete slots or variants and tell web processes, which would otherwise go on serving them."""
    with transaction.atomic():
        for obj in objs:
            obj.delete()
        serving_version_bump()


def holdout_share_set(*, share: float) -> ProgramSettings:
    """Set the global holdout share (the one place it lives) and publish it."""
    program = ProgramSettings.load()
    program.holdout_share = share
    return serving_config_save(obj=program)
