"""One row of a shop's interaction history (``import_interactions``), checked field by field.

Columns: ``user_id, session_id, item_id, type, ts, value, event_id`` (``value`` and ``event_id``
optional). A row without ``event_id`` is keyed by a hash of its fields, so a second import of the
same file adds nothing. Every problem is a ``RowProblem`` with a stable ``code``; the importer
reports it with the row's line and keeps the good rows.

Rows travel as plain tuples, in ``COLUMNS`` order in and ``ROW_FIELDS`` order out: a history runs
to millions of rows, and the common case (every field a short string) is checked inline.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import blake2b

INTERACTION_TYPES = frozenset({"view", "click", "add_to_cart", "purchase"})
REQUIRED_COLUMNS = ("user_id", "session_id", "item_id", "type", "ts")
OPTIONAL_COLUMNS = ("value", "event_id")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# A checked row: the dedupe key (the shop's event id, or the row's content hash), the fields, and
# ``ts_text``, the timestamp in UTC as ISO 8601 (``ts.isoformat()``), which the key is made of.
ROW_FIELDS = ("key", "user_id", "session_id", "item_id", "type", "ts", "ts_text", "value")
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


def _reject(field: str, code: str, message: str) -> RowRejected:
    return RowRejected(RowProblem(field, code, message))


def _text(value, field: str) -> str:
    if type(value) is str and len(value) <= ID_MAX_CHARS and "\x00" not in value:  # the common case
        return value.strip()
    if value is None:
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise _reject(field, "wrong_type", f"{field} must be a string")
    text = str(value).strip()
    if len(text) > ID_MAX_CHARS:
        raise _reject(field, "too_long", f"{field} is longer than {ID_MAX_CHARS} characters")
    if "\x00" in text:
        # PostgreSQL text cannot hold NUL: storing it would fail the whole chunk, not this row.
        raise _reject(field, "invalid_character", f"{field} holds a NUL character")
    return text


def _timestamp(value, latest: datetime) -> datetime:
    if value is None or value == "":
        raise _reject("ts", "required", "ts is required (ISO 8601, e.g. 2024-05-01T12:00:00Z)")
    if type(value) is not str:
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


def _value(value, kind: str) -> float | None:
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


def unknown_columns(columns) -> list[str]:
    return sorted(set(columns) - set(COLUMNS))


def interaction_row_check(values: tuple, *, latest: datetime) -> tuple:
    """Check one row, its values in ``COLUMNS`` order (``None`` for a column the row lacks);
    return it in ``ROW_FIELDS`` order, or raise ``RowRejected`` on the first problem.

    ``latest``: the newest acceptable timestamp (now plus the allowed clock skew).
    """
    user_id, session_id, item_id, kind, ts, value, event_id = values
    user_id, session_id = _text(user_id, "user_id"), _text(session_id, "session_id")
    if not user_id and not session_id:
        raise _reject("user_id", "required", "a row needs a user_id or a session_id (or both)")
    item_id = _text(item_id, "item_id")
    if not item_id:
        raise _reject("item_id", "required", "item_id is required")
    kind = _text(kind, "type")
    if kind not in INTERACTION_TYPES:
        raise _reject(
            "type", "bad_type", f"type {kind[:40]!r} is not one of {', '.join(sorted(INTERACTION_TYPES))}"
        )
    ts = _timestamp(ts, latest)
    value = _value(value, kind)
    event_id = _text(event_id, "event_id")
    ts_text = ts.isoformat()
    if not event_id:
        # The key of rows stored before stays the key: these exact bytes, this hash.
        content = f"{user_id}\x1f{session_id}\x1f{item_id}\x1f{kind}\x1f{ts_text}\x1f{value}"
        event_id = ROW_KEY_PREFIX + blake2b(content.encode(), digest_size=16).hexdigest()
    return (event_id, user_id, session_id, item_id, kind, ts, ts_text, value)


def interaction_row_parse(raw: dict, *, latest: datetime) -> tuple:
    """Check one row given as a dict of column -> value (a JSON object); see ``interaction_row_check``."""
    extra = unknown_columns(raw)
    if extra:
        raise _reject(
            extra[0], "unknown_column", f"unknown column {extra[0]!r}; columns are {', '.join(COLUMNS)}"
        )
    return interaction_row_check(tuple(map(raw.get, COLUMNS)), latest=latest)
