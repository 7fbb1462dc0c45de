"""Request-time ranking helpers shared by the variants: exclusion, top-k, back-filling."""

from __future__ import annotations

import numpy as np

_EMPTY_I = np.zeros(0, dtype=np.int32)
_EMPTY_S = np.zeros(0, dtype=np.float32)


def empty() -> tuple[np.ndarray, np.ndarray]:
    return _EMPTY_I, _EMPTY_S


def top_k(
    cands: np.ndarray, scores: np.ndarray, k: int, exclude: frozenset[int]
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of ``cands`` (unique item indices) by ``scores``, skipping ``exclude``.

    Returns (int32 items, float32 scores) best first; fewer than ``k`` if candidates run out.
    Cost: O(c) argpartition plus O(k + |exclude|) for the walk, c = len(cands).
    """
    n = len(cands)
    if n == 0:
        return empty()
    need = min(n, k + len(exclude))
    if need < n:
        part = np.argpartition(-scores, need - 1)[:need]
        part = part[np.argsort(-scores[part], kind="stable")]
    else:
        part = np.argsort(-scores, kind="stable")
    items = cands[part]
    if exclude:
        keep = np.fromiter((i not in exclude for i in items.tolist()), dtype=bool, count=len(items))
        part, items = part[keep], items[keep]
    return items[:k].astype(np.int32, copy=False), scores[part[:k]].astype(np.float32, copy=False)


def backfill(
    items: np.ndarray,
    scores: np.ndarray,
    k: int,
    exclude: frozenset[int],
    pool: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Fill a short result up to ``k`` from ``pool`` (item indices, best first, e.g. bestsellers).

    Filled items get scores strictly below every score already there, decreasing, so the
    result stays sorted: ``min(last, 0) - (r + 1) / (n + 1)`` for the r-th of n filled items.
    """
    missing = k - len(items)
    if missing <= 0 or len(pool) == 0:
        return items, scores
    taken = set(items.tolist()) | exclude
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


def aggregate(items: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum the scores of repeated items: (unique items, summed float32 scores)."""
    if len(items) == 0:
        return empty()
    uniq, inv = np.unique(items, return_inverse=True)
    return uniq.astype(np.int32, copy=False), np.bincount(inv, weights=scores).astype(np.float32)


def sorted_top_k(
    items: np.ndarray, scores: np.ndarray, k: int, exclude: frozenset[int]
) -> tuple[np.ndarray, np.ndarray]:
    """``top_k`` for lists already sorted best first (precomputed lists): O(k + |exclude|)."""
    need = k + len(exclude)
    items, scores = np.asarray(items[:need]), np.asarray(scores[:need])
    if exclude:
        keep = np.fromiter((i not in exclude for i in items.tolist()), dtype=bool, count=len(items))
        items, scores = items[keep], scores[keep]
    return items[:k].astype(np.int32, copy=False), scores[:k].astype(np.float32, copy=False)
