"""The training log in index space.

An interaction is one positive event of a user on an item, weighted by its type
(``EVENT_WEIGHTS``). Anonymous sessions should be passed with their session id as user id:
they still teach item co-occurrence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from reco_runtime.catalog import Catalog
from reco_runtime.errors import RecoError

EVENT_WEIGHTS: dict[str, float] = {"view": 1.0, "click": 2.0, "add_to_cart": 4.0, "purchase": 8.0}
# Events that are not a positive signal on their own; ``from_events`` skips them.
IGNORED_EVENT_TYPES = frozenset({"impression", "remove_from_cart"})


@dataclass(frozen=True, eq=False)
class Interactions:
    """Weighted user-item events.

    user_idx, item_idx: (m,) int32 indices into ``user_ids`` and the catalog.
    weight: (m,) float32 > 0 (see ``EVENT_WEIGHTS``).  ts: (m,) float64 epoch seconds.
    user_ids: (n_users,) str external user ids.  n_items: catalog size.
    """

    user_idx: np.ndarray
    item_idx: np.ndarray
    weight: np.ndarray
    ts: np.ndarray
    user_ids: np.ndarray
    n_items: int

    def __post_init__(self) -> None:
        m = len(self.user_idx)
        coerced: dict[str, np.ndarray] = {
            "user_idx": np.asarray(self.user_idx, dtype=np.int32),
            "item_idx": np.asarray(self.item_idx, dtype=np.int32),
            "weight": np.asarray(self.weight, dtype=np.float32),
            "ts": np.asarray(self.ts, dtype=np.float64),
        }
        for name, arr in coerced.items():
            if arr.shape != (m,):
                raise RecoError(f"Interactions.{name} must have shape ({m},), got {arr.shape}")
            object.__setattr__(self, name, arr)
        user_ids = np.asarray(self.user_ids)
        object.__setattr__(self, "user_ids", user_ids if user_ids.dtype.kind == "U" else user_ids.astype(str))
        if self.n_items < 0:
            raise RecoError("Interactions.n_items must be >= 0")
        if m:
            if self.item_idx.min() < 0 or self.item_idx.max() >= self.n_items:
                raise RecoError(f"Interactions.item_idx must lie in [0, {self.n_items})")
            if self.user_idx.min() < 0 or self.user_idx.max() >= len(self.user_ids):
                raise RecoError(f"Interactions.user_idx must lie in [0, {len(self.user_ids)})")
            if not np.all(self.weight > 0):
                raise RecoError("Interactions.weight must be > 0")

    def __len__(self) -> int:
        return len(self.user_idx)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def window(self) -> tuple[float, float]:
        """(first, last) event time in epoch seconds; (0, 0) when empty."""
        if not len(self):
            return (0.0, 0.0)
        return (float(self.ts.min()), float(self.ts.max()))

    @classmethod
    def from_events(
        cls,
        catalog: Catalog,
        user_ids: Sequence[str],
        item_ids: Sequence[str],
        types: Sequence[str],
        ts: Sequence[float],
    ) -> Interactions:
        """Build from parallel event columns.

        Events on items not in the catalog and events of ``IGNORED_EVENT_TYPES`` are dropped;
        an unknown type or a missing user id raises ``RecoError``.
        """
        if not (len(user_ids) == len(item_ids) == len(types) == len(ts)):
            raise RecoError("from_events: user_ids, item_ids, types and ts must have the same length")
        unknown = set(types) - set(EVENT_WEIGHTS) - IGNORED_EVENT_TYPES
        if unknown:
            raise RecoError(
                f"from_events: unknown event types {sorted(unknown)}; expected {sorted(EVENT_WEIGHTS)}"
            )
        if any(u is None or u == "" for u in user_ids):
            raise RecoError("from_events: every event needs a user id (use the session id for anonymous)")
        get = catalog.index_of
        item_idx = np.fromiter(
            (-1 if (i := get(x)) is None else i for x in item_ids), np.int64, count=len(item_ids)
        )
        weight = np.fromiter((EVENT_WEIGHTS.get(t, 0.0) for t in types), np.float32, count=len(types))
        keep = (item_idx >= 0) & (weight > 0)
        users = np.asarray(user_ids, dtype=str)[keep]
        uniq, user_idx = np.unique(users, return_inverse=True)
        return cls(
            user_idx=user_idx.astype(np.int32),
            item_idx=item_idx[keep].astype(np.int32),
            weight=weight[keep],
            ts=np.asarray(ts, dtype=np.float64)[keep],
            user_ids=uniq,
            n_items=catalog.n_items,
        )

    def subset(self, mask: np.ndarray) -> Interactions:
        """The interactions where ``mask`` (m,) bool is true; users and items keep their indices."""
        return Interactions(
            user_idx=self.user_idx[mask],
            item_idx=self.item_idx[mask],
            weight=self.weight[mask],
            ts=self.ts[mask],
            user_ids=self.user_ids,
            n_items=self.n_items,
        )

    def user_item_matrix(self, *, min_weight: float = 0.0) -> sp.csr_matrix:
        """(n_users, n_items) float32 CSR of summed weights of events with weight >= min_weight."""
        keep = self.weight >= min_weight
        mat = sp.csr_matrix(
            (self.weight[keep], (self.user_idx[keep], self.item_idx[keep])),
            shape=(self.n_users, self.n_items),
            dtype=np.float32,
        )
        mat.sum_duplicates()
        return mat

    def decayed_item_counts(self, *, half_life_s: float, now: float | None = None) -> np.ndarray:
        """(n_items,) float64: sum of weight * 2^(-(now - ts) / half_life_s); ``now`` = last event.

        ``half_life_s = inf`` gives plain weighted counts.
        """
        if half_life_s <= 0:
            raise RecoError("half_life_s must be > 0")
        if not len(self):
            return np.zeros(self.n_items)
        now = self.window[1] if now is None else now
        age = np.maximum(now - self.ts, 0.0)
        decay = np.exp2(-age / half_life_s) if np.isfinite(half_life_s) else 1.0
        return np.bincount(self.item_idx, weights=self.weight * decay, minlength=self.n_items)

    def split_temporal(self, *, holdout: float = 0.2) -> tuple[Interactions, Interactions]:
        """Per-user temporal split: each user's last ``holdout`` share of events (at least one,
        if the user has two or more) goes to the second part. Ties in time keep input order."""
        if not 0 < holdout < 1:
            raise RecoError("holdout must be in (0, 1)")
        order = np.lexsort((np.arange(len(self)), self.ts, self.user_idx))
        users = self.user_idx[order]
        counts = np.bincount(users, minlength=self.n_users)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        rank = np.arange(len(self)) - starts[users]
        n_test = np.floor(counts * holdout).astype(np.int64)
        n_test = np.where((n_test == 0) & (counts >= 2), 1, n_test)
        is_test = np.zeros(len(self), dtype=bool)
        is_test[order] = rank >= (counts - n_test)[users]
        return self.subset(~is_test), self.subset(is_test)
