"""``popularity``: time-decayed bestsellers, the cold-start prior.

score(i) = sum over events e on i of weight(e) * 2^(-(t_last - t_e) / half_life).
``scope="category"`` (or ``"brand"``) ranks within the current product's category (brand) and
back-fills from the global list; with no product it serves the global list.
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
from reco_runtime.topn import Ragged, group_top_n, top_n_indices

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
        if p.scope != "global":
            codes = self._group_codes(catalog)
            self.groups = group_top_n(codes, scores, p.group_top_n, n_groups=int(codes.max()) + 1)

    def _group_codes(self, catalog: Catalog) -> np.ndarray:
        return catalog.category if self.params.scope == "category" else catalog.brand

    def _candidates(
        self, request: RecRequest, n: int, exclude: frozenset[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        available = request.available
        if self.groups is not None and request.product is not None and self.catalog is not None:
            group = int(self._group_codes(self.catalog)[request.product])
            if group < self.groups.n_rows:
                items, scores = self.groups.row(group)
                items, scores = _ranking.sorted_top_k(items, scores, n, exclude, available)
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
