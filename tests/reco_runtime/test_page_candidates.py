"""Serving several slots of one page from one candidate list (``page_candidates`` +
``recommend_from``): the same promises as ``recommend`` for every slot, no item twice on the page,
and the same answer as ``recommend`` for the first slot."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reco_runtime.errors import RecoError
from reco_runtime.models import ALGORITHMS
from reco_runtime.request import RecRequest

from .test_contract import check_answer, requests


def _page(model, request: RecRequest, ks: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    base = request.exclude | ({request.product} if request.product is not None else set())
    candidates = model.page_candidates(request, sum(ks))
    shown: set[int] = set(base)
    answers = []
    for k in ks:
        items, scores = model.recommend_from(candidates, k, shown)
        answers.append((items, scores))
        shown.update(items.tolist())
    return answers


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests(), ks=st.lists(st.integers(1, 20), min_size=1, max_size=6))
def test_each_slot_of_a_page_keeps_the_contract_and_no_item_repeats(fitted_models, algorithm, request, ks):
    model = fitted_models[algorithm]
    answers = _page(model, request, ks)
    page_items: list[int] = []
    for k, (items, scores) in zip(ks, answers, strict=True):
        slot_request = RecRequest(k=k, product=request.product, exclude=request.exclude | set(page_items))
        check_answer(slot_request, items, scores)
        assert len(items) == k  # 3000 items: back-filling always fills the slot
        page_items += items.tolist()
    assert len(page_items) == len(set(page_items))


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests())
def test_the_first_slot_gets_what_recommend_gives(fitted_models, algorithm, request):
    model = fitted_models[algorithm]
    expected_items, expected_scores = model.recommend(request)
    (items, scores), *_ = _page(model, request, [request.k, 10])
    # Same scores; items may differ only in the order of tied scores (and which tied ones make it).
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-6)
    above = scores > scores[-1] if len(scores) else scores.astype(bool)
    assert set(items[above].tolist()) == set(expected_items[above].tolist())


def test_page_candidates_checks_the_request_like_recommend(fitted_models):
    model = fitted_models["hybrid"]
    with pytest.raises(RecoError):
        model.page_candidates(RecRequest(k=5, product=10**6), 20)
    unfitted = ALGORITHMS["hybrid"]()
    with pytest.raises(RecoError):
        unfitted.page_candidates(RecRequest(k=5), 20)
