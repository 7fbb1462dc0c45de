"""Item availability reaching serving: the one call every writer of ``Item.available`` makes.

Each call appends one batch to the availability feed (``AvailabilityChange``) and announces its
version; every web process applies the batch to its in-process mask on its next serving refresh
(``experiments/serving/availability.py``), so an item marked unavailable leaves every slot within
about ``SERVING_REFRESH_S`` without any process reloading its state or models.
"""

import logging

from django.core.cache import cache
from django.db import transaction

from experiments.models import AvailabilityChange, Item, ProgramSettings
from experiments.serving.availability import AVAILABILITY_VERSION_KEY

log = logging.getLogger(__name__)
AVAILABILITY_FEED_KEEP = 10_000  # batches kept; a web process further behind rebuilds its mask
AVAILABILITY_LISTED_MAX = 20_000  # a bigger batch is recorded as "rebuild from the Item table"
_READ_CHUNK = 2_000  # ids per IN (...) read, under SQLite's bound-variable limit


def items_availability_changed(item_ids: list[str]) -> None:
    """Tell serving that these items' availability changed (after the write has committed).

    Serving must stop showing an item marked unavailable within seconds, without reloading its
    whole state or its models. Returns at once for no ids; unknown ids are ignored. Safe to call
    twice, or for items whose availability did not change: a batch records the items' current
    state, read under the feed's lock, never a toggle.
    """
    ids = list(dict.fromkeys(item_ids))
    if ids:
        availability_feed_append(item_ids=ids)


def availability_feed_append(*, item_ids: list[str]) -> int:
    """Append one batch for ``item_ids`` to the feed and announce it; returns its version.

    The program settings row is locked while the items' state is read and the batch numbered,
    so concurrent writers' batches are numbered in commit order without gaps, and the later
    batch holds the later state (a state read before another writer's commit can never land
    after that writer's batch)."""
    with transaction.atomic():
        ProgramSettings.load()
        version = (
            ProgramSettings.objects.select_for_update()
            .values_list("availability_version", flat=True)
            .get(pk=1)
        ) + 1
        changes = None if len(item_ids) > AVAILABILITY_LISTED_MAX else _states_read(item_ids)
        AvailabilityChange.objects.create(version=version, changes=changes)
        ProgramSettings.objects.filter(pk=1).update(availability_version=version)
        AvailabilityChange.objects.filter(version__lte=version - AVAILABILITY_FEED_KEEP).delete()
        transaction.on_commit(lambda: _announce(version))
    return version


def _states_read(item_ids: list[str]) -> dict[str, bool]:
    states: dict[str, bool] = {}
    for start in range(0, len(item_ids), _READ_CHUNK):
        chunk = item_ids[start : start + _READ_CHUNK]
        states.update(Item.objects.filter(item_id__in=chunk).values_list("item_id", "available"))
    return states


def _announce(version: int) -> None:
    """Publish the new version where web processes poll. Processes compare it for inequality
    and then read every batch newer than their own from the database, so two announcements
    landing out of order lose nothing."""
    try:
        cache.set(AVAILABILITY_VERSION_KEY, version)
    except Exception:
        log.warning("cache unavailable; web processes pick up availability %s when it returns", version)
