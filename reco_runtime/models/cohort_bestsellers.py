"""``cohort_bestsellers``: the legacy baseline.

Bestsellers (weighted event counts over the last ``window_days`` of the log, no decay inside the
window, as the monthly batch job did) for each of the 12 customer cohorts of ``cohorts.cohort_of``:
known users by a stable hash of their id, anonymous sessions by device. Training users are
cohorted by their id, so anonymous history sessions (session id as user id) land in hashed
cohorts too, as in the legacy job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from reco_runtime.catalog import Catalog
from reco_runtime.cohorts import N_COHORTS, cohort_of
from reco_runtime.errors import RecoError
from reco_runtime.interactions import Interactions
from reco_runtime.models import _ranking
from reco_runtime.models.base import Recommender
from reco_runtime.request import RecRequest
from reco_runtime.topn import Ragged, top_n_indices

DAY_S = 86_400.0


@dataclass(frozen=True)
class CohortBestsellersParams:
    window_days: float = 30.0  # inf = the whole log
    top_n: int = 500  # list length per cohort

    def __post_init__(self) -> None:
        if not self.window_days > 0 or self.top_n < 1:
            raise RecoError("cohort_bestsellers: window_days must be > 0 and top_n >= 1")


class CohortBestsellers(Recommender):
    algorithm = "cohort_bestsellers"
    Params = CohortBestsellersParams

    def _fit(self, interactions: Interactions, catalog: Catalog, progress: Any) -> None:
        p: CohortBestsellersParams = self.params
        recent = interactions.ts >= interactions.window[1] - p.window_days * DAY_S
        user_cohort = np.fromiter(
            (cohort_of(u) for u in interactions.user_ids.tolist()), np.int64, count=interactions.n_users
        )
        cohort = user_cohort[interactions.user_idx[recent]]
        n = interactions.n_items
        indptr, items, scores = [0], [], []
        for c in range(N_COHORTS):
            mask = cohort == c
            counts = np.bincount(
                interactions.item_idx[recent][mask], weights=interactions.weight[recent][mask], minlength=n
            )
            top = top_n_indices(counts, p.top_n)
            items.append(top)
            scores.append(counts[top].astype(np.float32))
            indptr.append(indptr[-1] + len(top))
        self.lists = Ragged(
            np.asarray(indptr, dtype=np.int64),
            np.concatenate(items).astype(np.int32),
            np.concatenate(scores).astype(np.float32),
        )

    @staticmethod
    def cohort_for(request: RecRequest) -> int:
        """The request's cohort: ``request.cohort`` if given, else ``cohort_of(user_id, device)``."""
        if request.cohort is not None:
            return request.cohort % N_COHORTS
        return cohort_of(request.user_id, request.device)

    def _candidates(
        self, request: RecRequest, n: int, exclude: frozenset[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        items, scores = self.lists.row(self.cohort_for(request))
        return _ranking.sorted_top_k(items, scores, n, exclude, request.available)

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return self.lists.arrays("lists"), {}

    def _restore(self, arrays: dict[str, np.ndarray], meta: dict[str, Any], catalog: Catalog) -> None:
        self.lists = Ragged.from_arrays(arrays, "lists")
        if self.lists.n_rows != N_COHORTS:
            raise RecoError(f"expected {N_COHORTS} cohort lists, found {self.lists.n_rows}")
