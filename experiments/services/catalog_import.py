"""``import_catalog``: a shop's catalog file into the Item table, in chunks.

Rows are parsed and checked by the shared validator, deduplicated (an id seen earlier in the
file is ``duplicate_id``), and upserted a chunk at a time (``items_upsert``), so memory stays
flat however large the file. Each chunk commits on its own: an import stopped half-way is
finished by running it again, which rewrites nothing already there.

``full``: the file is the whole catalog. Items missing from it are marked unavailable (never
deleted), and a row that does not say ``available`` lists its item again. Ids of rejected rows
count as present, so a typo in a price never delists an item.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from django.db import transaction

from experiments.db.chunk_writer import ChunkWriter
from experiments.domain.catalog_files import CatalogFileError, catalog_file_identify, catalog_rows
from experiments.domain.item_fields import ItemInvalid, item_fields_parse
from experiments.models import Item

from .item_availability import items_availability_changed
from .item_upserts import RowRejection, UpsertResult, items_upsert

__all__ = ["CatalogFileError", "ImportSummary", "catalog_import"]

CHUNK_ROWS = 5_000
KEPT_REJECTIONS = 10_000  # rejections listed one by one; the rest are only counted by code


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    marked_unavailable: int = 0
    dry_run: bool = False
    rejections: list[RowRejection] = field(default_factory=list)  # the first KEPT_REJECTIONS
    rejected_by_code: Counter = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.marked_unavailable)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "marked_unavailable": self.marked_unavailable,
            "dry_run": self.dry_run,
        }

    def _reject(self, rejection: RowRejection) -> None:
        self.rejected += 1
        self.rejected_by_code[rejection.code] += 1
        if len(self.rejections) < KEPT_REJECTIONS:
            self.rejections.append(rejection)

    def _add(self, result: UpsertResult) -> None:
        self.created += result.created
        self.updated += result.updated
        self.unchanged += result.unchanged
        for rejection in result.rejected:
            self._reject(rejection)


def catalog_import(
    *,
    path: str | Path,
    full: bool = False,
    dry_run: bool = False,
    read_bytes: Callable[[int], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    now: datetime | None = None,
) -> ImportSummary:
    """Upsert every good row of the file; report each bad one. Raises ``CatalogFileError`` for a
    file it cannot read at all (nothing is written then)."""
    file = catalog_file_identify(path)
    text = file.format == "csv"
    now = now or datetime.now(UTC)
    summary = ImportSummary(dry_run=dry_run)
    seen: set[str] = set()
    chunk: list[tuple[int, dict[str, Any]]] = []
    store = partial(items_upsert, dry_run=dry_run, now=now)
    with ChunkWriter(store, summary._add, name="catalog-import") as writer:
        for line, raw in catalog_rows(file, read_bytes=read_bytes):
            fields = _row_parse(line, raw, text, seen, summary)
            if fields is None:
                continue
            if full and "available" not in fields:
                fields["available"] = True
            chunk.append((line, fields))
            if len(chunk) >= chunk_rows:
                writer.write(chunk)
                chunk = []
        if chunk:
            writer.write(chunk)
    if full:
        summary.marked_unavailable = _missing_mark_unavailable(seen, dry_run=dry_run, chunk_rows=chunk_rows)
    return summary


def _row_parse(
    line: int, raw: dict[str, Any] | ItemInvalid, text: bool, seen: set[str], summary: ImportSummary
) -> dict[str, Any] | None:
    item_id = raw.get("item_id") if isinstance(raw, dict) else None
    if isinstance(item_id, int) and not isinstance(item_id, bool):
        item_id = str(item_id)
    item_id = item_id if isinstance(item_id, str) and item_id else None
    if item_id is not None and item_id in seen:
        summary._reject(RowRejection(line, item_id, "item_id", "duplicate_id"))
        return None
    if item_id is not None:
        seen.add(item_id)
    if isinstance(raw, ItemInvalid):
        summary._reject(RowRejection(line, None, raw.field, raw.code))
        return None
    try:
        return item_fields_parse(raw, text=text)
    except ItemInvalid as exc:
        summary._reject(RowRejection(line, item_id, exc.field, exc.code))
        return None


def _missing_mark_unavailable(seen: set[str], *, dry_run: bool, chunk_rows: int) -> int:
    """Mark available items whose id the file did not hold unavailable; return how many."""
    listed = Item.objects.filter(available=True).values_list("item_id", flat=True)
    missing = [item_id for item_id in listed.iterator(chunk_size=20_000) if item_id not in seen]
    if dry_run:
        return len(missing)
    marked = 0
    for start in range(0, len(missing), chunk_rows):
        ids = missing[start : start + chunk_rows]
        with transaction.atomic():
            marked += Item.objects.filter(item_id__in=ids, available=True).update(
                available=False, updated_at=datetime.now(UTC)
            )
            transaction.on_commit(lambda ids=ids: items_availability_changed(ids))
    return marked
