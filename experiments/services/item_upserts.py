"""Upserting items by ``item_id``: the one write path of catalog files and ``PUT /api/v1/items``.

A chunk of parsed rows (``experiments.domain.item_fields``) is compared with the stored items
in one query; new items are inserted, changed ones updated, identical ones left alone (so a
second import of the same file writes nothing). A row sets the fields it carries; a stored
item keeps the others. Every write of ``available`` tells serving after commit
(``items_availability_changed``).

Concurrent writers of one item: the last write wins. A new item inserted by another writer
between our read and our insert is found by ``ON CONFLICT DO NOTHING`` and compared again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, transaction

from experiments.db.sql import server_bound_cursor
from experiments.domain.copy_text import copy_lines_write, copy_text_fields
from experiments.domain.item_fields import ITEM_FIELDS, ItemInvalid, item_required_check
from experiments.models import Item

from .item_availability import items_availability_changed

WRITE_COLUMNS = (*ITEM_FIELDS, "updated_at")
LOAD_TABLE = "item_upsert_load"  # a temporary table, one per database session


@dataclass(frozen=True, slots=True)
class RowRejection:
    """A rejected row: ``position`` is a file's line number or a batch's index."""

    position: int
    item_id: str | None
    field: str
    code: str


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RowRejection] = field(default_factory=list)
    availability_changed: list[str] = field(default_factory=list)

    def add(self, other: UpsertResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected += other.rejected
        self.availability_changed += other.availability_changed


def _defaults(now: datetime) -> dict[str, Any]:
    return {
        "description": "",
        "category": "",
        "brand": "",
        "currency": settings.SHOP_CURRENCY,
        "available": True,
        "attributes": {},
        "image_url": "",
        "created_at": now,
    }


def items_upsert(
    rows: list[tuple[int, dict[str, Any]]], *, dry_run: bool = False, now: datetime | None = None
) -> UpsertResult:
    """Upsert parsed rows ``(position, fields)`` whose item ids are distinct.

    Writes in one transaction (none with ``dry_run``, which counts what would change).
    A new item without every required field is rejected with ``missing_field``."""
    now = now or datetime.now(UTC)
    result = UpsertResult()
    pending = rows
    # A second pass only for ids another writer inserted between our read and our insert.
    for _attempt in range(3):
        if not pending:
            break
        pending = _upsert_once(pending, result, dry_run=dry_run, now=now)
    for position, fields in pending:
        result.rejected.append(RowRejection(position, fields["item_id"], "item_id", "conflict"))
    return result


def _upsert_once(
    rows: list[tuple[int, dict[str, Any]]], result: UpsertResult, *, dry_run: bool, now: datetime
) -> list[tuple[int, dict[str, Any]]]:
    with transaction.atomic():
        stored = _stored(fields["item_id"] for _, fields in rows)
        new: list[tuple[int, dict[str, Any]]] = []
        changed: list[dict[str, Any]] = []
        flipped: list[str] = []
        defaults = _defaults(now)
        for position, fields in rows:
            before = stored.get(fields["item_id"])
            if before is None:
                try:
                    item_required_check(fields)
                except ItemInvalid as exc:
                    result.rejected.append(RowRejection(position, fields["item_id"], exc.field, exc.code))
                    continue
                new.append((position, defaults | fields))
                continue
            after = before | fields
            if after == before:
                result.unchanged += 1
                continue
            changed.append(after)
            if after["available"] != before["available"]:
                flipped.append(after["item_id"])
        if dry_run:
            result.created += len(new)
            result.updated += len(changed)
            result.availability_changed += flipped + [f["item_id"] for _, f in new if not f["available"]]
            return []
        inserted = _insert([f for _, f in new], now)
        _update(changed, now)
        lost = {f["item_id"] for _, f in new} - inserted
        flipped += [f["item_id"] for _, f in new if f["item_id"] in inserted and not f["available"]]
        if flipped:
            transaction.on_commit(lambda: items_availability_changed(flipped))
    result.created += len(new) - len(lost)
    result.updated += len(changed)
    result.availability_changed += flipped
    return [(position, fields) for position, fields in rows if fields["item_id"] in lost]


def _stored(item_ids) -> dict[str, dict[str, Any]]:
    """The stored fields of those items that exist, by item id."""
    ids = list(item_ids)
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Item._meta.db_table)
        # attributes as text, parsed by orjson: several times faster than the driver's json loader.
        columns = ", ".join(
            f"{connection.ops.quote_name(c)}::text" if c == "attributes" else connection.ops.quote_name(c)
            for c in ITEM_FIELDS
        )
        with server_bound_cursor() as cursor:
            # Binary results: psycopg's C loaders, where text timestamps are parsed in Python.
            cursor.execute(
                f"SELECT {columns} FROM {table} WHERE item_id = ANY(%s::text[])", [ids], binary=True
            )
            rows = cursor.fetchall()
    else:
        rows = list(Item.objects.filter(item_id__in=ids).values_list(*ITEM_FIELDS))
    stored = {}
    attributes = ITEM_FIELDS.index("attributes")
    for row in rows:
        fields = dict(zip(ITEM_FIELDS, row, strict=True))
        if not isinstance(row[attributes], dict):  # jsonb as text or bytes, by the driver's loader
            fields["attributes"] = orjson.loads(row[attributes])
        stored[row[0]] = fields
    return stored


def _insert(rows: list[dict[str, Any]], now: datetime) -> set[str]:
    """Insert new items; return the ids inserted (another writer may have been first)."""
    if not rows:
        return set()
    if connection.vendor != "postgresql":
        Item.objects.bulk_create([Item(**r) for r in rows], batch_size=2_000)
        return {r["item_id"] for r in rows}
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in WRITE_COLUMNS)
    with server_bound_cursor() as cursor:
        _load_table_fill(cursor, rows, now)
        cursor.execute(
            f"INSERT INTO {quote(Item._meta.db_table)} ({names}) SELECT {names} FROM {LOAD_TABLE} "
            f"ON CONFLICT (item_id) DO NOTHING RETURNING item_id"
        )
        return {r[0] for r in cursor.fetchall()}


def _update(rows: list[dict[str, Any]], now: datetime) -> None:
    """Write every field of changed items (their merged rows)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        for row in rows:
            Item.objects.filter(item_id=row["item_id"]).update(**row, updated_at=now)
        return
    quote = connection.ops.quote_name
    sets = ", ".join(f"{quote(c)} = u.{quote(c)}" for c in WRITE_COLUMNS if c != "item_id")
    with server_bound_cursor() as cursor:
        _load_table_fill(cursor, rows, now)
        cursor.execute(
            f"UPDATE {quote(Item._meta.db_table)} AS t SET {sets} FROM {LOAD_TABLE} AS u "
            f"WHERE t.item_id = u.item_id"
        )


def _load_table_fill(cursor, rows: list[dict[str, Any]], now: datetime) -> None:
    """PostgreSQL: ``rows`` into this session's scratch table by COPY, in COPY's text format
    built here (``copy_text``)."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in WRITE_COLUMNS)
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {LOAD_TABLE} AS "
        f"SELECT {names} FROM {quote(Item._meta.db_table)} WITH NO DATA"
    )
    cursor.execute(f"TRUNCATE {LOAD_TABLE}")
    stamp = now.isoformat()
    with cursor.copy(f"COPY {LOAD_TABLE} ({names}) FROM STDIN") as copy:
        copy_lines_write(copy, [_copy_line(row, stamp) for row in rows])


_COPY_ORDER = (*ITEM_FIELDS, "updated_at")
assert _COPY_ORDER == WRITE_COLUMNS, "_copy_line writes the columns in WRITE_COLUMNS order"


def _copy_line(row: dict[str, Any], stamp: str) -> str:
    """One row in COPY's text format, columns in ``WRITE_COLUMNS`` order."""
    fields = (
        row["item_id"],
        row["title"],
        row["description"],
        row["category"],
        row["brand"],
        str(row["price"]),
        row["currency"],
        "t" if row["available"] else "f",
        orjson.dumps(row["attributes"]).decode(),
        row["image_url"],
        row["created_at"].isoformat(),
        stamp,
    )
    return copy_text_fields(fields) + "\n"


def item_availability_saved(*, item_id: str) -> None:
    """An item's ``available`` was written by hand (the admin's form): tell serving after commit."""
    transaction.on_commit(lambda: items_availability_changed([item_id]))


def items_availability_set(*, item_ids: list[str], available: bool) -> int:
    """Set ``available`` on these items (the admin's list actions); return how many changed."""
    now = datetime.now(UTC)
    with transaction.atomic():
        changed = list(
            Item.objects.filter(item_id__in=item_ids)
            .exclude(available=available)
            .select_for_update()
            .values_list("item_id", flat=True)
        )
        Item.objects.filter(item_id__in=changed).update(available=available, updated_at=now)
        if changed:
            transaction.on_commit(lambda: items_availability_changed(changed))
    return len(changed)
