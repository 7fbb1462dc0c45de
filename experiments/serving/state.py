"""In-process serving state: what the assignment hot path reads instead of the database.

Each web process keeps one immutable ``ServingState``. At most every
``SERVING_REFRESH_S`` seconds it reads the serving version: from the cache when the cache is
shared between processes (Redis in services mode), else from its database row (the embedded
default's cache lives in each process, so a command or another server could never announce a
change through it; one primary-key read a second is nothing on SQLite). Only when the version
changed does it reload slots, experiments, weights and keys from the database and load any
model artifact it has not loaded yet. The same read (one MGET, or one row) brings the item
availability feed's version; when only that moved, the state's availability mask is advanced
on a copy and swapped in (``serving/availability.py``), nothing else is reloaded. If the cache
is down it keeps serving the state it has.
After the first load the long-lived objects are frozen out of the garbage collector's walks
(``long_lived_freeze``).
"""

import dataclasses
import gc
import logging
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache

from experiments.domain.assignment_layout import TICKS, layout_current, layout_measures
from experiments.models import Experiment, ProgramSettings, Slot, Variant
from experiments.models.experiments import Status

from .availability import (
    AVAILABILITY_VERSION_KEY,
    ItemAvailability,
    availability_advance,
    availability_build,
)
from .model_store import catalog_current, model_for

log = logging.getLogger(__name__)
SERVING_VERSION_KEY = "serving:version"


@dataclass(frozen=True, slots=True)
class VariantState:
    id: int
    key: str
    algorithm: str
    model_version: str
    params: dict


@dataclass(frozen=True, slots=True)
class ArmState:
    id: int
    key: str
    variant: VariantState
    weight: float


@dataclass(frozen=True, slots=True)
class ExperimentState:
    """A running experiment as serving needs it: segment ``i`` of the layout covers the hash ticks
    up to ``segment_ends[i]`` and serves ``arms[segment_arms[i]]``; each arm's ``weight`` is its
    exact share of the ticks."""

    id: int
    key: str
    unit: str
    allocation_version: int
    arms: tuple[ArmState, ...]
    salt: str
    segment_ends: list[int]
    segment_arms: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SlotState:
    id: int
    key: str
    page: str
    default_k: int
    baseline: VariantState | None  # the global holdout's variant, always
    default: VariantState | None  # non-holdout traffic outside experiments (default, else baseline)
    fallback: VariantState | None  # when the chosen variant fails (fallback, else baseline)
    experiment: ExperimentState | None


@dataclass(frozen=True)
class ServingState:
    version: int
    holdout_share: float
    slots: dict[str, SlotState] = field(default_factory=dict)
    pages: dict[str, tuple[str, ...]] = field(default_factory=dict)
    api_keys: dict[str, tuple[str, float | None]] = field(default_factory=dict)
    catalog_version: str = ""
    availability: ItemAvailability | None = None  # None until a catalog is loaded


def _variant_state(variant: Variant | None) -> VariantState | None:
    if variant is None:
        return None
    return VariantState(
        variant.id, variant.key, variant.algorithm, variant.model_version, dict(variant.params)
    )


def _experiment_state(experiment: Experiment) -> ExperimentState | None:
    arms = [a for a in experiment.arms.all()]
    if len(arms) < 2:
        return None
    layout = layout_current(experiment.assignment_layout, [a.id for a in arms], [a.weight for a in arms])
    measures = layout_measures(layout)
    position = {a.id: i for i, a in enumerate(arms)}
    arm_states = tuple(
        ArmState(a.id, a.key, _variant_state(a.variant), measures.get(a.id, 0) / TICKS) for a in arms
    )
    return ExperimentState(
        experiment.id,
        experiment.key,
        experiment.randomization_unit,
        experiment.allocation_version,
        arm_states,
        experiment.salt,
        [end for end, _ in layout],
        tuple(position[arm_id] for _, arm_id in layout),
    )


def _api_keys() -> dict[str, tuple[str, float | None]]:
    from rest_framework_api_key.models import APIKey

    keys = {}
    for key in APIKey.objects.filter(revoked=False).only("prefix", "hashed_key", "expiry_date"):
        expiry = key.expiry_date.timestamp() if key.expiry_date else None
        keys[key.prefix] = (key.hashed_key, expiry)
    return keys


def state_load(version: int) -> ServingState:
    """Build a fresh state from the database (a handful of queries, never per request)."""
    program = ProgramSettings.load()
    running = {
        e.slot_id: e
        for e in Experiment.objects.filter(status=Status.RUNNING).prefetch_related("arms__variant")
    }
    slots: dict[str, SlotState] = {}
    pages: dict[str, list[str]] = {}
    for slot in (
        Slot.objects.filter(active=True)
        .select_related("baseline_variant", "default_variant", "fallback_variant")
        .order_by("position", "key")
    ):
        experiment = running.get(slot.id)
        slots[slot.key] = SlotState(
            slot.id,
            slot.key,
            slot.page,
            slot.default_k,
            _variant_state(slot.baseline_variant),
            _variant_state(slot.serving_default),
            _variant_state(slot.serving_fallback),
            _experiment_state(experiment) if experiment else None,
        )
        pages.setdefault(slot.page, []).append(slot.key)
    return ServingState(
        version=version,
        holdout_share=program.holdout_share,
        slots=slots,
        pages={p: tuple(keys) for p, keys in pages.items()},
        api_keys=_api_keys(),
        catalog_version=program.catalog_version,
    )


def _models_warm(state: ServingState) -> None:
    """Load every artifact the state can serve now, so no request pays for loading."""
    catalog = catalog_current(state.catalog_version)
    if catalog is None:
        return
    for slot in state.slots.values():
        variants = [slot.baseline, slot.default, slot.fallback] + (
            [a.variant for a in slot.experiment.arms] if slot.experiment else []
        )
        for variant in variants:
            if variant is not None and variant.model_version:
                model_for(variant.model_version, state.catalog_version)


def long_lived_freeze() -> None:
    """Collect garbage, then take every object alive now (imported code, the catalog's id index,
    models, the state) out of the cyclic garbage collector's walks (``gc.freeze``).

    Otherwise every full collection walks them all: a pause of 100+ ms of the worker at 100k
    items whenever enough new objects have survived, and the pages queued behind it miss their
    latency target. Called once per process, after the first state load: later reloads add few
    objects the collector tracks (model arrays are not tracked). Frozen objects are still
    freed when their last reference goes; only reference cycles among them stay, such as the
    request being served at that moment, once."""
    gc.collect()
    gc.freeze()


class StateHolder:
    """Holds the process's current state; refreshes it when the serving version moves, and its
    availability mask alone when only the availability feed's version moves."""

    def __init__(self) -> None:
        self._state: ServingState | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self._frozen = False
        self._availability_seen: int | None = None  # the last feed version announced and applied

    def get(self) -> ServingState:
        now = time.monotonic()
        refresh_s = settings.SERVING_REFRESH_S
        state = self._state
        if state is not None and now - self._checked_at < refresh_s:
            return state
        with self._lock:
            if self._state is not None and now - self._checked_at < refresh_s:
                return self._state
            self._checked_at = now
            version, availability_version = self._versions_read()
            if self._state is None or (version is not None and version != self._state.version):
                self._reload(version, availability_version)
            elif availability_version is not None and availability_version != self._availability_seen:
                self._availability_refresh(self._state, availability_version)
            return self._state

    def _reload(self, version: int | None, availability_version: int | None) -> None:
        previous = self._state
        try:
            fresh = state_load(version or 0)
            _models_warm(fresh)
            carried = previous.availability if previous is not None else None
            fresh = dataclasses.replace(fresh, availability=_availability_current(fresh, carried))
            self._state = fresh
            self._availability_seen = availability_version
            if settings.SERVING_GC_FREEZE and not self._frozen:
                long_lived_freeze()
                self._frozen = True
        except Exception:  # keep serving the old state through a database outage
            if previous is None:
                raise
            log.exception("serving state refresh failed; keeping version %s", previous.version)

    def _availability_refresh(self, state: ServingState, availability_version: int) -> None:
        try:
            availability = _availability_current(state, state.availability)
        except Exception:  # keep the mask we have; the next refresh tries again
            log.exception("availability refresh failed; keeping feed version %s", self._availability_seen)
            return
        if availability is not state.availability:
            self._state = dataclasses.replace(state, availability=availability)
        self._availability_seen = availability_version

    def reset(self) -> None:
        with self._lock:
            self._state = None
            self._checked_at = 0.0
            self._availability_seen = None

    @staticmethod
    def _versions_read() -> tuple[int | None, int | None]:
        """(serving version, availability feed version) in one round trip; (None, None) when
        neither the cache nor the database answers."""
        if not cache_shared():
            try:
                return versions_stored()
            except Exception:
                log.warning("cannot read serving version; serving the state we have")
                return None, None
        try:
            got = cache.get_many([SERVING_VERSION_KEY, AVAILABILITY_VERSION_KEY])
        except Exception:
            log.warning("cache unavailable; serving the state we have")
            return None, None
        if SERVING_VERSION_KEY not in got or AVAILABILITY_VERSION_KEY not in got:
            # Cache flushed or never set: the database row is the source of truth.
            try:
                version, availability_version = versions_stored()
                cache.set(SERVING_VERSION_KEY, version)
                # add, not set: a writer's newer announcement may have landed in between.
                cache.add(AVAILABILITY_VERSION_KEY, availability_version)
                return version, availability_version
            except Exception:
                log.warning("cannot read serving version; serving the state we have")
                return None, None
        return int(got[SERVING_VERSION_KEY]), int(got[AVAILABILITY_VERSION_KEY])


def _availability_current(state: ServingState, current: ItemAvailability | None) -> ItemAvailability | None:
    """``current`` advanced along the feed when it belongs to the state's catalog, else built
    afresh from the Item table; None while no catalog is loaded."""
    catalog = catalog_current(state.catalog_version)
    if catalog is None:
        return None
    if current is None or current.catalog_version != state.catalog_version:
        return availability_build(catalog, state.catalog_version)
    return availability_advance(current, catalog)


def cache_shared() -> bool:
    """Whether every process sees the same cache; a per-process (or no) cache cannot carry news."""
    return not isinstance(caches["default"], LocMemCache | DummyCache)


def serving_version_stored() -> int:
    """The serving version in the database, the source of truth (one primary-key read)."""
    return versions_stored()[0]


def versions_stored() -> tuple[int, int]:
    """(serving version, availability feed version) in the database (one primary-key read)."""
    row = ProgramSettings.objects.filter(pk=1).values_list("serving_version", "availability_version").first()
    if row is None:
        program = ProgramSettings.load()
        return program.serving_version, program.availability_version
    return row
