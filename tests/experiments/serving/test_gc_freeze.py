"""A web process freezes its long-lived objects out of the garbage collector's walks once, after
its first serving-state load; garbage made later is still collected."""

import gc
import weakref

import pytest

from experiments.serving.model_store import catalog_current, model_for
from experiments.serving.state import StateHolder


def _walked(obj) -> bool:
    """Whether a collection of any generation would walk ``obj`` (frozen objects are in none)."""
    return any(o is obj for o in gc.get_objects())


class _Node:
    other: "_Node | None" = None


@pytest.mark.django_db
def test_the_first_state_load_freezes_the_state_models_and_catalog_once_only(storefront, settings):
    settings.SERVING_GC_FREEZE = True
    holder = StateHolder()
    gc.unfreeze()
    try:
        state = holder.get()
        frozen = gc.get_freeze_count()
        assert frozen > 0
        slot = next(iter(state.slots.values()))
        model = model_for(slot.fallback.model_version, state.catalog_version)
        for long_lived in (state, slot, model, catalog_current(state.catalog_version)):
            assert gc.is_tracked(long_lived)
            assert not _walked(long_lived)
        holder.reset()  # a reload freezes nothing more
        reloaded = holder.get()
        assert gc.get_freeze_count() <= frozen  # frozen objects can still be freed, none added
        assert _walked(reloaded)
        a, b = _Node(), _Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()


@pytest.mark.django_db
def test_nothing_is_frozen_when_the_setting_is_off(storefront, settings):
    settings.SERVING_GC_FREEZE = False
    gc.unfreeze()
    StateHolder().get()
    assert gc.get_freeze_count() == 0
