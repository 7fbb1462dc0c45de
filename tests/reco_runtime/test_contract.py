"""What every variant promises: at most k unique items, none excluded, scores descending, and
identical answers after a save/load round trip; broken artifacts raise ArtifactError."""

import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reco_runtime.errors import ArtifactError, RecoError
from reco_runtime.models import ALGORITHMS, Recommender
from reco_runtime.request import RecRequest, SessionSignals

N_ITEMS = 3000  # the small world's catalog


@st.composite
def requests(draw, n_items=N_ITEMS):
    item = st.integers(0, n_items - 1)
    popular = st.integers(0, 60)  # hit the dense part of the lists, where exclusions bite
    some = st.one_of(item, popular)
    return RecRequest(
        k=draw(st.integers(1, 40)),
        user_id=draw(st.one_of(st.none(), st.sampled_from(["u-1", "u-7", "anon-3", "nobody"]))),
        product=draw(st.one_of(st.none(), some)),
        signals=SessionSignals(
            viewed=tuple(draw(st.lists(st.tuples(some, st.floats(0, 120_000)), max_size=6))),
            cart=tuple(draw(st.lists(some, max_size=3))),
            removed=tuple(draw(st.lists(some, max_size=2))),
        ),
        exclude=frozenset(draw(st.lists(some, max_size=80))),
        device=draw(st.sampled_from([None, "mobile", "desktop"])),
    )


def check_answer(request: RecRequest, items: np.ndarray, scores: np.ndarray) -> None:
    assert items.dtype == np.int32
    assert scores.dtype == np.float32
    assert len(items) == len(scores) <= request.k
    assert len(set(items.tolist())) == len(items)
    assert not set(items.tolist()) & request.exclude
    assert request.product not in items.tolist()
    assert np.all(np.diff(scores) <= 0)
    assert np.all(np.isfinite(scores))


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests())
def test_answers_respect_k_exclusions_and_order(fitted_models, algorithm, request):
    items, scores = fitted_models[algorithm].recommend(request)
    check_answer(request, items, scores)
    # with a catalog of 3000 items, every variant fills the slot (back-filling from bestsellers)
    assert len(items) == request.k


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_save_load_round_trip_gives_identical_answers(fitted_models, small_world, algorithm, tmp_path):
    model = fitted_models[algorithm]
    model.save(tmp_path / "m")
    loaded = Recommender.load(tmp_path / "m", small_world.catalog)
    assert type(loaded) is type(model)
    rng = np.random.default_rng(0)
    for _ in range(20):
        viewed = tuple(
            (int(i), float(d))
            for i, d in zip(rng.integers(0, N_ITEMS, 3), rng.uniform(0, 60_000, 3), strict=True)
        )
        request = RecRequest(
            k=10,
            user_id=f"u-{rng.integers(0, 50)}",
            product=int(rng.integers(0, N_ITEMS)),
            signals=SessionSignals(viewed=viewed, cart=(int(rng.integers(0, N_ITEMS)),)),
            exclude=frozenset(rng.integers(0, 100, 10).tolist()),
        )
        a, b = model.recommend(request), loaded.recommend(request)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_allclose(a[1], b[1], rtol=1e-6)


def test_loaded_arrays_are_memory_mapped(fitted_models, small_world, tmp_path):
    fitted_models["item_knn"].save(tmp_path / "knn")
    loaded = Recommender.load(tmp_path / "knn", small_world.catalog)
    items = loaded.neighbours.items
    assert not items.flags.owndata
    assert not items.flags.writeable
    base = items
    while base.base is not None and not isinstance(base, np.memmap):
        base = base.base
    assert isinstance(base, np.memmap)


@pytest.mark.parametrize("algorithm", ["hybrid", "als", "session_bayes"])
@pytest.mark.parametrize("damage", ["truncate", "delete", "model_json"])
def test_broken_artifacts_raise_artifact_error(fitted_models, small_world, tmp_path, algorithm, damage):
    fitted_models[algorithm].save(tmp_path / "m")
    arrays = sorted((tmp_path / "m").rglob("*.npy"), key=lambda p: -p.stat().st_size)
    if damage == "truncate":
        arrays[0].write_bytes(arrays[0].read_bytes()[: arrays[0].stat().st_size // 2])
    elif damage == "delete":
        arrays[0].unlink()
    else:
        (tmp_path / "m" / "model.json").write_text('{"algorithm": "als"')
    with pytest.raises(ArtifactError):
        Recommender.load(tmp_path / "m", small_world.catalog)


def test_loading_as_the_wrong_variant_raises_artifact_error(fitted_models, small_world, tmp_path):
    fitted_models["popularity"].save(tmp_path / "m")
    with pytest.raises(ArtifactError, match="algorithm"):
        ALGORITHMS["als"].load(tmp_path / "m", small_world.catalog)
    shutil.rmtree(tmp_path / "m")
    with pytest.raises(ArtifactError):
        Recommender.load(tmp_path / "m", small_world.catalog)


def test_requests_outside_the_catalog_and_unfitted_models_are_refused(fitted_models):
    with pytest.raises(RecoError, match="outside"):
        fitted_models["popularity"].recommend(RecRequest(k=3, product=N_ITEMS))
    with pytest.raises(RecoError, match="before fit"):
        ALGORITHMS["item_knn"]().recommend(RecRequest(k=3))
