"""Which items a web process may serve: a per-process mask over the catalog's item indices.

Built once from the Item table (a fresh process, a new catalog version, or a process too far
behind the feed), then kept current by applying the availability feed (``AvailabilityChange``
rows, numbered without gaps in commit order) on the serving refresh: a change costs each process
one indexed query for the new rows and a copy of the mask, never a reload of its state or models.
Requests read the mask from their immutable ``ServingState``; a change swaps in a new one.
"""

from dataclasses import dataclass

import numpy as np

from experiments.models import AvailabilityChange, Item, ProgramSettings
from reco_runtime.catalog import Catalog

# Announces a new feed version to web processes (one MGET with the serving version).
AVAILABILITY_VERSION_KEY = "serving:availability_version"


@dataclass(frozen=True, slots=True)
class ItemAvailability:
    """Which items of catalog ``catalog_version`` may be served, as of feed ``version``.

    mask: (n_items,) read-only bool, False for unavailable items; None when every item may be
    served, so a shop with everything in stock pays nothing per request."""

    catalog_version: str
    version: int
    mask: np.ndarray | None

    @property
    def unavailable(self) -> int:
        return 0 if self.mask is None else int(self.mask.size - np.count_nonzero(self.mask))


def availability_version_stored() -> int:
    """The feed's last committed version (one primary-key read)."""
    version = ProgramSettings.objects.filter(pk=1).values_list("availability_version", flat=True).first()
    return version or 0


def _frozen(catalog_version: str, version: int, mask: np.ndarray) -> ItemAvailability:
    if mask.all():
        return ItemAvailability(catalog_version, version, None)
    mask.setflags(write=False)
    return ItemAvailability(catalog_version, version, mask)


def availability_build(catalog: Catalog, catalog_version: str) -> ItemAvailability:
    """The mask from the Item table (the truth), as of the feed version read just before it, so
    every later change is still applied on top (applying a change twice is harmless: each row
    holds the items' state, not a toggle)."""
    version = availability_version_stored()
    mask = np.ones(catalog.n_items, dtype=bool)
    unavailable = Item.objects.filter(available=False).values_list("item_id", flat=True)
    mask[catalog.indices_of(unavailable.iterator(chunk_size=10_000))] = False
    return _frozen(catalog_version, version, mask)


def availability_advance(current: ItemAvailability, catalog: Catalog) -> ItemAvailability:
    """``current`` with every feed batch committed since applied, on a copy (requests still
    reading ``current`` see it unchanged); rebuilt from the Item table when the feed no longer
    holds the next batch or a batch says to rebuild. The same object when nothing is new."""
    rows = list(
        AvailabilityChange.objects.filter(version__gt=current.version)
        .order_by("version")
        .values_list("version", "changes")
    )
    if not rows:
        return current
    if rows[0][0] != current.version + 1 or any(changes is None for _, changes in rows):
        return availability_build(catalog, current.catalog_version)
    mask = np.ones(catalog.n_items, dtype=bool) if current.mask is None else current.mask.copy()
    index_of = catalog.index_of
    for _, changes in rows:
        for item_id, available in changes.items():
            i = index_of(item_id)
            if i is not None:  # an item newer than the catalog is not served anyway
                mask[i] = available
    return _frozen(current.catalog_version, rows[-1][0], mask)
