"""Per-event validation with stable error codes.

Plain Python rather than a DRF serializer: a batch holds up to 1000 events and this runs
for each of them, so it must cost microseconds. Every problem is reported as
``(field, code)``; the first problem of an event rejects that event alone.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from experiments.serving.decision_tokens import DecisionPayload, TokenError, session_hash, token_verify

EVENT_TYPES = frozenset({"impression", "view", "click", "add_to_cart", "remove_from_cart", "purchase"})
ITEM_TYPES = frozenset({"view", "click", "add_to_cart", "remove_from_cart"})
MAX_ID_LEN = 128
MAX_ITEM_ID_LEN = 64
MAX_ITEMS = 200
MAX_VALUE = 1e9
MAX_DWELL_MS = 86_400_000
# The fields of the REST contract: any other is rejected (unknown_field), so a typo such as
# "revenue" for "value" never passes as an event without its value.
EVENT_FIELDS = frozenset(
    "event_id type ts session_id user_id decision_id item_id value dwell_ms items".split()
)


class EventInvalid(ValueError):
    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


@dataclass(frozen=True, slots=True)
class ValidEvent:
    event_id: str
    type: str
    ts: datetime
    session_id: str
    user_id: str
    item_id: str
    items: list[str] | None
    value: float | None
    dwell_ms: int | None
    decision: DecisionPayload | None

    def as_signal(self) -> dict:
        return {
            "type": self.type,
            "session_id": self.session_id,
            "item_id": self.item_id,
            "dwell_ms": self.dwell_ms,
            "ts": self.ts,
        }


def _string(raw: dict, field: str, *, required: bool, max_len: int) -> str:
    value = raw.get(field)
    if value is None or value == "":
        if required:
            raise EventInvalid(field, "required")
        return ""
    if not isinstance(value, str):
        raise EventInvalid(field, "not_a_string")
    if len(value) > max_len:
        raise EventInvalid(field, "too_long")
    if "\x00" in value:
        # PostgreSQL text cannot hold NUL: storing it would fail the whole batch, not this event.
        raise EventInvalid(field, "invalid_character")
    return value


def _timestamp(raw: dict, now: datetime, max_future_s: float, max_age_s: float) -> datetime:
    value = raw.get("ts")
    if value is None:
        raise EventInvalid("ts", "required")
    if not isinstance(value, str):
        raise EventInvalid("ts", "not_a_string")
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise EventInvalid("ts", "invalid_timestamp") from None
    if ts.tzinfo is None:
        raise EventInvalid("ts", "timezone_required")
    delta = (ts - now).total_seconds()
    if delta > max_future_s:
        raise EventInvalid("ts", "in_future")
    if -delta > max_age_s:
        raise EventInvalid("ts", "too_old")
    return ts.astimezone(UTC)


def _number(raw: dict, field: str, *, integer: bool, high: float) -> float | int | None:
    value = raw.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EventInvalid(field, "not_a_number")
    if value != value or value < 0 or value > high:  # NaN is never equal to itself
        raise EventInvalid(field, "out_of_range")
    return int(value) if integer else float(value)


def _items(raw: dict) -> list[str] | None:
    value = raw.get("items")
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise EventInvalid("items", "not_a_list" if not isinstance(value, list) else "too_many")
    if not all(isinstance(i, str) and 0 < len(i) <= MAX_ITEM_ID_LEN and "\x00" not in i for i in value):
        raise EventInvalid("items", "invalid_item_id")
    return value


def _decision(raw: dict, session_id: str, signing_key: bytes) -> DecisionPayload | None:
    token = raw.get("decision_id")
    if token is None or token == "":
        return None
    if not isinstance(token, str):
        raise EventInvalid("decision_id", "not_a_string")
    try:
        payload = token_verify(token, key=signing_key)
    except TokenError:
        raise EventInvalid("decision_id", "invalid_signature") from None
    if payload.session_hash != session_hash(session_id):
        raise EventInvalid("decision_id", "session_mismatch")
    return payload


def event_validate(
    raw: object, *, now: datetime, signing_key: bytes, max_future_s: float, max_age_s: float
) -> ValidEvent:
    """Return the event cleaned, or raise EventInvalid with the first field at fault."""
    if not isinstance(raw, dict):
        raise EventInvalid("event", "not_an_object")
    if not EVENT_FIELDS.issuperset(raw):
        # The first unknown field by name (a stable answer), cut short: the client sent the name.
        raise EventInvalid(min(k for k in raw if k not in EVENT_FIELDS)[:MAX_ID_LEN], "unknown_field")
    event_id = _string(raw, "event_id", required=True, max_len=MAX_ID_LEN)
    kind = _string(raw, "type", required=True, max_len=32)
    if kind not in EVENT_TYPES:
        raise EventInvalid("type", "invalid_choice")
    ts = _timestamp(raw, now, max_future_s, max_age_s)
    session_id = _string(raw, "session_id", required=True, max_len=MAX_ID_LEN)
    user_id = _string(raw, "user_id", required=False, max_len=MAX_ID_LEN)
    item_id = _string(raw, "item_id", required=kind in ITEM_TYPES, max_len=MAX_ITEM_ID_LEN)
    items = _items(raw)
    value = _number(raw, "value", integer=False, high=MAX_VALUE)
    dwell_ms = _number(raw, "dwell_ms", integer=True, high=MAX_DWELL_MS)
    decision = _decision(raw, session_id, signing_key)
    if kind == "impression" and decision is None:
        raise EventInvalid("decision_id", "required")
    if kind == "purchase" and not item_id and not items:
        raise EventInvalid("items", "required")
    if kind == "purchase" and value is None:
        raise EventInvalid("value", "required")  # revenue rewards and reports need it
    if decision is not None and kind in ITEM_TYPES and item_id not in decision.items:
        raise EventInvalid("item_id", "not_in_decision")
    return ValidEvent(event_id, kind, ts, session_id, user_id, item_id, items, value, dwell_ms, decision)
