"""The vectorised request-time kernels give exactly what their plain definitions give:
neighbour scores summed over seeds and the IVF probe order."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from reco_runtime.ivf import IvfIndex
from reco_runtime.neighbours import seed_scores, seed_scores_of
from reco_runtime.topn import Ragged


@st.composite
def ragged_and_seeds(draw):
    """Neighbour lists over up to 30 items (some empty) and seeds with weights of both signs."""
    n = draw(st.integers(1, 30))
    lengths = draw(st.lists(st.integers(0, min(6, n)), min_size=n, max_size=n))
    items = [draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m, unique=True)) for m in lengths]
    scores = [draw(st.lists(st.floats(0.0625, 1.0, width=32), min_size=m, max_size=m)) for m in lengths]
    ragged = Ragged(
        np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        np.asarray([i for row in items for i in row], dtype=np.int32),
        np.asarray([s for row in scores for s in row], dtype=np.float32),
    )
    seeds = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.floats(-3.0, 3.0, allow_nan=False)),
            max_size=8,
            unique_by=lambda s: s[0],
        )
    )
    return ragged, seeds


def _reference(ragged: Ragged, seeds) -> dict[int, float]:
    """sum_s w_s * sim(s, j), one list at a time."""
    total: dict[int, float] = {}
    for item, w in seeds:
        row_items, row_scores = ragged.row(item)
        for j, s in zip(row_items.tolist(), (row_scores * np.float32(w)).tolist(), strict=True):
            total[j] = total.get(j, 0.0) + s
    return total


@settings(max_examples=200, deadline=None)
@given(case=ragged_and_seeds())
def test_seed_scores_sum_each_neighbour_over_the_seeds(case):
    ragged, seeds = case
    items, scores = seed_scores(ragged, seeds)
    expected = _reference(ragged, seeds)
    assert sorted(items.tolist()) == sorted(expected)
    assert len(set(items.tolist())) == len(items)
    for j, s in zip(items.tolist(), scores.tolist(), strict=True):
        assert s == np.float32(expected[j])  # float32 like the stored scores


def test_seed_scores_of_arrays_equals_seed_scores_of_pairs():
    ragged = Ragged(
        np.array([0, 2, 2, 5], dtype=np.int64),
        np.array([1, 2, 0, 1, 2], dtype=np.int32),
        np.array([0.5, 0.25, 0.75, 0.5, 0.125], dtype=np.float32),
    )
    seeds = [(0, 1.0), (1, 2.0), (2, -0.5)]
    by_pairs = seed_scores(ragged, seeds)
    by_arrays = seed_scores_of(ragged, np.array([0, 1, 2]), np.array([1.0, 2.0, -0.5]))
    assert by_pairs[0].tolist() == by_arrays[0].tolist() == [0, 1, 2]
    assert by_pairs[1].tolist() == by_arrays[1].tolist() == [-0.375, 0.25, 0.1875]


def test_a_single_seed_list_is_scaled_and_sorted_by_item_like_several():
    ragged = Ragged(
        np.array([0, 0, 3], dtype=np.int64),
        np.array([9, 4, 6], dtype=np.int32),
        np.array([0.9, 0.5, 0.1], dtype=np.float32),
    )
    items, scores = seed_scores(ragged, [(0, 1.0), (1, 2.0)])  # row 0 is empty
    assert items.tolist() == [4, 6, 9]
    assert scores.tolist() == [1.0, np.float32(0.2), np.float32(1.8)]
    assert seed_scores(ragged, [(0, 1.0)])[0].tolist() == []
    assert seed_scores(ragged, [])[0].tolist() == []


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 40), min_size=1, max_size=150),
    wanted=st.integers(0, 400),
    seed=st.integers(0, 2**16),
    small_first=st.booleans(),
)
def test_ivf_probes_the_best_clusters_until_enough_items(sizes, wanted, seed, small_first):
    """With ``small_first`` the smallest clusters score best, so the first guess of how many
    clusters to sort (from the mean cluster size) holds too few items and has to grow."""
    _check_probe_order(sizes, wanted, seed, small_first)


def test_ivf_grows_its_first_guess_when_the_best_clusters_are_small():
    # 200 clusters of 1..40 items, the small ones best: the first 2 * 300 / 20 + 1 = 31 hold
    # about 60 items, far from the 300 wanted.
    _check_probe_order([1 + i % 40 for i in range(200)], 300, 7, True)


def _check_probe_order(sizes: list[int], wanted: int, seed: int, small_first: bool) -> None:
    rng = np.random.default_rng(seed)
    dim = 4
    indptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n = int(indptr[-1])
    query = rng.normal(size=dim).astype(np.float32)
    centroids = rng.normal(size=(len(sizes), dim))
    if small_first:
        centroids += np.outer(50.0 - np.asarray(sizes), query)
    index = IvfIndex(
        centroids=centroids.astype(np.float32),
        indptr=indptr,
        items=np.arange(n, dtype=np.int32),
        vectors=rng.normal(size=(n, dim)).astype(np.float32),
        positions=np.arange(n, dtype=np.int32),
    )
    order = np.argsort(-(index.centroids @ query), kind="stable")
    held = np.cumsum(np.asarray(sizes)[order])
    enough = int(np.searchsorted(held, wanted)) + 1  # clusters up to the one reaching `wanted`
    assert index._clusters(query, wanted).tolist() == order[:enough].tolist()
