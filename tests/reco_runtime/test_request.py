import pytest

from reco_runtime.cohorts import N_COHORTS, cohort_of
from reco_runtime.errors import RecoError
from reco_runtime.request import RecRequest, SessionSignals


def test_request_defaults_and_validation():
    req = RecRequest(k=5, exclude={1, 2})
    assert req.exclude == frozenset({1, 2})
    assert req.signals.is_empty
    for bad in (0, -1, 10_000, 2.5, True):
        with pytest.raises(RecoError):
            RecRequest(k=bad)
    with pytest.raises(RecoError):
        RecRequest(k=3, product=-1)


def test_signals_validate_items_and_dwell():
    sig = SessionSignals(viewed=((3, 1500),), cart=(4,), removed=(5,))
    assert sig.viewed == ((3, 1500.0),)
    assert sig.max_item() == 5
    with pytest.raises(RecoError):
        SessionSignals(viewed=((3, -1.0),))
    with pytest.raises(RecoError):
        SessionSignals(cart=("p-1",))


def test_cohorts_are_stable_and_in_range():
    assert cohort_of("u-42") == cohort_of("u-42")
    assert {cohort_of(f"u-{i}") for i in range(500)} == set(range(N_COHORTS))
    assert cohort_of(None, "desktop") == 1
    assert cohort_of(None, None) == 0


def test_request_build_maps_external_ids_and_drops_unknown_ones(tiny_catalog):
    from reco_runtime.request import request_build

    req = request_build(
        tiny_catalog,
        k=5,
        user_id="u-1",
        product_id="p-2",
        viewed=[("p-3", 1200), ("ghost", 5), ("p-4", None)],
        cart_ids=["p-7", "ghost"],
        removed_ids=["p-8"],
        exclude_ids=["p-9"],
        device="mobile",
    )
    assert req.product == 2
    assert req.signals.viewed == ((3, 1200.0), (4, 0.0))
    assert req.signals.cart == (7,)
    assert req.signals.removed == (8,)
    assert req.exclude == frozenset({7, 9})
    assert request_build(tiny_catalog, k=3, product_id="ghost").product is None
