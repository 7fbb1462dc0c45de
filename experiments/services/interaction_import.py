"""``import_interactions``: a shop's past views, clicks, add-to-carts and purchases, to train on.

The file is CSV (with a header) or JSON Lines, by extension, gzip too (``.csv.gz``, ``.jsonl.gz``).
It is read as a stream, checked row by row (``domain.interaction_rows``) and stored in chunks, each
chunk committed on its own: an interrupted import keeps what it stored, and running it again adds
only the rest. Duplicates are decided by the ``Interaction.event_id`` unique key (the shop's event
id or the row's hash) with ``ON CONFLICT DO NOTHING``. On PostgreSQL a chunk goes through ``COPY``
into a temporary staging table and one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``.

Rows go to the ``Interaction`` table, never to the event ledger: they train models and never reach
an experiment's posteriors.
"""

import csv
import gzip
import io
import json
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from experiments.domain.interaction_rows import (
    REQUIRED_COLUMNS,
    ROW_KEY_PREFIX,
    InteractionRow,
    RowProblem,
    RowRejected,
    interaction_row_parse,
    unknown_columns,
)
from experiments.models import Interaction, Item

from .sql import insert_new_returning, server_bound_cursor

CHUNK_ROWS = 50_000
PROBLEMS_KEPT = 1_000  # reported one by one; beyond that only counted by code
COLUMNS = ("event_id", "user_id", "session_id", "item_id", "type", "ts", "value")
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class InteractionImportError(ValueError):
    """The file cannot be imported at all (nothing was stored); ``code`` is stable."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class LineProblem:
    line: int
    field: str
    code: str
    message: str


@dataclass
class ImportResult:
    rows: int = 0
    added: int = 0
    already_present: int = 0
    rejected: int = 0
    rejected_by_code: Counter = field(default_factory=Counter)
    problems: list[LineProblem] = field(default_factory=list)

    def reject(self, line: int, problem: RowProblem) -> None:
        self.rejected += 1
        self.rejected_by_code[problem.code] += 1
        if len(self.problems) < PROBLEMS_KEPT:
            self.problems.append(LineProblem(line, problem.field, problem.code, problem.message))

    @property
    def summary(self) -> str:
        text = f"{self.rows} rows: {self.added} added, {self.already_present} already present, "
        text += f"{self.rejected} rejected"
        if self.rejected_by_code:
            text += (
                " (" + ", ".join(f"{code}: {n}" for code, n in sorted(self.rejected_by_code.items())) + ")"
            )
        if self.rows and not self.added and not self.rejected:
            text += "; nothing new: every row was imported before"
        return text


def file_format(path: Path) -> str:
    """``csv`` or ``jsonl`` from the extension (a ``.gz`` after it is allowed)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = FORMATS.get(suffixes[-1] if suffixes else "")
    if fmt is None:
        raise InteractionImportError(
            f"{path.name}: not a CSV or JSON Lines file; name it .csv, .jsonl or .ndjson (optionally .gz)",
            code="unsupported_format",
        )
    return fmt


def _text_stream(path: Path) -> io.TextIOBase:
    raw = gzip.open(path, "rb") if path.suffix.lower() == ".gz" else open(path, "rb")  # noqa: SIM115
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _csv_rows(stream) -> Iterator[tuple[int, dict | RowProblem]]:
    reader = csv.reader(stream)
    header = next(reader, None)
    if header is None:
        raise InteractionImportError("the file is empty", code="empty_file")
    header = [name.strip() for name in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    extra = unknown_columns(header)
    if extra:
        raise InteractionImportError(
            f"unknown column {extra[0]!r} in the header; columns are {', '.join(COLUMNS)}",
            code="unknown_column",
        )
    if missing:
        raise InteractionImportError(
            f"the header lacks {', '.join(missing)} (is this a CSV file with a header?)",
            code="missing_column",
        )
    width = len(header)
    for row in reader:
        if not row:
            continue
        if len(row) != width:
            yield (
                reader.line_num,
                RowProblem("row", "wrong_field_count", f"{len(row)} fields, header has {width}"),
            )
            continue
        yield reader.line_num, dict(zip(header, row, strict=True))


def _jsonl_rows(stream) -> Iterator[tuple[int, dict | RowProblem]]:
    seen_object = False
    for line, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        try:
            raw = json.loads(text)
        except ValueError:
            raw = None
        if not isinstance(raw, dict):
            if not seen_object:
                raise InteractionImportError(
                    f"line {line} is not a JSON object: not a JSON Lines file", code="not_jsonl"
                )
            yield line, RowProblem("row", "bad_json", "the line is not a JSON object")
            continue
        seen_object = True
        yield line, raw


def _rows(path: Path, fmt: str) -> Iterator[tuple[int, dict | RowProblem]]:
    """(line, raw row or a problem with the whole line); file-level errors as ``InteractionImportError``."""
    try:
        with _text_stream(path) as stream:
            yield from (_csv_rows if fmt == "csv" else _jsonl_rows)(stream)
    except UnicodeDecodeError as exc:
        raise InteractionImportError(f"not UTF-8 text ({exc.reason})", code="not_text") from exc
    except (gzip.BadGzipFile, zlib.error, EOFError) as exc:
        raise InteractionImportError(f"not a readable gzip file ({exc})", code="bad_gzip") from exc
    except csv.Error as exc:
        raise InteractionImportError(f"not readable as CSV ({exc})", code="bad_csv") from exc


def _store(rows: list[InteractionRow]) -> int:
    """Insert the rows that are new; return how many were."""
    if not rows:
        return 0
    values = [(r.key, r.user_id, r.session_id, r.item_id, r.type, r.ts, r.value) for r in rows]
    if connection.vendor == "postgresql":
        return _store_copy(values)
    return len(insert_new_returning(Interaction, COLUMNS, values, conflict="event_id"))


def _store_copy(values: list[tuple]) -> int:
    """PostgreSQL: COPY into a temporary staging table, then one INSERT ... ON CONFLICT DO NOTHING."""
    table = connection.ops.quote_name(Interaction._meta.db_table)
    columns = ", ".join(COLUMNS)
    with transaction.atomic(), server_bound_cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS interaction_staging ON COMMIT DELETE ROWS "
            f"AS SELECT {columns} FROM {table} WITH NO DATA"
        )
        with cursor.copy(f"COPY interaction_staging ({columns}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
        # DISTINCT ON: a conflict inside one INSERT would fail it; within-file duplicates are
        # rejected before this, so it only guards the key.
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT DISTINCT ON (event_id) {columns} "
            f"FROM interaction_staging ON CONFLICT (event_id) DO NOTHING"
        )
        added = cursor.rowcount
        # ON COMMIT only empties it when this is the outermost transaction.
        cursor.execute("TRUNCATE interaction_staging")
        return added


def interactions_import(
    *,
    path: Path | str,
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[int], None] | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """Import an interaction file; bad rows are reported and skipped, good rows stored.

    Raises ``InteractionImportError`` (nothing stored) for a file that is not CSV / JSON Lines,
    has an unknown or missing column (CSV header), or has no rows. ``progress`` gets the number
    of rows read so far, after each stored chunk.
    """
    path = Path(path)
    fmt = file_format(path)
    latest = (now or timezone.now()) + timedelta(seconds=settings.EVENT_MAX_FUTURE_SKEW_S)
    known_items = set(Item.objects.values_list("item_id", flat=True).iterator(chunk_size=50_000))
    seen: set[int] = set()  # within this file; hash() of the key is stable inside one process
    result, chunk = ImportResult(), []
    for line, raw in _rows(path, fmt):
        result.rows += 1
        row = _checked(raw, latest=latest, known_items=known_items, seen=seen, columns_checked=fmt == "csv")
        if isinstance(row, RowProblem):
            result.reject(line, row)
        else:
            chunk.append(row)
        if len(chunk) >= chunk_rows:
            _chunk_flush(chunk, result, progress)
    if not result.rows:
        raise InteractionImportError("the file has no rows", code="empty_file")
    _chunk_flush(chunk, result, progress)
    return result


def _checked(
    raw, *, latest: datetime, known_items: set, seen: set, columns_checked: bool
) -> InteractionRow | RowProblem:
    if isinstance(raw, RowProblem):
        return raw
    try:
        row = interaction_row_parse(raw, latest=latest, columns_checked=columns_checked)
    except RowRejected as exc:
        return exc.problem
    if row.item_id not in known_items:
        return RowProblem("item_id", "unknown_item", f"item {row.item_id[:40]!r} is not in the catalog")
    marker = hash(row.key)
    if marker in seen:
        if row.key.startswith(ROW_KEY_PREFIX):
            return RowProblem("row", "duplicate_row", "the same row appears earlier in this file")
        return RowProblem(
            "event_id", "duplicate_event_id", f"event_id {row.key[:40]!r} appears earlier in this file"
        )
    seen.add(marker)
    return row


def _chunk_flush(chunk: list, result: ImportResult, progress: Callable[[int], None] | None) -> None:
    added = _store(chunk)
    result.added += added
    result.already_present += len(chunk) - added
    if progress is not None:
        progress(result.rows)
    chunk.clear()
