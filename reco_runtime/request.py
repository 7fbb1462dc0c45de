"""What a slot asks the runtime: the request and the session's recent signals.

All item references are catalog *indices* (see ``Catalog.index_of``); the serving layer maps
external ids before building a request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from reco_runtime.errors import RecoError

if TYPE_CHECKING:
    from reco_runtime.catalog import Catalog

MAX_K = 1000


def _check_items(name: str, items: tuple[int, ...]) -> None:
    for i in items:
        if isinstance(i, bool) or not isinstance(i, int | np.integer) or i < 0:
            raise RecoError(f"{name} must hold item indices (int >= 0), got {i!r}")


@dataclass(frozen=True)
class SessionSignals:
    """The session's recent behaviour.

    viewed: ((item_idx, dwell_ms), ...), most recent last; dwell_ms >= 0 (0 = unknown).
    cart: item indices currently in the cart.  removed: item indices taken out of the cart.
    """

    viewed: tuple[tuple[int, float], ...] = ()
    cart: tuple[int, ...] = ()
    removed: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        viewed = tuple((int(i), float(d)) for i, d in self.viewed)
        if any(i < 0 or not d >= 0 for i, d in viewed):
            raise RecoError("SessionSignals.viewed must hold (item_idx >= 0, dwell_ms >= 0) pairs")
        object.__setattr__(self, "viewed", viewed)
        object.__setattr__(self, "cart", tuple(self.cart))
        object.__setattr__(self, "removed", tuple(self.removed))
        _check_items("SessionSignals.cart", self.cart)
        _check_items("SessionSignals.removed", self.removed)

    @property
    def is_empty(self) -> bool:
        return not (self.viewed or self.cart or self.removed)

    def max_item(self) -> int:
        """Largest item index referenced, -1 if none (for bounds checks against a catalog)."""
        items = [i for i, _ in self.viewed] + list(self.cart) + list(self.removed)
        return max(items, default=-1)


@dataclass(frozen=True)
class RecRequest:
    """One slot's question: up to ``k`` items for this context.

    product: item index of the page's current product (None off product pages).
    exclude: item indices never to return (cart, items shown by earlier slots); the page's own
    product is never returned either.
    cohort: legacy customer cohort 0..11 if the caller knows it (see ``cohorts.cohort_of``).
    page_memo: a dict shared by the requests of one page (the same user, product and signals;
    only ``k`` and ``exclude`` differ), in which models keep the work that does not depend on
    those two, so a model serving several slots, alone or inside a ``hybrid``, does it once.
    available: (n_items,) read-only bool, False for items that may not be served now (out of
    stock, delisted); None when every item may be. Unlike ``exclude`` it costs nothing per
    unavailable item: it is looked up at the candidates, never turned into a set.
    """

    k: int
    user_id: str | None = None
    product: int | None = None
    signals: SessionSignals = SessionSignals()
    exclude: frozenset[int] = frozenset()
    device: str | None = None
    cohort: int | None = None
    page_memo: dict[Any, Any] | None = field(default=None, compare=False, repr=False)
    available: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int | np.integer) or not 0 < self.k <= MAX_K:
            raise RecoError(f"RecRequest.k must be an int in 1..{MAX_K}, got {self.k!r}")
        if self.product is not None:
            _check_items("RecRequest.product", (self.product,))
        if not isinstance(self.exclude, frozenset):
            object.__setattr__(self, "exclude", frozenset(self.exclude))
        if not isinstance(self.signals, SessionSignals):
            raise RecoError("RecRequest.signals must be a SessionSignals")
        if self.cohort is not None and not (isinstance(self.cohort, int) and 0 <= self.cohort):
            raise RecoError("RecRequest.cohort must be an int >= 0 or None")
        available = self.available
        if available is not None and (
            not isinstance(available, np.ndarray) or available.dtype != np.bool_ or available.ndim != 1
        ):
            raise RecoError("RecRequest.available must be a 1-d bool array (one entry per item) or None")

    def max_item(self) -> int:
        """Largest item index referenced by product and signals, -1 if none."""
        return max(self.signals.max_item(), -1 if self.product is None else self.product)


def request_build(
    catalog: Catalog,
    *,
    k: int,
    user_id: str | None = None,
    product_id: str | None = None,
    viewed: Sequence[tuple[str, float]] = (),
    cart_ids: Sequence[str] = (),
    removed_ids: Sequence[str] = (),
    exclude_ids: Iterable[str] = (),
    device: str | None = None,
    cohort: int | None = None,
) -> RecRequest:
    """A ``RecRequest`` from external item ids (what the storefront sends). Unknown ids are
    dropped, so a stale cart or a product missing from the catalog never fails a request;
    cart items are excluded from the answer. viewed: ((item_id, dwell_ms), ...), most recent last."""
    index = catalog.index_of
    product = index(product_id) if product_id else None
    seen = [(i, max(0.0, float(d or 0.0))) for item_id, d in viewed if (i := index(item_id)) is not None]
    cart = tuple(int(i) for i in catalog.indices_of(cart_ids))
    removed = tuple(int(i) for i in catalog.indices_of(removed_ids))
    exclude = frozenset(int(i) for i in catalog.indices_of(exclude_ids)) | frozenset(cart)
    return RecRequest(
        k=k,
        user_id=user_id or None,
        product=product,
        signals=SessionSignals(viewed=tuple(seen), cart=cart, removed=removed),
        exclude=exclude,
        device=device,
        cohort=cohort,
    )
