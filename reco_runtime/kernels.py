"""Compiled (numba) kernels for the request-time ranking work.

A request ranks a few hundred candidates. In numpy that is a dozen small calls per step, each
of which costs more than its arithmetic; one compiled loop does the step in a single call.
The kernels are exact: same items, same float32 scores as the numpy formulas they replace
(sums in float64 in the same order), and ties broken by position (stable), so tests hold
them to a numpy reference item for item.

Compiled on first use and cached on disk (``cache=True``); ``Recommender.warm`` answers one
request at load, so a serving process never pays the compilation inside a request.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _before(scores: np.ndarray, a: int, b: int) -> bool:
    """Does candidate ``a`` rank before ``b``: higher score, then lower position (stable)."""
    return bool(scores[a] > scores[b] or (scores[a] == scores[b] and a < b))


@njit(cache=True, nogil=True)
def _sift_down(heap: np.ndarray, size: int, scores: np.ndarray, pos: int) -> None:
    """Restore a heap whose root is the *worst* kept candidate (min-heap by ``_before``)."""
    item = heap[pos]
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        if child + 1 < size and _before(scores, heap[child], heap[child + 1]):
            child += 1
        if _before(scores, item, heap[child]):  # the worse child moves up
            heap[pos] = heap[child]
            pos = child
        else:
            break
    heap[pos] = item


@njit(cache=True, nogil=True)
def best_positions(scores: np.ndarray, m: int) -> np.ndarray:
    """Positions of the ``m`` best ``scores``, best first; ties by position. O(n log m)."""
    n = len(scores)
    m = min(m, n)
    if m <= 0:
        return np.zeros(0, dtype=np.int64)
    heap = np.empty(m, dtype=np.int64)
    for i in range(m):
        heap[i] = i
    for i in range(m // 2 - 1, -1, -1):
        _sift_down(heap, m, scores, i)
    for i in range(m, n):
        if _before(scores, i, heap[0]):
            heap[0] = i
            _sift_down(heap, m, scores, 0)
    out = np.empty(m, dtype=np.int64)
    for end in range(m - 1, -1, -1):  # pop the worst first: fill from the back
        out[end] = heap[0]
        heap[0] = heap[end]
        _sift_down(heap, end, scores, 0)
    return out


@njit(cache=True, nogil=True)
def _excluded(item: int, exclude_sorted: np.ndarray) -> bool:
    if len(exclude_sorted) == 0:
        return False
    at = np.searchsorted(exclude_sorted, item)
    return bool(at < len(exclude_sorted) and exclude_sorted[at] == item)


@njit(cache=True, nogil=True)
def top_k_excluding(
    cands: np.ndarray, scores: np.ndarray, k: int, exclude_sorted: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of ``cands`` (unique) by ``scores`` not in ``exclude_sorted`` (sorted int64):
    (int32 items, float32 scores) best first."""
    order = best_positions(scores, k + len(exclude_sorted))
    items = np.empty(min(k, len(order)), dtype=np.int32)
    kept = np.empty(len(items), dtype=np.float32)
    taken = 0
    for pos in order:
        if taken == len(items):
            break
        item = cands[pos]
        if not _excluded(item, exclude_sorted):
            items[taken] = item
            kept[taken] = scores[pos]
            taken += 1
    return items[:taken], kept[:taken]


@njit(cache=True, nogil=True)
def top_k_available(
    cands: np.ndarray, scores: np.ndarray, k: int, exclude_sorted: np.ndarray, available: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``top_k_excluding`` over the candidates ``available`` (bool per catalog item) marks True,
    in their order (so ties still go to the earlier candidate)."""
    keep = np.empty(len(cands), dtype=np.int64)
    n = 0
    for j in range(len(cands)):
        if available[cands[j]]:
            keep[n] = j
            n += 1
    if n == len(cands):
        return top_k_excluding(cands, scores, k, exclude_sorted)
    return top_k_excluding(cands[keep[:n]], scores[keep[:n]], k, exclude_sorted)


@njit(cache=True, nogil=True)
def all_available(items: np.ndarray, available: np.ndarray) -> bool:
    """Whether ``available`` marks every one of ``items`` True (a quarter of numpy's
    ``available[items].all()`` for the few dozen items of an answer)."""
    for item in items:
        if not available[item]:
            return False
    return True


@njit(cache=True, nogil=True)
def first_available(items: np.ndarray, n: int, available: np.ndarray) -> np.ndarray:
    """Positions of the first ``n`` of ``items`` that ``available`` marks True (fewer if the
    list runs out): a walk that stops early, for lists already sorted best first."""
    out = np.empty(min(n, len(items)), dtype=np.int64)
    taken = 0
    for pos in range(len(items)):
        if taken == len(out):
            break
        if available[items[pos]]:
            out[taken] = pos
            taken += 1
    return out[:taken]


@njit(cache=True, nogil=True)
def aggregate(items: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum the scores of repeated items: (sorted unique int32 items, float32 sums). Sums run in
    float64 over each item's entries in their order of appearance."""
    if len(items) == 0:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
    order = np.argsort(items, kind="mergesort")
    out_items = np.empty(len(items), dtype=np.int32)
    out_scores = np.empty(len(items), dtype=np.float32)
    n = 0
    total = 0.0
    current = items[order[0]]
    for i in order:
        if items[i] != current:
            out_items[n] = current
            out_scores[n] = total
            n += 1
            current = items[i]
            total = 0.0
        total += np.float64(scores[i])
    out_items[n] = current
    out_scores[n] = total
    return out_items[: n + 1], out_scores[: n + 1]


@njit(cache=True, nogil=True)
def ragged_weighted_sum(
    indptr: np.ndarray, items: np.ndarray, scores: np.ndarray, rows: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """sum_r weights[r] * scores of row ``rows[r]`` of a ragged list, by item: (sorted unique
    int32 items, float32 sums). Each entry is scaled in float32, as stored, before the sum."""
    total = 0
    for r in rows:
        total += indptr[r + 1] - indptr[r]
    gathered_items = np.empty(total, dtype=np.int32)
    gathered_scores = np.empty(total, dtype=np.float32)
    at = 0
    for j in range(len(rows)):
        w = np.float32(weights[j])
        for e in range(indptr[rows[j]], indptr[rows[j] + 1]):
            gathered_items[at] = items[e]
            gathered_scores[at] = scores[e] * w
            at += 1
    return aggregate(gathered_items, gathered_scores)


@njit(cache=True, nogil=True)
def ivf_probe_order(probe: np.ndarray, sizes: np.ndarray, n_candidates: int) -> np.ndarray:
    """The best clusters by ``probe`` score, best first (ties by position), holding at least
    ``n_candidates`` items (all clusters if they hold fewer).

    Only the best few are ranked: a first guess from the mean cluster size, grown fourfold while
    they hold too few items (the best-scored clusters are often the small ones)."""
    n_clusters = len(probe)
    avg = max(1.0, sizes.sum() / max(1, n_clusters))
    m = int(np.ceil(n_candidates / avg)) * 2 + 1
    while True:
        best = best_positions(probe, m)
        held = 0
        for j in range(len(best)):
            held += sizes[best[j]]
            if held >= n_candidates:
                return best[: j + 1]
        if m >= n_clusters:
            return best
        m *= 4


@njit(cache=True, nogil=True)
def ivf_scan(
    probe: np.ndarray,
    sizes: np.ndarray,
    indptr: np.ndarray,
    items: np.ndarray,
    vectors: np.ndarray,
    query: np.ndarray,
    n_candidates: int,
    budget: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(items int32, inner products with ``query``) of the clusters ``ivf_probe_order`` picks,
    in that order, at most ``budget`` rows in all (a cut cluster keeps its first rows).
    ``sizes``: items per cluster (``indptr``'s differences, computed once per index)."""
    clusters = ivf_probe_order(probe, sizes, n_candidates)
    out_items = np.empty(budget, dtype=np.int32)
    out_scores = np.empty(budget, dtype=vectors.dtype)
    at = 0
    for c in clusters:
        a = indptr[c]
        b = min(indptr[c + 1], a + budget - at)
        out_items[at : at + b - a] = items[a:b]
        out_scores[at : at + b - a] = np.dot(vectors[a:b], query)
        at += b - a
        if at >= budget:
            break
    return out_items[:at], out_scores[:at]


@njit(cache=True, nogil=True)
def rrf_fuse(
    items: np.ndarray,
    lengths: np.ndarray,
    weights: np.ndarray,
    rrf_k: float,
    intent: np.ndarray,
    category: np.ndarray,
    k: int,
    exclude_sorted: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted reciprocal-rank fusion of ranked lists, then top-k.

    ``items``: the lists concatenated, list g of ``lengths[g]`` items best first, weighing
    ``weights[g]``. An item's score is sum_g weights[g] / (rrf_k + rank_g) (float64, rounded to
    float32), plus ``intent[category[item]]`` if ``intent`` is not empty. Returns the ``k`` best
    not in ``exclude_sorted``: (int32 items, float32 scores)."""
    entry = np.empty(len(items))
    at = 0
    for g in range(len(lengths)):
        for rank in range(1, lengths[g] + 1):
            entry[at] = weights[g] / (rrf_k + rank)
            at += 1
    cands, fused = aggregate(items, entry)
    if len(intent):
        for i in range(len(cands)):
            fused[i] = fused[i] + intent[category[cands[i]]]
    return top_k_excluding(cands, fused, k, exclude_sorted)


def exclusion_array(exclude: AbstractSet[int]) -> np.ndarray:
    """A set of item indices as the sorted int64 array the kernels take."""
    if not exclude:
        return np.zeros(0, dtype=np.int64)
    out = np.fromiter(exclude, np.int64, len(exclude))
    out.sort()
    return out
