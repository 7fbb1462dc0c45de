"""Reading a catalog file row by row: CSV with a header or JSON Lines, by extension, gzip too.

A file that cannot be read as its extension says (not gzip, not UTF-8, not CSV / JSON Lines,
empty, unknown or missing columns) raises ``CatalogFileError`` before any row is yielded, so
nothing is written from it. A bad row is yielded as an ``ItemInvalid`` with its line number.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from experiments.domain.item_fields import ITEM_FIELDS, REQUIRED_FIELDS, ItemInvalid

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
GZIP_MAGIC = b"\x1f\x8b"
csv.field_size_limit(10_000_000)


class CatalogFileError(ValueError):
    """The whole file is refused; ``code`` is stable, the message says how to fix it."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class CatalogFile:
    path: Path
    format: str  # "csv" | "jsonl"
    gzipped: bool


def catalog_file_identify(path: str | Path) -> CatalogFile:
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    gzipped = bool(suffixes) and suffixes[-1] == ".gz"
    if gzipped:
        suffixes = suffixes[:-1]
    fmt = FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise CatalogFileError(
            "unsupported_format",
            f"{path.name}: a catalog file is CSV (.csv) or JSON Lines (.jsonl, .ndjson), optionally .gz.",
        )
    if not path.is_file():
        raise CatalogFileError("file_not_found", f"{path}: no such file.")
    with path.open("rb") as raw:
        if gzipped and raw.read(2) != GZIP_MAGIC:
            raise CatalogFileError("not_gzip", f"{path.name}: the name ends in .gz but it is not gzip.")
    return CatalogFile(path, fmt, gzipped)


Row = tuple[int, dict[str, Any] | ItemInvalid]


def catalog_rows(file: CatalogFile, *, read_bytes: Callable[[int], None] | None = None) -> Iterator[Row]:
    """(line number, raw row) per data row, or (line, ItemInvalid) for a row that is not one.

    ``read_bytes`` is told how many bytes of the (compressed) file were read, now and then."""
    with file.path.open("rb") as raw:
        stream: IO[bytes] = gzip.GzipFile(fileobj=raw) if file.gzipped else raw
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        rows = _csv_rows(text) if file.format == "csv" else _jsonl_rows(text)
        told = 0
        try:
            for n, row in enumerate(rows):
                yield row
                if read_bytes is not None and n % 2_000 == 0:
                    told = _tell(raw, told, read_bytes)
        except UnicodeDecodeError as exc:
            raise CatalogFileError("not_utf8", f"{file.path.name}: not UTF-8 text ({exc.reason}).") from exc
        except (gzip.BadGzipFile, EOFError, OSError) as exc:
            raise CatalogFileError("not_gzip", f"{file.path.name}: broken gzip data ({exc}).") from exc
        if read_bytes is not None:
            _tell(raw, told, read_bytes)


def _tell(raw: IO[bytes], told: int, read_bytes: Callable[[int], None]) -> int:
    position = raw.tell()
    read_bytes(position - told)
    return position


def _header(reader: Any) -> list[str]:
    for cells in reader:
        if any(c.strip() for c in cells):
            return [c.strip() for c in cells]
    raise CatalogFileError("empty_file", "The file is empty: a catalog CSV starts with a header line.")


def _csv_rows(text: io.TextIOWrapper) -> Iterator[Row]:
    reader = csv.reader(text)
    header = _header(reader)
    unknown = [c for c in header if c not in ITEM_FIELDS]
    if unknown:
        raise CatalogFileError(
            "unknown_columns",
            f"Unknown column(s) {', '.join(map(repr, unknown))}; the columns are {', '.join(ITEM_FIELDS)}.",
        )
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise CatalogFileError("duplicate_columns", f"Column(s) {', '.join(repeated)} appear more than once.")
    missing = [c for c in REQUIRED_FIELDS if c not in header]
    if missing:
        raise CatalogFileError("missing_columns", f"Required column(s) missing: {', '.join(missing)}.")
    width = len(header)
    any_row = False
    for cells in reader:
        if not cells:
            continue  # a blank line
        any_row = True
        if len(cells) != width:
            yield reader.line_num, ItemInvalid("row", "wrong_cell_count")
            continue
        yield reader.line_num, dict(zip(header, cells, strict=True))
    if not any_row:
        raise CatalogFileError("empty_file", "The file has a header but no rows.")


def _jsonl_rows(text: io.TextIOWrapper) -> Iterator[Row]:
    any_row = False
    for line_no, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            if not any_row:
                raise CatalogFileError(
                    "not_jsonl", f"Line {line_no} is not JSON: a .jsonl file holds one JSON object a line."
                ) from None
            yield line_no, ItemInvalid("row", "invalid_json")
            continue
        if not any_row and not isinstance(value, dict):
            raise CatalogFileError(
                "not_jsonl", f"Line {line_no} is not a JSON object: a .jsonl file holds one item a line."
            )
        any_row = True
        yield line_no, value
    if not any_row:
        raise CatalogFileError("empty_file", "The file is empty: a .jsonl catalog holds one item a line.")
