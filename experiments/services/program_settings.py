"""Writes behind the merchandiser admin that are not experiment lifecycle steps."""

from django.db import transaction
from django.db.models import Model

from experiments.models import ProgramSettings
from experiments.serving.state import serving_version_bump


def serving_config_save(*, obj: Model) -> Model:
    """Save a slot, variant or program setting and tell web processes to reload their serving state.

    Without the version bump a new fallback variant, model version or holdout share would only be
    served after the next unrelated change.
    """
    with transaction.atomic():
        obj.full_clean()
        obj.save()
        serving_version_bump()
    return obj


def holdout_share_set(*, share: float) -> ProgramSettings:
    """Set the global holdout share (the one place it lives) and publish it."""
    program = ProgramSettings.load()
    program.holdout_share = share
    return serving_config_save(obj=program)
