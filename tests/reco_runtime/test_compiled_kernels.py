"""The compiled request-time kernels give what the plain numpy formulas give
(``numpy_reference``): the same items in the same order, the same float32 scores (to the last
bits of BLAS dot products and exp/tanh, which numpy and the compiled code may round apart)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reco_runtime import kernels
from reco_runtime.models import _ranking
from reco_runtime.models.hybrid import Hybrid

from . import numpy_reference as ref
from .test_contract import requests

SCORE_RTOL = 1e-6


@settings(max_examples=300, deadline=None)
@given(
    scores=st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0, -1.0]) | st.floats(-5, 5, width=32), max_size=80),
    k=st.integers(0, 30),
    exclude=st.lists(st.integers(0, 100), max_size=40),
    seed=st.integers(0, 2**16),
)
def test_top_k_is_a_stable_sort_by_score_without_the_excluded(scores, k, exclude, seed):
    """Ties (drawn often) keep candidate order: the result is fully determined."""
    cands = np.random.default_rng(seed).permutation(101)[: len(scores)].astype(np.int32)
    values = np.asarray(scores, dtype=np.float32)
    got = _ranking.top_k(cands, values, k, frozenset(exclude))
    want = ref.top_k(cands, values, k, frozenset(exclude))
    assert got[0].dtype == np.int32
    assert got[1].dtype == np.float32
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 200), m=st.integers(0, 220), seed=st.integers(0, 2**16))
def test_best_positions_equals_a_stable_argsort(n, m, seed):
    scores = np.random.default_rng(seed).integers(0, 6, n).astype(np.float64)  # many ties
    np.testing.assert_array_equal(kernels.best_positions(scores, m), np.argsort(-scores, kind="stable")[:m])


@settings(max_examples=200, deadline=None)
@given(
    items=st.lists(st.integers(0, 40), max_size=120),
    seed=st.integers(0, 2**16),
)
def test_aggregate_sums_each_item_in_float64_in_order_of_appearance(items, seed):
    scores = np.random.default_rng(seed).normal(size=len(items)) * 1e3
    got = _ranking.aggregate(np.asarray(items, dtype=np.int32), scores)
    want = ref.aggregate(np.asarray(items, dtype=np.int32), scores) if items else _ranking.empty()
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("algorithm", ["als", "content"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**16), wanted=st.integers(1, 900))
def test_ivf_search_scans_the_same_rows_as_the_plain_probe(fitted_models, algorithm, seed, wanted):
    index = fitted_models[algorithm].index
    query = np.random.default_rng(seed).normal(size=index.vectors.shape[1]).astype(np.float32)
    items, scores = index.search(query, wanted)
    want_items, want_scores = ref.ivf_search(index, query, wanted)
    np.testing.assert_array_equal(items, want_items)
    np.testing.assert_allclose(scores, want_scores, rtol=SCORE_RTOL, atol=1e-6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests())
def test_session_bayes_pool_follows_its_formula(fitted_models, request):
    model = fitted_models["session_bayes"]
    cands, scores, theta = model._pool(request)
    want_cands, want_scores, want_theta = ref.session_pool(model, request)
    np.testing.assert_array_equal(cands, want_cands)
    np.testing.assert_allclose(theta, want_theta, rtol=1e-12)
    np.testing.assert_allclose(scores, want_scores, rtol=SCORE_RTOL)
    assert scores.dtype == np.float32


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests(), n=st.integers(1, 60))
def test_hybrid_fuses_its_generators_by_weighted_reciprocal_rank(fitted_models, request, n):
    model: Hybrid = fitted_models["hybrid"]
    exclude = request.exclude | ({request.product} if request.product is not None else set())
    got = model._candidates(request, n, frozenset(exclude))
    want = ref.hybrid_candidates(model, request, n, frozenset(exclude))
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


WARM_CHECK = """
import json, sys
import numpy as np
from numba.core.dispatcher import Dispatcher
from reco_runtime import kernels
from reco_runtime.models import session_bayes
from reco_runtime.models.base import Recommender
from reco_runtime.request import RecRequest, SessionSignals
from reco_runtime.synthetic import world_generate

catalog = world_generate(n_items=3000, n_users=600, n_categories=12, n_brands=60, dim=8, seed=7).catalog
dispatchers = [f for m in (kernels, session_bayes) for f in vars(m).values() if isinstance(f, Dispatcher)]
compiled = {}
for name in sys.argv[2:]:
    model = Recommender.load(sys.argv[1] + "/" + name, catalog).warm()
    before = [len(f.signatures) for f in dispatchers]
    rng = np.random.default_rng(0)
    for _ in range(30):
        some = lambda m: tuple(int(i) for i in rng.integers(0, 3000, rng.integers(0, m + 1)))
        request = RecRequest(
            k=int(rng.integers(1, 30)),
            user_id=None if rng.random() < 0.5 else "u-1",
            product=None if rng.random() < 0.3 else int(rng.integers(0, 3000)),
            signals=SessionSignals(
                viewed=tuple((i, float(rng.integers(0, 90_000))) for i in some(5)),
                cart=some(2),
                removed=some(1),
            ),
            exclude=frozenset(some(40)),
        )
        model.recommend(request)
        shared = model.page_candidates(request, 60)  # as a page's slots share a model's work
        model.recommend_from(shared, 10, set(request.exclude) | set(some(30)))
    compiled[name] = [f.__name__ for f, b in zip(dispatchers, before) if len(f.signatures) != b]
compiled_here = sorted(f.__name__ for f in dispatchers if sum(f.stats.cache_misses.values()))
result = {"dispatchers": len(dispatchers), "compiled_after_warm": compiled, "not_from_cache": compiled_here}
print(json.dumps(result))
"""


def _warm_check(models_dir, names, env=None) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", WARM_CHECK, str(models_dir), *names],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
        env=env,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_warmed_model_answers_every_kind_of_request_without_compiling(fitted_models, tmp_path):
    """In a fresh process (nothing compiled in memory), ``warm()`` leaves no kernel to compile
    for later requests, whatever their shape, alone or as a page's slots sharing the model's
    candidates: no request pays for compilation."""
    for name, model in fitted_models.items():
        model.save(tmp_path / name)
    result = _warm_check(tmp_path, list(fitted_models))
    assert result["dispatchers"] >= 7
    assert result["compiled_after_warm"] == {name: [] for name in fitted_models}


def test_the_start_up_warm_up_leaves_nothing_for_the_serving_processes_to_compile(fitted_models, tmp_path):
    """``reco_runtime.warmup`` (run by gunicorn's master before the workers) fills an empty numba
    cache with every kernel the real variants need: a serving process then compiles nothing."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    for name, model in fitted_models.items():
        model.save(tmp_path / "models" / name)
    subprocess.run([sys.executable, "-m", "reco_runtime.warmup"], check=True, env=env, timeout=600)
    result = _warm_check(tmp_path / "models", list(fitted_models), env)
    assert result["not_from_cache"] == []
    cold_env = dict(env, NUMBA_CACHE_DIR=str(tmp_path / "cold"))
    cold = _warm_check(tmp_path / "models", list(fitted_models), cold_env)
    assert cold["not_from_cache"]  # without the warm-up the same process compiles them itself
