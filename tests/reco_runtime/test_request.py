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
