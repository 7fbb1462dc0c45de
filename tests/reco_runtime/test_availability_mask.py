"""Items marked unavailable in ``RecRequest.available`` are never returned, and the slot is still
filled: by the model's own next candidates first, then by the available bestsellers."""

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reco_runtime.errors import RecoError
from reco_runtime.models import ALGORITHMS, _ranking
from reco_runtime.request import RecRequest, SessionSignals

from .test_contract import N_ITEMS, check_answer, requests

# Variants whose available items keep their place when others drop out: hybrid re-ranks by rank,
# so its fused scores move when a generator's list loses an item.
RANK_STABLE = sorted(set(ALGORITHMS) - {"hybrid"})


def _mask(unavailable) -> np.ndarray:
    mask = np.ones(N_ITEMS, dtype=bool)
    mask[list(unavailable)] = False
    mask.setflags(write=False)
    return mask


def _busy_request(k: int = 12) -> RecRequest:
    return RecRequest(
        k=k,
        user_id="u-7",
        product=3,
        signals=SessionSignals(viewed=((5, 20_000.0), (40, 3_000.0)), cart=(9,), removed=(11,)),
        exclude=frozenset({1, 2}),
    )


def _masking_what_it_would_serve(model, request: RecRequest) -> np.ndarray:
    """Unavailable: the first half of the unmasked answer, the head of the bestsellers, and a
    random tenth of the catalog."""
    items, _ = model.recommend(request)
    rng = np.random.default_rng(request.k)
    unavailable = set(items[: len(items) // 2 + 1].tolist()) | set(model.fallback[:30].tolist())
    unavailable |= set(rng.choice(N_ITEMS, N_ITEMS // 10, replace=False).tolist())
    return _mask(unavailable)


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests())
def test_it_never_returns_an_unavailable_item_and_fills_k(fitted_models, algorithm, request):
    model = fitted_models[algorithm]
    masked = dataclasses.replace(request, available=_masking_what_it_would_serve(model, request))
    items, scores = model.recommend(masked)
    check_answer(masked, items, scores)
    assert masked.available[items].all()
    assert len(items) == request.k


@pytest.mark.parametrize("algorithm", RANK_STABLE)
def test_the_models_own_available_items_keep_their_place(fitted_models, algorithm):
    model = fitted_models[algorithm]
    request = _busy_request()
    before, _ = model.recommend(request)
    gone = set(before[:4].tolist())
    after, _ = model.recommend(dataclasses.replace(request, available=_mask(gone)))
    kept = [i for i in before.tolist() if i not in gone]
    assert after[: len(kept)].tolist() == kept


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_a_page_served_from_shared_candidates_never_shows_an_unavailable_item(fitted_models, algorithm):
    model = fitted_models[algorithm]
    request = _busy_request()
    available = _masking_what_it_would_serve(model, request)
    request = dataclasses.replace(request, available=available)
    candidates = model.page_candidates(request, 12 * 8)
    assert available[candidates[0]].all()
    shown = set(request.exclude) | {request.product}
    for _ in range(12):
        items, _ = model.recommend_from(candidates, 8, shown, available)
        assert len(items) == 8
        assert available[items].all()
        assert not shown & set(items.tolist())
        shown |= set(items.tolist())


def test_backfill_drops_unavailable_items_whatever_the_model_proposed():
    available = _mask({2, 5, 6})
    items, scores = _ranking.backfill(
        np.array([5, 1], dtype=np.int32),
        np.array([0.9, 0.5], dtype=np.float32),
        4,
        frozenset({7}),
        np.array([6, 7, 2, 8, 9, 10], dtype=np.int32),
        available,
    )
    assert items.tolist() == [1, 8, 9, 10]
    assert np.all(np.diff(scores) < 0)


def test_a_sorted_list_walks_past_unavailable_items():
    items = np.arange(20, dtype=np.int32)
    scores = np.linspace(1, 0.1, 20).astype(np.float32)
    top, _ = _ranking.sorted_top_k(items, scores, 3, frozenset({1}), _mask({0, 2, 3, 4}))
    assert top.tolist() == [5, 6, 7]


def test_it_refuses_a_mask_that_is_not_one_bool_per_item(fitted_models):
    with pytest.raises(RecoError):
        RecRequest(k=3, available=np.ones(N_ITEMS, dtype=np.int8))
    with pytest.raises(RecoError):
        fitted_models["popularity"].recommend(RecRequest(k=3, available=np.ones(N_ITEMS - 1, dtype=bool)))


@settings(max_examples=30, deadline=None)
@given(
    unavailable=st.sets(st.integers(0, 40), max_size=30),
    k=st.integers(1, 15),
    exclude=st.sets(st.integers(0, 40), max_size=10),
)
def test_top_k_with_a_mask_equals_top_k_with_the_unavailable_items_excluded(unavailable, k, exclude):
    rng = np.random.default_rng(len(unavailable) + k)
    cands = rng.permutation(41).astype(np.int32)
    scores = rng.random(41).astype(np.float32)
    masked = _ranking.top_k(cands, scores, k, frozenset(exclude), _mask(unavailable))
    expected = _ranking.top_k(cands, scores, k, frozenset(exclude | unavailable))
    np.testing.assert_array_equal(masked[0], expected[0])
    np.testing.assert_array_equal(masked[1], expected[1])
