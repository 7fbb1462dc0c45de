"""A page's requests share a ``page_memo``: models keep their per-page work in it, a ``hybrid``
built from the standalone models' objects reuses their work, and no answer changes."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reco_runtime.models.als import Als
from reco_runtime.models.hybrid import Hybrid
from reco_runtime.models.item_knn import ItemKnn
from reco_runtime.models.session_bayes import SessionBayes
from reco_runtime.request import RecRequest

from .test_contract import requests


def _slot(request: RecRequest, k: int, exclude: frozenset[int], memo: dict | None) -> RecRequest:
    return RecRequest(
        k=k,
        user_id=request.user_id,
        product=request.product,
        signals=request.signals,
        exclude=exclude,
        device=request.device,
        page_memo=memo,
    )


@pytest.fixture(scope="module")
def shared_hybrid(fitted_models) -> Hybrid:
    """A hybrid over the very objects that serve as standalone variants."""
    generators = {"knn": "item_knn", "als": "als", "session": "session_bayes", "popularity": "popularity"}
    return Hybrid.from_generators({g: fitted_models[a] for g, a in generators.items()})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests(), extra=st.lists(st.integers(0, 60), max_size=30))
def test_answers_with_a_shared_memo_equal_answers_without(fitted_models, shared_hybrid, request, extra):
    """Every variant answers two slots of a page (the second excluding more) with and without a
    memo shared by all of them; the answers are identical, item for item."""
    models = [*fitted_models.values(), shared_hybrid]
    memo: dict = {}
    wider = request.exclude | frozenset(extra)
    for model in models:
        for k, exclude in ((request.k, request.exclude), (10, wider)):
            got = model.recommend(_slot(request, k, exclude, memo))
            want = model.recommend(_slot(request, k, exclude, None))
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])
    assert memo  # the session-scoring models used it


def test_a_hybrid_reuses_the_session_work_of_its_standalone_generators(
    fitted_models, shared_hybrid, monkeypatch
):
    calls: Counter = Counter()
    for cls, name in ((SessionBayes, "_pool"), (ItemKnn, "_scores"), (Als, "user_vector")):
        original = getattr(cls, name)

        def counted(self, *args, _original=original, _name=name):
            calls[_name] += 1
            return _original(self, *args)

        monkeypatch.setattr(cls, name, counted)
    request = RecRequest(k=10, user_id="u-1", product=5)
    request = _slot(request, 10, frozenset({7}), {})
    shared_hybrid.page_candidates(request, 60)
    for algorithm in ("session_bayes", "item_knn", "als"):
        fitted_models[algorithm].page_candidates(request, 60)
        fitted_models[algorithm].recommend(_slot(request, 5, frozenset({7, 8, 9}), request.page_memo))
    assert calls == {"_pool": 1, "_scores": 1, "user_vector": 1}


def test_the_memo_never_answers_a_request_of_another_context(fitted_models):
    """A memo misused across products or sessions still gives each request its own answer."""
    memo: dict = {}
    for model in (fitted_models[a] for a in ("session_bayes", "item_knn", "als", "hybrid")):
        for product in (3, 11, 3):
            for user in ("u-1", None):
                alone = model.recommend(RecRequest(k=10, user_id=user, product=product))
                shared = model.recommend(RecRequest(k=10, user_id=user, product=product, page_memo=memo))
                np.testing.assert_array_equal(alone[0], shared[0])


def test_the_memo_plays_no_part_in_request_equality():
    assert RecRequest(k=3, page_memo={}) == RecRequest(k=3)
    assert hash(RecRequest(k=3, page_memo={"x": 1})) == hash(RecRequest(k=3))
