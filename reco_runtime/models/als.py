"""``als``: implicit-feedback matrix factorisation (Hu, Koren & Volinsky 2008) with ``implicit``.

Confidence of a (user, item) pair: ``alpha * log1p(summed event weight)``. Known users are scored
with their trained vector; a session's items (product, cart, views) are folded in with one
least-squares step against the fixed item factors (the ALS user update)::

    u_s = (Y'Y + reg I + sum_i (c_i - 1) y_i y_i')^-1 sum_i c_i y_i

and added to the known user's vector (long-term taste + this session's intent). Candidates
come from an IVF index (``ivf``) over the factors of the items that had interactions, never a
scan of the catalog: ``n_candidates`` (default 1000) rows are scored per request, which finds
most of the exact top 10 at every catalog size measured (recall against brute force:
``bench/notes/2026-11-23-runtime.md``).

``implicit`` is only needed to train: serving is numpy. Training runs under
``threadpool_limits(1, "blas")`` because OpenBLAS threads fight implicit's own threads (the
library warns about it); set ``OPENBLAS_NUM_THREADS=1`` in training workers for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg.lapack import dposv

from reco_runtime.catalog import Catalog
from reco_runtime.errors import RecoError
from reco_runtime.interactions import Interactions
from reco_runtime.ivf import IvfIndex, ivf_build
from reco_runtime.models import _ranking
from reco_runtime.models.base import Recommender
from reco_runtime.neighbours import session_seeds
from reco_runtime.request import RecRequest


@dataclass(frozen=True)
class AlsParams:
    factors: int = 64
    regularization: float = 0.05
    alpha: float = 10.0  # confidence = alpha * log1p(weight)
    iterations: int = 15
    seed: int = 0
    n_candidates: int = 1000  # items scored per request (IVF probe size)
    n_clusters: int = 0  # 0 = about sqrt(n_items)
    session_weight: float = 1.0  # scale of the folded-in session vector
    product_conf: float = 1.0  # event weight the page's product counts as for fold-in
    cart_conf: float = 4.0
    view_conf: float = 1.0

    def __post_init__(self) -> None:
        if self.factors < 1 or self.iterations < 1 or self.n_candidates < 1 or self.n_clusters < 0:
            raise RecoError("als: factors, iterations, n_candidates must be >= 1, n_clusters >= 0")
        if self.regularization < 0 or self.alpha <= 0:
            raise RecoError("als: regularization must be >= 0 and alpha > 0")


class Als(Recommender):
    algorithm = "als"
    Params = AlsParams

    def _fit(self, interactions: Interactions, catalog: Catalog, progress: Any) -> None:
        from implicit.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        p: AlsParams = self.params
        conf = interactions.user_item_matrix()
        conf.data = p.alpha * np.log1p(conf.data)
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=p.factors,
                regularization=p.regularization,
                alpha=1.0,
                iterations=p.iterations,
                random_state=p.seed,
            )
            model.fit(conf, show_progress=bool(progress))
        item_factors = np.ascontiguousarray(_to_numpy(model.item_factors), dtype=np.float32)
        self.user_factors = np.ascontiguousarray(_to_numpy(model.user_factors), dtype=np.float32)
        self.user_ids = interactions.user_ids
        self._user_index: dict[str, int] | None = None
        # Items nobody interacted with keep ALS's random initial factors: noise, so they are
        # neither candidates nor fold-in seeds.
        trained = np.bincount(interactions.item_idx, minlength=interactions.n_items) > 0
        y = item_factors[trained].astype(np.float64)
        self.gram = y.T @ y + p.regularization * np.eye(p.factors)
        self.index = ivf_build(
            item_factors, n_clusters=p.n_clusters or None, rng=np.random.default_rng(p.seed), indexed=trained
        )

    @property
    def item_factors(self) -> np.ndarray:
        """(n_items, factors) in item order, zeros for items without interactions: a copy
        assembled from the index (for analysis and benchmarks; serving reads the index)."""
        return self.index.vector_of(np.arange(len(self.index.positions)))

    def user_vector(self, request: RecRequest) -> np.ndarray | None:
        """The request's taste vector (factors,), or None when nothing is known."""
        j = self._user_row(request.user_id)
        known = self.user_factors[j] if j is not None else None
        session = self._fold_in(request)
        if session is None:
            return known
        session *= self.params.session_weight
        return session if known is None else known + session

    def _user_row(self, user_id: str | None) -> int | None:
        if user_id is None:
            return None
        if self._user_index is None:  # built on first use, not at load, so loading stays cheap
            self._user_index = {str(u): j for j, u in enumerate(self.user_ids.tolist())}
        return self._user_index.get(user_id)

    def _fold_in(self, request: RecRequest) -> np.ndarray | None:
        p: AlsParams = self.params
        seeds = session_seeds(
            request.product,
            request.signals.viewed,
            request.signals.cart,
            product_weight=p.product_conf,
            cart_weight=p.cart_conf,
            view_weight=p.view_conf,
            view_decay=1.0,
        )
        seeds = [(i, w) for i, w in seeds if w > 0]
        rows = self.index.positions[np.fromiter((i for i, _ in seeds), np.int64, count=len(seeds))]
        indexed = rows >= 0  # items without interactions have no vector
        if not indexed.any():
            return None
        weights = np.fromiter((w for _, w in seeds), np.float64, count=len(seeds))[indexed]
        conf = p.alpha * np.log1p(weights)
        y = self.index.vectors[rows[indexed]].astype(np.float64)
        a = self.gram + (y.T * (conf - 1.0)) @ y
        b = (y.T * conf).sum(axis=1)
        # a is symmetric positive definite: Cholesky (LAPACK posv) on a.T, which is the same
        # matrix already in Fortran order, is about half the cost of np.linalg.solve here.
        _, u, info = dposv(a.T, b)
        if info != 0:
            u = np.linalg.lstsq(a, b, rcond=None)[0]
        return u.astype(np.float32)

    def _candidates(
        self, request: RecRequest, n: int, exclude: frozenset[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        size = self.params.n_candidates + len(exclude)
        cands, scores = self._page_once(request, ("search", size), lambda: self._search(request, size))
        return _ranking.top_k(cands, scores, n, exclude, request.available)

    def _search(self, request: RecRequest, size: int) -> tuple[np.ndarray, np.ndarray]:
        u = self._page_once(request, "user_vector", lambda: self.user_vector(request))
        return _ranking.empty() if u is None else self.index.search(u, size)

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {"user_factors": self.user_factors, "user_ids": self.user_ids, "gram": self.gram}
        return arrays | self.index.arrays("ivf"), {}

    def _restore(self, arrays: dict[str, np.ndarray], meta: dict[str, Any], catalog: Catalog) -> None:
        self.user_factors = arrays["user_factors"]
        self.user_ids = arrays["user_ids"]
        self.gram = np.asarray(arrays["gram"])
        self.index = IvfIndex.from_arrays(arrays, "ivf")
        self._user_index = None
        if len(self.index.positions) != catalog.n_items or len(self.user_factors) != len(self.user_ids):
            raise RecoError("als: factor shapes do not match the catalog or the user ids")


def _to_numpy(x: Any) -> np.ndarray:
    return x.to_numpy() if hasattr(x, "to_numpy") else np.asarray(x)
