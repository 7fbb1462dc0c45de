"""Assignments: which variant fills each slot for this request, and with which items.

Reads only the in-process ``ServingState`` and the session's signals; never the database.
"""

import logging
import time
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from experiments.serving.decision_tokens import DecisionPayload, decision_key_new, session_hash, token_sign
from experiments.serving.hashing import arm_index_pick, unit_uniform
from experiments.serving.model_store import catalog_current, model_for
from experiments.serving.session_store import signals_read
from experiments.serving.state import ServingState, SlotState, VariantState
from reco_runtime.catalog import Catalog
from reco_runtime.request import RecRequest, SessionSignals

log = logging.getLogger(__name__)
HOLDOUT_SALT = "__program_holdout__"


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
    if in_holdout or experiment is None:
        return _Pick(variant=slot.fallback)
    if experiment.unit == "user":
        unit = data.user_id or data.session_id
    elif experiment.unit == "session":
        unit = data.session_id
    else:
        unit = request_nonce
    u = unit_uniform(unit, experiment.key, experiment.allocation_version)
    arm = experiment.arms[arm_index_pick(u, experiment.cumulative)]
    return _Pick(
        arm.variant, experiment.id, experiment.key, arm.id, experiment.allocation_version, arm.weight
    )


def _items_from(variant: VariantState | None, catalog_version: str, request: RecRequest) -> tuple:
    if variant is None or not variant.model_version:
        raise LookupError("no trained model for this variant")
    model = model_for(variant.model_version, catalog_version)
    if model is None:
        raise LookupError(f"model {variant.model_version} is not loadable")
    return model.recommend(request)


class SlotServer:
    """Serves the slots of one request in order, so later slots skip items earlier ones showed."""

    def __init__(self, state: ServingState, data: AssignmentInput) -> None:
        self.state = state
        self.data = data
        self.catalog = catalog_current(state.catalog_version)
        self.key = settings.DECISION_SIGNING_KEY.encode()
        self.session_hash = session_hash(data.session_id)
        self.served_at = int(time.time())
        self.request_nonce = decision_key_new()
        unit = data.user_id or data.session_id
        self.in_holdout = unit_uniform(unit, HOLDOUT_SALT, 0) < state.holdout_share
        self.exclude: set[int] = set()
        self.signals = SessionSignals()
        self.product: int | None = None
        if self.catalog is not None:
            self.signals = _signals_build(self.catalog, signals_read(data.session_id), data.cart)
            self.product = self.catalog.index_of(data.product_id) if data.product_id else None
            self.exclude.update(self.signals.cart)
            if self.product is not None:
                self.exclude.add(self.product)

    def _request(self, k: int) -> RecRequest:
        return RecRequest(
            k=k,
            user_id=self.data.user_id,
            product=self.product,
            signals=self.signals,
            exclude=frozenset(self.exclude),
            device=self.data.device,
        )

    def serve(self, slot_key: str) -> dict:
        slot = self.state.slots.get(slot_key)
        if slot is None:
            return {
                "slot": slot_key,
                "error": {"code": "unknown_slot", "detail": "No active slot with this key."},
            }
        k = self.data.k or slot.default_k
        pick = _pick(slot, self.data, self.in_holdout, self.request_nonce)
        fallback = False
        try:
            if self.catalog is None:
                raise LookupError("no catalog loaded")
            indices, scores = _items_from(pick.variant, self.state.catalog_version, self._request(k))
        except Exception as exc:
            log.warning("slot %s variant %s failed (%s); serving fallback", slot_key, pick.variant, exc)
            fallback = True
            pick = _Pick(variant=slot.fallback)
            indices, scores = self._fallback_items(slot, k)
        return self._decision(slot, pick, fallback, indices, scores)

    def _fallback_items(self, slot: SlotState, k: int) -> tuple:
        try:
            if self.catalog is None:
                raise LookupError("no catalog loaded")
            return _items_from(slot.fallback, self.state.catalog_version, self._request(k))
        except Exception:
            log.exception("fallback of slot %s failed too; serving no items", slot.key)
            return np.empty(0, dtype=np.int64), np.empty(0)

    def _decision(self, slot: SlotState, pick: _Pick, fallback: bool, indices, scores) -> dict:
        item_ids = [str(self.catalog.item_ids[i]) for i in indices] if len(indices) else []
        self.exclude.update(int(i) for i in indices)
        payload = DecisionPayload(
            decision_key=decision_key_new(),
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
        return {
            "slot": slot.key,
            "decision_id": token_sign(payload, key=self.key),
            "experiment": pick.experiment_key,
            "variant": pick.variant.key if pick.variant else None,
            "propensity": payload.propensity,
            "fallback": fallback,
            "items": [
                {"item_id": item, "score": round(float(s), 6), "rank": r}
                for r, (item, s) in enumerate(zip(item_ids, scores, strict=False), start=1)
            ],
        }


def assignments_create(*, state: ServingState, data: AssignmentInput) -> dict:
    """Serve every asked slot (or all active slots of the page); one slot's failure never fails the rest."""
    started = time.perf_counter()
    slot_keys = data.slots if data.slots is not None else state.pages.get(data.page, ())
    server = SlotServer(state, data)
    decisions = [server.serve(key) for key in slot_keys]
    return {"decisions": decisions, "served_in_ms": round((time.perf_counter() - started) * 1000, 3)}
