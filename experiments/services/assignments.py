"""Assignments: which variant fills each slot for this request, and with which items.

Reads only the in-process ``ServingState`` and the session's signals; never the database.
"""

import logging
import time
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from experiments.serving.decision_tokens import (
    DecisionPayload,
    decision_key_new,
    decision_keys_new,
    session_hash,
    token_sign,
)
from experiments.serving.hashing import segment_index_pick, unit_tick, unit_uniform
from experiments.serving.model_store import catalog_current, model_for
from experiments.serving.session_store import signals_read
from experiments.serving.state import ServingState, SlotState, VariantState
from reco_runtime.catalog import Catalog
from reco_runtime.models.base import Recommender
from reco_runtime.request import RecRequest, SessionSignals

log = logging.getLogger(__name__)
HOLDOUT_SALT = "__program_holdout__"
PRODUCT_PAGE = "product"
# Why a slot was served its fallback (the decision's "reason"):
# unknown_product: context.product_id is not in the catalog or not available, and the variant
# needs the product;
# missing_product: a product-page slot asked without product_id, and the variant needs it;
# model_unavailable: the variant has no trained model loaded (or no catalog is loaded);
# model_error: the variant's model raised while answering.
FALLBACK_REASONS = ("unknown_product", "missing_product", "model_unavailable", "model_error")
MODEL_FAILURES = frozenset({"model_unavailable", "model_error"})
_NO_ITEMS = (np.empty(0, dtype=np.int64), np.empty(0))


class _Unserved(Exception):
    """The variant cannot serve this slot for this request; ``reason`` is the fallback's reason code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


def _fallback_reason(exc: Exception) -> str:
    return exc.reason if isinstance(exc, _Unserved) else "model_error"


@dataclass(frozen=True, slots=True)
class AssignmentInput:
    session_id: str
    user_id: str | None
    slots: tuple[str, ...] | None
    page: str
    product_id: str | None
    cart: tuple[str, ...]
    device: str | None
    k: int | None


@dataclass(slots=True)
class _PageCandidates:
    """One model's candidates for the whole page, and how far the page has used them up."""

    items: np.ndarray
    scores: np.ndarray
    ids: list[int]  # items as Python ints, for the per-slot membership walk
    start: int = 0  # every candidate before it is already excluded


@dataclass(slots=True)
class _Pick:
    variant: VariantState | None
    experiment_id: int | None = None
    experiment_key: str | None = None
    arm_id: int | None = None
    allocation_version: int = 0
    propensity: float = 1.0


def _signals_build(catalog: Catalog, raw: dict, cart: tuple[str, ...]) -> SessionSignals:
    viewed = []
    for entry in raw.get("viewed", ()):
        idx = catalog.index_of(entry[0])
        if idx is not None:
            viewed.append((idx, float(entry[1])))
    cart_ids = list(dict.fromkeys([*raw.get("cart", ()), *cart]))
    return SessionSignals(
        viewed=tuple(viewed),
        cart=tuple(int(i) for i in catalog.indices_of(cart_ids)),
        removed=tuple(int(i) for i in catalog.indices_of(raw.get("removed", ()))),
    )


def _pick(slot: SlotState, data: AssignmentInput, in_holdout: bool, request_nonce: str) -> _Pick:
    experiment = slot.experiment
    if in_holdout:
        return _Pick(variant=slot.baseline)
    if experiment is None:
        return _Pick(variant=slot.default)
    if experiment.unit == "user":
        unit = data.user_id or data.session_id
    elif experiment.unit == "session":
        unit = data.session_id
    else:
        unit = request_nonce
    # The salt, not the allocation version: a unit keeps its hash position while the weights move.
    segment = segment_index_pick(unit_tick(unit, experiment.key, experiment.salt), experiment.segment_ends)
    arm = experiment.arms[experiment.segment_arms[segment]]
    return _Pick(
        arm.variant, experiment.id, experiment.key, arm.id, experiment.allocation_version, arm.weight
    )


def _available_mask(state: ServingState) -> np.ndarray | None:
    """The items the state's catalog may serve now (None: all of them)."""
    availability = state.availability
    if availability is None or availability.catalog_version != state.catalog_version:
        return None
    return availability.mask


def _model(variant: VariantState | None, catalog_version: str) -> Recommender:
    if variant is None or not variant.model_version:
        raise _Unserved("model_unavailable", "no trained model for this variant")
    model = model_for(variant.model_version, catalog_version)
    if model is None:
        raise _Unserved("model_unavailable", f"model {variant.model_version} is not loadable")
    return model


class SlotServer:
    """Serves the slots of one request in order, so later slots skip items earlier ones showed.

    Given the page's ``slot_keys`` up front, it picks every slot's arm first; a model that serves
    several slots of the page computes its candidates once (``Recommender.page_candidates``, with
    room for everything the page can exclude), and each of those slots takes its first ``k``
    candidates not shown yet (``Recommender.recommend_from``). Every request of the page carries
    one ``page_memo``: a model that also runs as a ``hybrid``'s generator (the same loaded
    object, see ``model_store``) scores the session once for both.
    """

    def __init__(self, state: ServingState, data: AssignmentInput, slot_keys: tuple[str, ...] = ()) -> None:
        self.state = state
        self.data = data
        self.catalog = catalog_current(state.catalog_version)
        self.key = settings.DECISION_SIGNING_KEY.encode()
        self.session_hash = session_hash(data.session_id)
        self.served_at = int(time.time())
        self._keys = decision_keys_new(len(slot_keys) + 1)
        self.request_nonce = self._keys.pop()
        unit = data.user_id or data.session_id
        self.in_holdout = unit_uniform(unit, HOLDOUT_SALT, 0) < state.holdout_share
        self.exclude: set[int] = set()
        self.signals = SessionSignals()
        self.product: int | None = None
        self.available = _available_mask(state)
        if self.catalog is not None:
            self.signals = _signals_build(self.catalog, signals_read(data.session_id), data.cart)
            self.product = self.catalog.index_of(data.product_id) if data.product_id else None
            if self.product is not None and self.available is not None and not self.available[self.product]:
                self.product = None  # an unavailable product anchors nothing: unknown_product
            self.exclude.update(self.signals.cart)
            if self.product is not None:
                self.exclude.add(self.product)
        self._base_exclude = frozenset(self.exclude)
        self._picks: dict[str, _Pick] = {}
        self._uses: dict[str, int] = {}
        self._shared: dict[str, _PageCandidates] = {}
        self._page_memo: dict = {}
        self._page_k = 0
        self._plan(slot_keys)

    def _plan(self, slot_keys: tuple[str, ...]) -> None:
        """Pick every slot's arm and count the slots each model serves on this page."""
        for slot_key in slot_keys:
            slot = self.state.slots.get(slot_key)
            if slot is None:
                continue
            pick = self._picks.get(slot_key) or _pick(slot, self.data, self.in_holdout, self.request_nonce)
            self._picks[slot_key] = pick
            self._page_k += self.data.k or slot.default_k
            version = pick.variant.model_version if pick.variant else ""
            if version:
                self._uses[version] = self._uses.get(version, 0) + 1

    def _request(self, k: int, exclude: frozenset[int] | None = None) -> RecRequest:
        return RecRequest(
            k=k,
            user_id=self.data.user_id,
            product=self.product,
            signals=self.signals,
            exclude=frozenset(self.exclude) if exclude is None else exclude,
            device=self.data.device,
            page_memo=self._page_memo,
            available=self.available,
        )

    def _model(self, variant: VariantState | None) -> Recommender:
        if self.catalog is None:
            raise _Unserved("model_unavailable", "no catalog loaded")
        return _model(variant, self.state.catalog_version)

    def _product_gap(self, slot: SlotState) -> str | None:
        """Why ``slot`` has no product to anchor on: ``unknown_product`` (an id the catalog does
        not know), ``missing_product`` (a product-page slot asked without one), else None (a
        known product, or another page, whose variants anchor on the cart and the views)."""
        if self.product is not None:
            return None
        if self.data.product_id:
            return "unknown_product"
        return "missing_product" if slot.page == PRODUCT_PAGE else None

    def _anchored_model(self, variant: VariantState | None, slot: SlotState) -> Recommender:
        """The variant's model, unless it needs the page's product and this slot has none."""
        model = self._model(variant)
        if model.needs_product:
            gap = self._product_gap(slot)
            if gap is not None:
                raise _Unserved(gap)
        return model

    def _items(self, variant: VariantState | None, k: int, slot: SlotState) -> tuple[np.ndarray, np.ndarray]:
        model = self._anchored_model(variant, slot)
        version = variant.model_version
        if self._uses.get(version, 0) < 2:
            return model.recommend(self._request(k))
        shared = self._shared.get(version)
        if shared is None:
            request = self._request(k, self._base_exclude)
            items, scores = model.page_candidates(request, max(k, self._page_k))
            shared = self._shared[version] = _PageCandidates(items, scores, items.tolist())
        # Skip the prefix every item of which is already excluded (shown by an earlier slot or
        # excluded from the start): exclusions only grow within a page, so it stays excluded, and
        # each slot no longer walks past everything the earlier slots took.
        start = shared.start
        while start < len(shared.ids) and shared.ids[start] in self.exclude:
            start += 1
        shared.start = start
        candidates = (shared.items[start:], shared.scores[start:])
        return model.recommend_from(candidates, k, self.exclude, self.available)

    def serve(self, slot_key: str) -> dict:
        slot = self.state.slots.get(slot_key)
        if slot is None:
            return {
                "slot": slot_key,
                "error": {"code": "unknown_slot", "detail": "No active slot with this key."},
            }
        k = self.data.k or slot.default_k
        pick = self._picks.get(slot_key) or _pick(slot, self.data, self.in_holdout, self.request_nonce)
        try:
            indices, scores = self._items(pick.variant, k, slot)
        except Exception as exc:
            reason = _fallback_reason(exc)
            if reason in MODEL_FAILURES:
                log.warning("slot %s variant %s failed (%s); serving fallback", slot_key, pick.variant, exc)
            pick = _Pick(variant=slot.fallback)
            indices, scores = self._fallback_items(slot, k)
            return self._decision(slot, pick, reason, indices, scores)
        return self._decision(slot, pick, None, indices, scores)

    def _fallback_items(self, slot: SlotState, k: int) -> tuple:
        """The fallback variant's items; none (never its back-filled bestsellers) when it needs
        the product too, and none when it fails."""
        try:
            return self._anchored_model(slot.fallback, slot).recommend(self._request(k))
        except _Unserved as exc:
            if exc.reason in MODEL_FAILURES:
                log.warning("fallback of slot %s cannot serve (%s); serving no items", slot.key, exc)
            return _NO_ITEMS
        except Exception:
            log.exception("fallback of slot %s failed too; serving no items", slot.key)
            return _NO_ITEMS

    def _decision(self, slot: SlotState, pick: _Pick, reason: str | None, indices, scores) -> dict:
        if len(indices):
            item_ids = self.catalog.item_ids[indices].tolist()
            # np.round's own arithmetic without its dispatch (identical values; Python's round
            # with digits is slower still).
            rounded = (np.rint(np.asarray(scores, dtype=np.float64) * 1e6) / 1e6).tolist()
            self.exclude.update(np.asarray(indices).tolist())
        else:
            item_ids, rounded = [], []
        payload = DecisionPayload(
            decision_key=self._keys.pop() if self._keys else decision_key_new(),
            slot_id=slot.id,
            experiment_id=pick.experiment_id,
            arm_id=pick.arm_id,
            allocation_version=pick.allocation_version,
            propensity=round(pick.propensity, 6),
            served_at=self.served_at,
            holdout=self.in_holdout,
            session_hash=self.session_hash,
            items=tuple(item_ids),
        )
        decision = {
            "slot": slot.key,
            "decision_id": token_sign(payload, key=self.key),
            "experiment": pick.experiment_key,
            "variant": pick.variant.key if pick.variant else None,
            "propensity": payload.propensity,
            "fallback": reason is not None,
            "items": [
                {"item_id": item, "score": s, "rank": r}
                for r, item, s in zip(range(1, len(item_ids) + 1), item_ids, rounded, strict=False)
            ],
        }
        if reason is not None:
            decision["reason"] = reason
        return decision


class UnknownPage(ValueError):
    """``context.page`` names no page with active slots; ``known`` lists the pages that have some."""

    def __init__(self, page: str, known: list[str]) -> None:
        super().__init__(f"Unknown page {page!r}; known pages: {', '.join(known)}.")
        self.known = known


def pages_known(state: ServingState) -> list[str]:
    """The pages a request may name: those with an active slot, and always the default page."""
    return sorted({PRODUCT_PAGE, *state.pages})


def assignments_create(*, state: ServingState, data: AssignmentInput) -> dict:
    """Serve every asked slot (or all active slots of the page); one slot's failure never fails the rest.

    Raises ``UnknownPage`` for a page with no active slot (other than the default page), so a
    misspelt page is an error rather than an empty answer."""
    started = time.perf_counter()
    if data.page not in state.pages and data.page != PRODUCT_PAGE:
        raise UnknownPage(data.page, pages_known(state))
    slot_keys = data.slots if data.slots is not None else state.pages.get(data.page, ())
    server = SlotServer(state, data, tuple(slot_keys))
    decisions = [server.serve(key) for key in slot_keys]
    return {"decisions": decisions, "served_in_ms": round((time.perf_counter() - started) * 1000, 3)}
