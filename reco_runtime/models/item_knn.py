"""``item_knn``: item-to-item co-occurrence neighbours ("similar", "bought together").

Training keeps the top ``n_neighbors`` cosine neighbours of every item (see ``neighbours``).
``min_weight=4`` keeps only add-to-cart and purchase events, which gives "bought together".
A request scores the neighbours of its seeds: the page's product, the cart, the recent views.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from reco_runtime.catalog import Catalog
from reco_runtime.errors import RecoError
from reco_runtime.interactions import Interactions
from reco_runtime.models import _ranking
from reco_runtime.models.base import Recommender
from reco_runtime.neighbours import cosine_neighbours, damped, seed_scores, session_seeds
from reco_runtime.request import RecRequest
from reco_runtime.topn import Ragged


@dataclass(frozen=True)
class ItemKnnParams:
    n_neighbors: int = 100
    min_weight: float = 0.0  # 4.0 = carts and purchases only ("bought together")
    shrink: float = 10.0
    weighting: str = "log"  # "log" | "binary"
    product_weight: float = 1.0
    cart_weight: float = 0.8
    view_weight: float = 0.5  # 0 = only the product and the cart ("similar to this")
    max_views: int = 10

    def __post_init__(self) -> None:
        if self.n_neighbors < 1 or self.shrink < 0 or self.max_views < 0:
            raise RecoError("item_knn: n_neighbors >= 1, shrink >= 0, max_views >= 0 required")
        if self.weighting not in ("log", "binary"):
            raise RecoError("item_knn: weighting must be 'log' or 'binary'")


class ItemKnn(Recommender):
    algorithm = "item_knn"
    Params = ItemKnnParams

    @property
    def needs_product(self) -> bool:
        return True  # the product's neighbours: "similar", "bought together"

    def _fit(self, interactions: Interactions, catalog: Catalog, progress: Any) -> None:
        p: ItemKnnParams = self.params
        x = damped(interactions.user_item_matrix(min_weight=p.min_weight), p.weighting)
        self.neighbours = cosine_neighbours(x, p.n_neighbors, shrink=p.shrink, progress=bool(progress))

    def _candidates(
        self, request: RecRequest, n: int, exclude: frozenset[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        items, scores = self._page_once(request, "scores", lambda: self._scores(request))
        return _ranking.top_k(items, scores, n, exclude, request.available)

    def _scores(self, request: RecRequest) -> tuple[np.ndarray, np.ndarray]:
        """Every neighbour of the request's seeds with its summed score."""
        p: ItemKnnParams = self.params
        seeds = session_seeds(
            request.product,
            request.signals.viewed,
            request.signals.cart,
            product_weight=p.product_weight,
            cart_weight=p.cart_weight,
            view_weight=p.view_weight,
            max_views=p.max_views,
        )
        return seed_scores(self.neighbours, seeds)

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return self.neighbours.arrays("nb"), {}

    def _restore(self, arrays: dict[str, np.ndarray], meta: dict[str, Any], catalog: Catalog) -> None:
        self.neighbours = Ragged.from_arrays(arrays, "nb")
        if self.neighbours.n_rows != catalog.n_items:
            raise RecoError("item_knn: neighbour lists do not match the catalog size")
