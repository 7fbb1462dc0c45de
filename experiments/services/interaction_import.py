"""``import_interactions``: a shop's past views, clicks, add-to-carts and purchases, to train on.

The file is CSV (with a header) or JSON Lines, by extension, gzip too (``.csv.gz``, ``.jsonl.gz``).
It is read as a stream, checked row by row (``domain.interaction_rows``) and stored in chunks, each
chunk committed on its own: an interrupted import keeps what it stored, and running it again adds
only the rest. Duplicates are decided by the ``Interaction.event_id`` unique key (the shop's event
id or the row's hash) with ``ON CONFLICT DO NOTHING``. On PostgreSQL a chunk goes through ``COPY``
into a temporary staging table and one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``; the COPY
text is built here in blocks (``copy_text``), and a writer thread stores a chunk while the next is
parsed (``chunk_writer``).

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
from operator import itemgetter
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from experiments.db.chunk_writer import ChunkWriter
from experiments.db.sql import insert_new_returning, server_bound_cursor
from experiments.domain.copy_text import COPY_NULL, copy_lines_write, copy_text_fields
from experiments.domain.interaction_rows import (
    COLUMNS,
    REQUIRED_COLUMNS,
    ROW_KEY_PREFIX,
    RowProblem,
    RowRejected,
    interaction_row_check,
    interaction_row_parse,
    unknown_columns,
)
from experiments.models import Interaction, Item

CHUNK_ROWS = 50_000
PROBLEMS_KEPT = 1_000  # reported one by one; beyond that only counted by code
TABLE_COLUMNS = ("event_id", "user_id", "session_id", "item_id", "type", "ts", "value")
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


def _csv_rows(stream) -> Iterator[tuple[int, tuple | RowProblem]]:
    reader = csv.reader(stream)
    header = next(reader, None)
    if header is None:
        raise InteractionImportError("the file is empty", code="empty_file")
    header = [name.strip() for name in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    extra = unknown_columns(header)
    if extra:
        raise InteractionImportError(
            f"unknown column {extra[0]!r} in the header; columns are {', '.join(TABLE_COLUMNS)}",
            code="unknown_column",
        )
    if missing:
        raise InteractionImportError(
            f"the header lacks {', '.join(missing)} (is this a CSV file with a header?)",
            code="missing_column",
        )
    width = len(header)
    # Each row's values in COLUMNS order; a column the header lacks reads the None put after
    # the row's fields. A column named twice is read from its last place.
    place = {name: n for n, name in enumerate(header)}
    pick = itemgetter(*(place.get(column, width) for column in COLUMNS))
    pad = (None,) if any(column not in place for column in COLUMNS) else ()
    for row in reader:
        if not row:
            continue
        if len(row) != width:
            yield (
                reader.line_num,
                RowProblem("row", "wrong_field_count", f"{len(row)} fields, header has {width}"),
            )
            continue
        if pad:
            row.extend(pad)
        yield reader.line_num, pick(row)


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


def _rows(path: Path, fmt: str) -> Iterator[tuple[int, tuple | dict | RowProblem]]:
    """(line, the row's values in ``COLUMNS`` order (CSV) or its object (JSON Lines), or a
    problem with the whole line); file-level errors as ``InteractionImportError``."""
    try:
        with _text_stream(path) as stream:
            yield from (_csv_rows if fmt == "csv" else _jsonl_rows)(stream)
    except UnicodeDecodeError as exc:
        raise InteractionImportError(f"not UTF-8 text ({exc.reason})", code="not_text") from exc
    except (gzip.BadGzipFile, zlib.error, EOFError) as exc:
        raise InteractionImportError(f"not a readable gzip file ({exc})", code="bad_gzip") from exc
    except csv.Error as exc:
        raise InteractionImportError(f"not readable as CSV ({exc})", code="bad_csv") from exc


def _store(rows: list[tuple]) -> int:
    """Insert the checked rows (``ROW_FIELDS`` order) that are new; return how many were."""
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        return _store_copy(rows)
    values = [
        (key, user, session, item, kind, ts, value) for key, user, session, item, kind, ts, _, value in rows
    ]
    return len(insert_new_returning(Interaction, TABLE_COLUMNS, values, conflict="event_id"))


def _store_copy(rows: list[tuple]) -> int:
    """PostgreSQL: COPY into a temporary staging table, then one INSERT ... ON CONFLICT DO NOTHING."""
    table = connection.ops.quote_name(Interaction._meta.db_table)
    columns = ", ".join(TABLE_COLUMNS)
    lines = [
        copy_text_fields((key, user, session, item, kind, ts_text))
        + (_NULL_VALUE if value is None else f"\t{value!r}\n")
        for key, user, session, item, kind, _, ts_text, value in rows
    ]
    with transaction.atomic(), server_bound_cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS interaction_staging ON COMMIT DELETE ROWS "
            f"AS SELECT {columns} FROM {table} WITH NO DATA"
        )
        with cursor.copy(f"COPY interaction_staging ({columns}) FROM STDIN") as copy:
            copy_lines_write(copy, lines)
        # A key twice in one INSERT ... DO NOTHING is inserted once (the second finds the first).
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} "
            f"FROM interaction_staging ON CONFLICT (event_id) DO NOTHING"
        )
        added = cursor.rowcount
        # ON COMMIT only empties it when this is the outermost transaction.
        cursor.execute("TRUNCATE interaction_staging")
        return added


_NULL_VALUE = f"\t{COPY_NULL}\n"


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

    def store(job: tuple[list[tuple], int]) -> tuple[int, int, int]:
        rows, read = job
        return _store(rows), len(rows), read

    def collect(stored: tuple[int, int, int]) -> None:
        added, count, read = stored
        result.added += added
        result.already_present += count - added
        if progress is not None:
            progress(read)

    with ChunkWriter(store, collect, name="interaction-import") as writer:
        for line, raw in _rows(path, fmt):
            result.rows += 1
            try:
                row = (
                    interaction_row_check(raw, latest=latest) if type(raw) is tuple else _parsed(raw, latest)
                )
            except RowRejected as exc:
                result.reject(line, exc.problem)
                continue
            problem = _problem(row, known_items, seen)
            if problem is not None:
                result.reject(line, problem)
                continue
            chunk.append(row)
            if len(chunk) >= chunk_rows:
                writer.write((chunk, result.rows))
                chunk = []
        if not result.rows:
            raise InteractionImportError("the file has no rows", code="empty_file")
        writer.write((chunk, result.rows))
    return result


def _parsed(raw: dict | RowProblem, latest: datetime) -> tuple:
    if isinstance(raw, RowProblem):
        raise RowRejected(raw)
    return interaction_row_parse(raw, latest=latest)


def _problem(row: tuple, known_items: set, seen: set) -> RowProblem | None:
    """The row's problem in this file and catalog: an unknown item, or a key seen earlier."""
    key, item_id = row[0], row[3]
    if item_id not in known_items:
        return RowProblem("item_id", "unknown_item", f"item {item_id[:40]!r} is not in the catalog")
    marker = hash(key)
    if marker in seen:
        if key.startswith(ROW_KEY_PREFIX):
            return RowProblem("row", "duplicate_row", "the same row appears earlier in this file")
        return RowProblem(
            "event_id", "duplicate_event_id", f"event_id {key[:40]!r} appears earlier in this file"
        )
    seen.add(marker)
    return None
