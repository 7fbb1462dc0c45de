"""``popularity``: time-decayed bestsellers, the cold-start prior.

score(i) = sum over events e on i of weight(e) * 2^(-(t_last - t_e) / half_life).
``scope="category"`` (or ``"brand"``) ranks within the current product's category (brand) and
back-fills from the global list; with no product it serves the global list. With a category
tree ("Women > Shoes > Sneakers") a short list of the product's own category is back-filled
from its parent's list ("Shoes"), then the grandparent's ("Women"), then the global one.
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
from reco_runtime.request import RecRequest
from reco_runtime.topn import Ragged, group_top_n, group_top_n_pairs, top_n_indices

DAY_S = 86_400.0
SCOPES = ("global", "category", "brand")


@dataclass(frozen=True)
class PopularityParams:
    half_life_days: float = 7.0  # inf = plain weighted counts
    top_n: int = 1000  # length of the global list
    scope: str = "global"
    group_top_n: int = 300  # list length per category/brand when scope != "global"

    def __post_init__(self) -> None:
        if not self.half_life_days > 0:
            raise RecoError("popularity: half_life_days must be > 0")
        if self.top_n < 1 or self.group_top_n < 1:
            raise RecoError("popularity: top_n and group_top_n must be >= 1")
        if self.scope not in SCOPES:
            raise RecoError(f"popularity: scope must be one of {SCOPES}")


class Popularity(Recommender):
    algorithm = "popularity"
    Params = PopularityParams

    @property
    def needs_product(self) -> bool:
        """Scoped to the product's category or brand; the global list needs nothing."""
        p: PopularityParams = self.params
        return p.scope != "global"

    def _fit(self, interactions: Interactions, catalog: Catalog, progress: Any) -> None:
        p: PopularityParams = self.params
        scores = interactions.decayed_item_counts(half_life_s=p.half_life_days * DAY_S)
        self.item_scores = scores.astype(np.float32)  # (n_items,) used by other variants as prior
        self.top = top_n_indices(scores, p.top_n)
        self.top_scores = self.item_scores[self.top]
        self.groups = None
        self._levels_of(catalog)
        if p.scope == "category":
            # One list per category of every level: an item is in its category and all above.
            levels = self.levels[catalog.category]
            member = levels >= 0
            items = np.broadcast_to(np.arange(catalog.n_items, dtype=np.int64)[:, None], levels.shape)
            self.groups = group_top_n_pairs(
                levels[member], items[member], scores, p.group_top_n, n_groups=catalog.n_category_nodes
            )
        elif p.scope == "brand":
            codes = catalog.brand
            self.groups = group_top_n(codes, scores, p.group_top_n, n_groups=int(codes.max()) + 1)

    def _levels_of(self, catalog: Catalog) -> None:
        """``levels[c]``: category c, its parent, grandparent, ... (-1 padded); brands are flat."""
        self.levels = catalog.category_ancestry()

    def _group_codes(self, catalog: Catalog) -> np.ndarray:
        return catalog.category if self.params.scope == "category" else catalog.brand

    def _candidates(
        self, request: RecRequest, n: int, exclude: frozenset[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        available = request.available
        if self.groups is not None and request.product is not None and self.catalog is not None:
            group = int(self._group_codes(self.catalog)[request.product])
            chain = self.levels[group].tolist() if self.params.scope == "category" else [group]
            items, scores = _ranking.empty()
            for level in chain:
                if len(items) >= n:
                    break
                if 0 <= level < self.groups.n_rows:
                    level_items, level_scores = self.groups.row(level)
                    if len(items) == 0:
                        items, scores = _ranking.sorted_top_k(
                            level_items, level_scores, n, exclude, available
                        )
                    else:
                        items, scores = _ranking.backfill(items, scores, n, exclude, level_items, available)
            return _ranking.backfill(items, scores, n, exclude, self.top, available)
        return _ranking.sorted_top_k(self.top, self.top_scores, n, exclude, available)

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {"item_scores": self.item_scores, "top": self.top}
        if self.groups is not None:
            arrays |= self.groups.arrays("groups")
        return arrays, {}

    def _restore(self, arrays: dict[str, np.ndarray], meta: dict[str, Any], catalog: Catalog) -> None:
        self.item_scores = arrays["item_scores"]
        self.top = arrays["top"]
        self.top_scores = np.asarray(self.item_scores[self.top])
        self.groups = Ragged.from_arrays(arrays, "groups") if self.params.scope != "global" else None
        self._levels_of(catalog)
