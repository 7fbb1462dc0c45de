"""The serving version: the one write that tells every web process to reload its serving state."""

import logging

from django.core.cache import cache
from django.db import transaction
from django.db.models import F

from experiments.models import ProgramSettings
from experiments.serving.state import SERVING_VERSION_KEY

log = logging.getLogger(__name__)


def serving_version_bump() -> int:
    """Announce a change that web processes must pick up; call inside the changing transaction."""
    ProgramSettings.load()
    ProgramSettings.objects.filter(pk=1).update(serving_version=F("serving_version") + 1)
    version = ProgramSettings.objects.values_list("serving_version", flat=True).get(pk=1)

    def publish() -> None:
        try:
            cache.set(SERVING_VERSION_KEY, version)
        except Exception:
            log.warning("cache unavailable; web processes pick up version %s when it returns", version)

    transaction.on_commit(publish)
    return version
