"""Request-time ranking helpers shared by the variants: exclusion, top-k, back-filling."""

from __future__ import annotations

from collections.abc import Set as AbstractSet

import numpy as np

from reco_runtime import kernels

_EMPTY_I = np.zeros(0, dtype=np.int32)
_EMPTY_S = np.zeros(0, dtype=np.float32)


def empty() -> tuple[np.ndarray, np.ndarray]:
    return _EMPTY_I, _EMPTY_S


def allowed(
    items: np.ndarray, scores: np.ndarray, available: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """``items`` and their ``scores`` without the ones ``available`` (bool per catalog item)
    marks False, order kept; as given when ``available`` is None or all of them may be served."""
    if available is None or kernels.all_available(items, available):
        return items, scores
    keep = available[items]
    return items[keep], scores[keep]


def top_k(
    cands: np.ndarray,
    scores: np.ndarray,
    k: int,
    exclude: AbstractSet[int],
    available: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of ``cands`` (unique item indices) by ``scores``, skipping ``exclude`` and
    the items ``available`` marks False.

    Returns (int32 items, float32 scores) best first, equal scores in candidate order; fewer
    than ``k`` if candidates run out. One compiled pass: O(c log(k + |exclude|)), c = len(cands).
    """
    if len(cands) == 0:
        return empty()
    if available is not None:
        return kernels.top_k_available(cands, scores, k, kernels.exclusion_array(exclude), available)
    return kernels.top_k_excluding(cands, scores, k, kernels.exclusion_array(exclude))


def first_allowed(items: np.ndarray, k: int, exclude: AbstractSet[int]) -> list[int]:
    """Positions of the first ``k`` items not in ``exclude`` (a plain loop that stops early: for
    k + a few dozen items it beats any vectorised set test)."""
    keep: list[int] = []
    # At most len(exclude) items can be skipped, so the first k + len(exclude) always suffice.
    for pos, item in enumerate(items[: k + len(exclude)].tolist()):
        if item not in exclude:
            keep.append(pos)
            if len(keep) == k:
                break
    return keep


def backfill(
    items: np.ndarray,
    scores: np.ndarray,
    k: int,
    exclude: AbstractSet[int],
    pool: np.ndarray,
    available: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Fill a short result up to ``k`` from ``pool`` (item indices, best first, e.g. bestsellers).

    The last step of every answer, so it is also where ``available`` is enforced: items it marks
    False are dropped from ``items`` and never taken from ``pool``, whatever the model proposed.
    Filled items get scores strictly below every score already there, decreasing, so the
    result stays sorted: ``min(last, 0) - (r + 1) / (n + 1)`` for the r-th of n filled items.
    """
    items, scores = allowed(items, scores, available)
    missing = k - len(items)
    if missing <= 0 or len(pool) == 0:
        return items, scores
    taken = set(items.tolist()) | exclude
    if available is not None:
        if not kernels.all_available(pool[: k + len(taken)], available):
            # unavailable items take no place in the walk below
            pool = pool[kernels.first_available(pool, k + len(taken), available)]
    extra = []
    for i in pool[: k + len(taken)].tolist():
        if i not in taken:
            extra.append(i)
            if len(extra) == missing:
                break
    if not extra:
        return items, scores
    floor = min(float(scores[-1]), 0.0) if len(scores) else 0.0
    fill = floor - np.arange(1, len(extra) + 1, dtype=np.float64) / (len(extra) + 1)
    return (
        np.concatenate((items, np.asarray(extra, dtype=np.int32))),
        np.concatenate((scores, fill.astype(np.float32))),
    )


def unique(items: np.ndarray) -> np.ndarray:
    """Sorted unique items. Sort-based: for the few hundred ints of a request this is several
    times faster than ``np.unique``, which picks a hash table in numpy >= 2.3."""
    if len(items) < 2:
        return np.asarray(items)
    srt = np.sort(items)
    keep = np.empty(len(srt), dtype=bool)
    keep[0] = True
    np.not_equal(srt[1:], srt[:-1], out=keep[1:])
    return srt[keep]


def aggregate(items: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum the scores of repeated items: (sorted unique items int32, summed float32 scores)."""
    if len(items) == 0:
        return empty()
    return kernels.aggregate(items, scores)


def sorted_top_k(
    items: np.ndarray,
    scores: np.ndarray,
    k: int,
    exclude: frozenset[int],
    available: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``top_k`` for lists already sorted best first (precomputed lists): O(k + |exclude| +
    the unavailable items among the first ones)."""
    need = k + len(exclude)
    if available is not None and not kernels.all_available(items[:need], available):
        head = kernels.first_available(items, need, available)
        items, scores = np.asarray(items)[head], np.asarray(scores)[head]
    items, scores = np.asarray(items[:need]), np.asarray(scores[:need])
    if exclude:
        keep = first_allowed(items, k, exclude)
        items, scores = items[keep], scores[keep]
    return items[:k].astype(np.int32, copy=False), scores[:k].astype(np.float32, copy=False)
