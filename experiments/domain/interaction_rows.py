"""One row of a shop's interaction history (``import_interactions``), checked field by field.

Columns: ``user_id, session_id, item_id, type, ts, value, event_id`` (``value`` and ``event_id``
optional). A row without ``event_id`` is keyed by a hash of its fields, so a second import of the
same file adds nothing. Every problem is a ``RowProblem`` with a stable ``code``; the importer
reports it with the row's line and keeps the good rows.
"""

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime

INTERACTION_TYPES = frozenset({"view", "click", "add_to_cart", "purchase"})
REQUIRED_COLUMNS = ("user_id", "session_id", "item_id", "type", "ts")
OPTIONAL_COLUMNS = ("value", "event_id")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
ID_MAX_CHARS = 128
# A row keyed by its content gets this prefix, so it can never collide with a shop's own event id
# unless the shop chose ids in this very form.
ROW_KEY_PREFIX = "row:"


@dataclass(frozen=True, slots=True)
class RowProblem:
    field: str
    code: str
    message: str


class RowRejected(ValueError):
    def __init__(self, problem: RowProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class InteractionRow:
    """A valid row; ``key`` is the dedupe key (the shop's event id, or the row's content hash)."""

    key: str
    user_id: str
    session_id: str
    item_id: str
    type: str
    ts: datetime
    value: float | None


def _reject(field: str, code: str, message: str) -> RowRejected:
    return RowRejected(RowProblem(field, code, message))


def _text(raw: dict, field: str) -> str:
    value = raw.get(field)
    if type(value) is str and len(value) <= ID_MAX_CHARS:  # the common case, first
        return value.strip()
    if value is None:
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise _reject(field, "wrong_type", f"{field} must be a string")
    text = str(value).strip()
    if len(text) > ID_MAX_CHARS:
        raise _reject(field, "too_long", f"{field} is longer than {ID_MAX_CHARS} characters")
    return text


def _timestamp(raw: dict, *, latest: datetime) -> datetime:
    value = raw.get("ts")
    if value is None or value == "":
        raise _reject("ts", "required", "ts is required (ISO 8601, e.g. 2024-05-01T12:00:00Z)")
    if not isinstance(value, str):
        raise _reject("ts", "wrong_type", "ts must be an ISO 8601 string")
    try:
        ts = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _reject("ts", "bad_timestamp", f"ts {value[:40]!r} is not ISO 8601") from None
    # A timestamp without an offset is read as UTC (exports from shop databases often omit it).
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    if ts > latest:
        raise _reject("ts", "future_timestamp", f"ts {value[:40]} lies in the future")
    return ts


def _value(raw: dict, kind: str) -> float | None:
    value = raw.get("value")
    if value is None or value == "":
        if kind == "purchase":
            raise _reject("value", "missing_value", "a purchase needs its order line's value")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _reject("value", "wrong_type", "value must be a number")
    try:
        number = float(value)
    except ValueError:
        raise _reject("value", "bad_value", f"value {str(value)[:40]!r} is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise _reject("value", "bad_value", "value must be a finite number >= 0")
    return number


def _key(event_id: str, fields: tuple) -> str:
    if event_id:
        return event_id
    digest = hashlib.blake2b("\x1f".join(map(str, fields)).encode(), digest_size=16).hexdigest()
    return ROW_KEY_PREFIX + digest


def unknown_columns(columns) -> list[str]:
    return sorted(set(columns) - set(COLUMNS))


def interaction_row_parse(raw: dict, *, latest: datetime, columns_checked: bool = False) -> InteractionRow:
    """Check one row (a dict of column -> value as read); raises ``RowRejected`` on the first problem.

    ``latest``: the newest acceptable timestamp (now plus the allowed clock skew);
    ``columns_checked``: the caller has checked the columns already (a CSV header).
    """
    extra = () if columns_checked else unknown_columns(raw)
    if extra:
        raise _reject(
            extra[0], "unknown_column", f"unknown column {extra[0]!r}; columns are {', '.join(COLUMNS)}"
        )
    user_id, session_id = _text(raw, "user_id"), _text(raw, "session_id")
    if not user_id and not session_id:
        raise _reject("user_id", "required", "a row needs a user_id or a session_id (or both)")
    item_id = _text(raw, "item_id")
    if not item_id:
        raise _reject("item_id", "required", "item_id is required")
    kind = _text(raw, "type")
    if kind not in INTERACTION_TYPES:
        raise _reject(
            "type", "bad_type", f"type {kind[:40]!r} is not one of {', '.join(sorted(INTERACTION_TYPES))}"
        )
    ts = _timestamp(raw, latest=latest)
    value = _value(raw, kind)
    event_id = _text(raw, "event_id")
    key = _key(event_id, (user_id, session_id, item_id, kind, ts.isoformat(), value))
    return InteractionRow(key, user_id, session_id, item_id, kind, ts, value)
