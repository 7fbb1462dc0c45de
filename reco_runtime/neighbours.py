"""Item-to-item neighbour lists from co-occurrence, and request-time aggregation over seeds.

Similarity (cosine with shrinkage, Sarwar et al. 2001; shrink as in Koren 2008)::

    sim(i, j) = sum_u x_ui x_uj / (||x_i|| ||x_j|| + shrink)

over the (users, items) matrix X of log-damped interaction weights. The item-item product is
computed in row blocks, so memory stays bounded by one block, and only the top ``n`` per item
are kept (a ``Ragged`` of int32/float32 arrays).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from reco_runtime import kernels
from reco_runtime.errors import RecoError
from reco_runtime.models import _ranking
from reco_runtime.topn import Ragged, sparse_top_n_rows

BLOCK_ITEMS = 4096


def damped(matrix: sp.csr_matrix, weighting: str) -> sp.csr_matrix:
    """X with ``log1p`` (``"log"``) or 1 (``"binary"``) in place of summed event weights."""
    out = matrix.copy().astype(np.float32)
    if weighting == "log":
        out.data = np.log1p(out.data)
    elif weighting == "binary":
        out.data = np.ones_like(out.data)
    else:
        raise RecoError(f"weighting must be 'log' or 'binary', got {weighting!r}")
    return out


def cosine_neighbours(
    user_items: sp.csr_matrix, n: int, *, shrink: float = 10.0, progress: bool = False
) -> Ragged:
    """Top-``n`` cosine neighbours of each item (excluding itself) from a (users, items) matrix."""
    if n < 1 or shrink < 0:
        raise RecoError("cosine_neighbours: n must be >= 1 and shrink >= 0")
    x = sp.csr_matrix(user_items, dtype=np.float32)
    xt = x.T.tocsr()
    norms = np.sqrt(np.asarray(xt.multiply(xt).sum(axis=1)).ravel())
    n_items = x.shape[1]
    parts = []
    starts = range(0, n_items, BLOCK_ITEMS)
    for start in tqdm(starts, desc="neighbours", disable=not progress, leave=False):
        stop = min(start + BLOCK_ITEMS, n_items)
        block = (xt[start:stop] @ x).tocoo()
        block.data /= norms[block.row + start] * norms[block.col] + shrink + 1e-12
        block.data[block.row + start == block.col] = 0.0  # an item is not its own neighbour
        parts.append(sparse_top_n_rows(block, n, drop_diagonal=False))
    return _concat(parts, n_items)


def _concat(parts: Sequence[Ragged], n_rows: int) -> Ragged:
    if not parts:
        return Ragged(np.zeros(n_rows + 1, dtype=np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32))
    offsets = np.cumsum([0] + [p.indptr[-1] for p in parts[:-1]])
    indptr = np.concatenate([[0]] + [p.indptr[1:] + off for p, off in zip(parts, offsets, strict=True)])
    return Ragged(
        indptr.astype(np.int64),
        np.concatenate([p.items for p in parts]),
        np.concatenate([p.scores for p in parts]),
    )


def seed_scores(neighbours: Ragged, seeds: Sequence[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray]:
    """sum_s w_s * sim(s, j) over the seeds' neighbour lists: (unique items int32, scores f32).

    Seeds: (item_idx, weight) pairs; a negative weight pushes the seed's neighbours down.
    """
    if not seeds:
        return _ranking.empty()
    rows = np.fromiter((item for item, _ in seeds), np.int64, count=len(seeds))
    weights = np.fromiter((w for _, w in seeds), np.float64, count=len(seeds))
    return seed_scores_of(neighbours, rows, weights)


def seed_scores_of(
    neighbours: Ragged, rows: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``seed_scores`` for seeds given as arrays (int rows, float weights): (sorted unique int32
    items, float32 scores), each stored similarity scaled by its seed's weight in float32 and
    summed by item (one compiled pass over the seeds' lists)."""
    if len(rows) == 0:
        return _ranking.empty()
    return kernels.ragged_weighted_sum(
        neighbours.indptr,
        neighbours.items,
        neighbours.scores,
        np.asarray(rows, dtype=np.int64),
        np.asarray(weights, dtype=np.float64),
    )


def session_seeds(
    product: int | None,
    viewed: Sequence[tuple[int, float]],
    cart: Sequence[int],
    *,
    product_weight: float,
    cart_weight: float,
    view_weight: float,
    view_decay: float = 0.8,
    max_views: int = 10,
) -> list[tuple[int, float]]:
    """Seeds of a request: the product, cart items, and recent views (most recent weighs most,
    ``view_weight * view_decay ** age``). A repeated item's weights add up."""
    weights: dict[int, float] = {}
    if product is not None and product_weight:
        weights[product] = product_weight
    for i in cart:
        weights[i] = weights.get(i, 0.0) + cart_weight
    recent = viewed[-max_views:] if view_weight else ()
    for age, (i, _dwell) in enumerate(reversed(recent)):
        weights[i] = weights.get(i, 0.0) + view_weight * view_decay**age
    return list(weights.items())
