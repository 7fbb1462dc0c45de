"""One validator for an item's fields, shared by catalog files and ``PUT /api/v1/items``.

Plain Python rather than a DRF serializer: a catalog file may hold a million rows and an API
batch a thousand items, so this must cost microseconds per row. Every problem is reported as
``(field, code)``; the first problem of a row rejects that row alone.

A row carries the fields it sets. CSV cells are text (``text=True``): ``available`` is
true/false, ``attributes`` a JSON object written as a string, and an empty cell of a typed
field (price, currency, available, attributes, created_at) means "not given". JSON rows
carry JSON types; ``null`` means "not given". Timestamps without a zone are read as UTC.
"""

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from experiments.models.catalog import CATEGORY_SEPARATOR

ITEM_FIELDS = (
    "item_id",
    "title",
    "description",
    "category",
    "brand",
    "price",
    "currency",
    "available",
    "attributes",
    "image_url",
    "created_at",
)
REQUIRED_FIELDS = ("item_id", "title", "price")
# Events quote items by id with at most this many characters, so a longer id could never be clicked.
MAX_ITEM_ID_LEN = 64
MAX_PRICE = Decimal("9999999999.99")
CENT = Decimal("0.01")
# Every per-row code this validator gives (duplicate_id comes from the batch or file around it).
ROW_CODES = (
    "missing_field",
    "unknown_field",
    "invalid_type",
    "invalid_value",
    "not_a_number",
    "bad_currency",
    "bad_timestamp",
    "too_long",
    "invalid_character",
)
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


class ItemInvalid(ValueError):
    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


def _text(field: str, max_len: int) -> Callable[[Any, bool], str]:
    def parse(value: Any, text: bool) -> str:
        if not isinstance(value, str):
            raise ItemInvalid(field, "invalid_type")
        if len(value) > max_len:
            raise ItemInvalid(field, "too_long")
        if "\x00" in value:
            # PostgreSQL text cannot hold NUL: storing it would fail the whole chunk, not this row.
            raise ItemInvalid(field, "invalid_character")
        return value

    return parse


_title = _text("title", 500)
_description = _text("description", 100_000)
_brand = _text("brand", 200)
_category_text = _text("category", 500)
_image_url_text = _text("image_url", 1000)


def _item_id(value: Any, text: bool) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # JSON shops with numeric ids
    if not isinstance(value, str):
        raise ItemInvalid("item_id", "invalid_type")
    if not value:
        raise ItemInvalid("item_id", "missing_field")
    if len(value) > MAX_ITEM_ID_LEN:
        raise ItemInvalid("item_id", "too_long")
    if "\x00" in value or value != value.strip():
        raise ItemInvalid("item_id", "invalid_character")
    return value


@functools.lru_cache(maxsize=65_536)  # a catalog has far fewer paths than rows
def category_path_normalize(value: str) -> str:
    """``'Women>Shoes > Sneakers '`` -> ``'Women > Shoes > Sneakers'`` (blank levels dropped)."""
    parts = [part.strip() for part in value.split(">")]
    if "" in parts:
        parts = [part for part in parts if part]
    return CATEGORY_SEPARATOR.join(parts)


def _category(value: Any, text: bool) -> str:
    return category_path_normalize(_category_text(value, text))


def _price(value: Any, text: bool) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ItemInvalid("price", "invalid_type")
    try:
        price = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        raise ItemInvalid("price", "not_a_number") from None
    if not price.is_finite():
        raise ItemInvalid("price", "not_a_number")
    if price < 0 or price > MAX_PRICE:
        raise ItemInvalid("price", "invalid_value")
    # Stored in cents; a feed's "19.990" is 19.99.
    return price.quantize(CENT)


def _currency(value: Any, text: bool) -> str:
    if not isinstance(value, str):
        raise ItemInvalid("currency", "invalid_type")
    code = value.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ItemInvalid("currency", "bad_currency")
    return code


def _available(value: Any, text: bool) -> bool:
    if isinstance(value, bool):
        return value
    if text and isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise ItemInvalid("available", "invalid_value")
    raise ItemInvalid("available", "invalid_type")


def _attributes(value: Any, text: bool) -> dict:
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise ItemInvalid("attributes", "invalid_value") from None
    if not isinstance(value, dict):
        raise ItemInvalid("attributes", "invalid_type")
    if "\\u0000" in orjson.dumps(value).decode():
        # PostgreSQL's jsonb cannot hold NUL: storing it would fail the whole chunk, not this row.
        raise ItemInvalid("attributes", "invalid_character")
    return value


def _image_url(value: Any, text: bool) -> str:
    url = _image_url_text(value, text)
    if url and not (url.startswith("https://") or url.startswith("http://")) or " " in url:
        raise ItemInvalid("image_url", "invalid_value")
    return url


def _created_at(value: Any, text: bool) -> datetime:
    if not isinstance(value, str):
        raise ItemInvalid("created_at", "invalid_type")
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ItemInvalid("created_at", "bad_timestamp") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


_PARSERS: dict[str, Callable[[Any, bool], Any]] = {
    "item_id": _item_id,
    "title": _title,
    "description": _description,
    "category": _category,
    "brand": _brand,
    "price": _price,
    "currency": _currency,
    "available": _available,
    "attributes": _attributes,
    "image_url": _image_url,
    "created_at": _created_at,
}
# Fields whose empty CSV cell means "not given" (an empty text field is a value: no brand).
_TYPED = frozenset({"price", "currency", "available", "attributes", "created_at"})


def item_fields_parse(raw: Any, *, text: bool = False) -> dict[str, Any]:
    """The normalised values of the fields ``raw`` carries; raises ``ItemInvalid`` on the first
    problem. ``item_id`` is always required; the other required fields are checked by
    ``item_required_check`` (an update of a stored item may carry only what changed)."""
    if not isinstance(raw, dict):
        raise ItemInvalid("item", "invalid_type")
    fields: dict[str, Any] = {}
    for name, value in raw.items():
        parse = _PARSERS.get(name)
        if parse is None:
            raise ItemInvalid(str(name), "unknown_field")
        if value is None or value == "":
            if name in REQUIRED_FIELDS:
                raise ItemInvalid(name, "missing_field")
            if value is None or (text and name in _TYPED):
                continue
        fields[name] = parse(value, text)
    if "item_id" not in fields:
        raise ItemInvalid("item_id", "missing_field")
    return fields


def item_required_check(fields: dict[str, Any]) -> None:
    """A new item needs every required field (``missing_field`` names the first absent one)."""
    for name in REQUIRED_FIELDS:
        if name not in fields:
            raise ItemInvalid(name, "missing_field")
