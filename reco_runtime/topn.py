"""Vectorised top-n selection used at training time to precompute serving candidates.

Results are "ragged" lists in CSR layout: row ``r``'s entries are
``items[indptr[r]:indptr[r + 1]]`` (int32) with ``scores`` (float32), best first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from reco_runtime.errors import RecoError


@dataclass(frozen=True, eq=False)
class Ragged:
    """Per-row best-first lists. indptr: (rows + 1,) int64; items: (nnz,) int32; scores: (nnz,) f32."""

    indptr: np.ndarray
    items: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        if self.indptr.ndim != 1 or len(self.indptr) < 1 or self.indptr[0] != 0:
            raise RecoError("Ragged.indptr must be 1-d and start at 0")
        if len(self.items) != self.indptr[-1] or len(self.scores) != len(self.items):
            raise RecoError("Ragged.items and scores must have indptr[-1] entries")

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1

    def row(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.indptr[r], self.indptr[r + 1]
        return self.items[a:b], self.scores[a:b]

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {
            f"{prefix}_indptr": self.indptr,
            f"{prefix}_items": self.items,
            f"{prefix}_scores": self.scores,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> Ragged:
        return cls(arrays[f"{prefix}_indptr"], arrays[f"{prefix}_items"], arrays[f"{prefix}_scores"])


def _ragged_from_sorted(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int, n: int) -> Ragged:
    """rows sorted ascending, within a row vals descending: keep the first ``n`` of each row."""
    counts = np.bincount(rows, minlength=n_rows)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    keep = (np.arange(len(rows)) - starts[rows]) < n
    rows, cols, vals = rows[keep], cols[keep], vals[keep]
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return Ragged(indptr, cols.astype(np.int32), vals.astype(np.float32))


def group_top_n(groups: np.ndarray, scores: np.ndarray, n: int, *, n_groups: int | None = None) -> Ragged:
    """Per group the ``n`` items with the highest score > 0.

    groups: (n_items,) int codes; scores: (n_items,) float. Row g of the result lists group g's items.
    """
    if n < 1:
        raise RecoError("group_top_n: n must be >= 1")
    n_groups = int(groups.max()) + 1 if n_groups is None and len(groups) else (n_groups or 0)
    items = np.flatnonzero(scores > 0)
    order = np.lexsort((items, -scores[items], groups[items]))
    items = items[order]
    return _ragged_from_sorted(groups[items], items, scores[items], n_groups, n)


def group_top_n_pairs(
    groups: np.ndarray, items: np.ndarray, scores: np.ndarray, n: int, *, n_groups: int
) -> Ragged:
    """``group_top_n`` where an item may belong to several groups (e.g. every level of its
    category path): ``(groups[j], items[j])`` are the memberships, ``scores`` is per item."""
    if n < 1:
        raise RecoError("group_top_n_pairs: n must be >= 1")
    keep = scores[items] > 0
    groups, items = groups[keep], items[keep]
    order = np.lexsort((items, -scores[items], groups))
    groups, items = groups[order], items[order]
    return _ragged_from_sorted(groups, items, scores[items], n_groups, n)


def sparse_top_n_rows(matrix: sp.spmatrix, n: int, *, drop_diagonal: bool = True) -> Ragged:
    """Per row of a sparse (rows, cols) matrix the ``n`` largest positive entries, best first."""
    if n < 1:
        raise RecoError("sparse_top_n_rows: n must be >= 1")
    coo = sp.coo_matrix(matrix)
    keep = coo.data > 0
    if drop_diagonal:
        keep &= coo.row != coo.col
    rows, cols, vals = coo.row[keep], coo.col[keep], coo.data[keep]
    order = np.lexsort((cols, -vals, rows))
    return _ragged_from_sorted(rows[order], cols[order], vals[order], coo.shape[0], n)


def top_n_indices(scores: np.ndarray, n: int) -> np.ndarray:
    """int32 indices of the ``n`` highest positive scores, best first (ties: lower index first)."""
    pos = np.flatnonzero(scores > 0)
    if len(pos) > n:
        part = np.argpartition(-scores[pos], n - 1)[:n]
        pos = pos[part]
    order = np.lexsort((pos, -scores[pos]))
    return pos[order].astype(np.int32)
