"""MovieLens-100k as a shop: a catalog file and an interactions file in the import formats.

    python -m reco_runtime.movielens_shop var/ml-100k var/movielens-shop

Films become items: the title without its year, the genres (in MovieLens's order) as the
category path, so a film's top level is its first genre and "top in" backfills from there;
year and genres as attributes. Every rating is an interaction of its user at its time: 4 or 5
stars a purchase (of one rental at ``RENTAL_PRICE``), fewer stars a view. A user's ratings on
one UTC day form one session. The files are what ``import_catalog`` and ``import_interactions``
read, so MovieLens goes through the same doors as a real shop's export.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reco_runtime.errors import RecoError
from reco_runtime.movielens import GENRES

RENTAL_PRICE = "3.99"
CURRENCY = "USD"
PURCHASE_MIN_STARS = 4
CATALOG_FILE = "catalog.jsonl"
INTERACTIONS_FILE = "interactions.csv"
INTERACTION_COLUMNS = ("event_id", "user_id", "session_id", "item_id", "type", "ts", "value")
_YEAR = re.compile(r"\s*\((\d{4})\)\s*$")
# Films with no release date are dated at the first rating MovieLens-100k holds.
_EARLIEST = datetime(1997, 9, 20, tzinfo=UTC)


@dataclass(frozen=True)
class ShopFiles:
    catalog: Path
    interactions: Path
    items: int
    interactions_written: int


def _film(fields: list[str]) -> dict[str, Any]:
    """One catalog row from a ``u.item`` line's fields."""
    genres = [g for g, flag in zip(GENRES, fields[5 : 5 + len(GENRES)], strict=True) if flag.strip() == "1"]
    genres = [g for g in genres if g != "unknown"] or ["Unknown genre"]
    raw_title = fields[1].strip()
    year_match = _YEAR.search(raw_title)
    try:
        released = datetime.strptime(fields[2].strip(), "%d-%b-%Y").replace(tzinfo=UTC)
    except ValueError:
        released = _EARLIEST
    year = int(year_match.group(1)) if year_match else released.year
    attributes: dict[str, Any] = {"year": year, "genres": genres}
    if fields[4].strip():
        attributes["imdb_url"] = fields[4].strip()
    return {
        "item_id": fields[0].strip(),
        "title": _YEAR.sub("", raw_title) or raw_title,
        "description": f"{', '.join(genres)} ({year})",
        "category": " > ".join(genres),
        "brand": "",
        "price": RENTAL_PRICE,
        "currency": CURRENCY,
        "available": True,
        "attributes": attributes,
        "image_url": "",
        "created_at": released.isoformat().replace("+00:00", "Z"),
    }


def films(directory: Path) -> Iterator[dict[str, Any]]:
    path = directory / "u.item"
    for line in path.read_text(encoding="latin-1").splitlines():
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) < 5 + len(GENRES):
            raise RecoError(
                f"{path}: expected {5 + len(GENRES)} '|' fields, got {len(fields)}: {line[:60]!r}"
            )
        yield _film(fields)


def ratings(directory: Path) -> Iterator[tuple[str, ...]]:
    """Interaction rows (INTERACTION_COLUMNS order) from ``u.data``, in file order."""
    path = directory / "u.data"
    with path.open(encoding="latin-1") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 4:
                raise RecoError(f"{path}:{number}: expected 4 tab-separated columns")
            user, item, stars, epoch = parts
            when = datetime.fromtimestamp(int(epoch), tz=UTC)
            bought = int(stars) >= PURCHASE_MIN_STARS
            yield (
                f"ml-{user}-{item}",
                f"u{user}",
                f"u{user}-{when:%Y%m%d}",
                item,
                "purchase" if bought else "view",
                when.isoformat().replace("+00:00", "Z"),
                RENTAL_PRICE if bought else "",
            )


def shop_files_write(directory: str | Path, out: str | Path) -> ShopFiles:
    """Write ``catalog.jsonl`` and ``interactions.csv`` for the MovieLens folder ``directory``."""
    directory, out = Path(directory), Path(out)
    for name in ("u.data", "u.item"):
        if not (directory / name).is_file():
            raise RecoError(f"{directory} has no {name}; fetch it with `make movielens`")
    out.mkdir(parents=True, exist_ok=True)
    catalog_path, interactions_path = out / CATALOG_FILE, out / INTERACTIONS_FILE
    n_items = n_rows = 0
    with catalog_path.open("w", encoding="utf-8") as handle:
        for film in films(directory):
            handle.write(json.dumps(film, ensure_ascii=False) + "\n")
            n_items += 1
    with interactions_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(INTERACTION_COLUMNS)
        for row in ratings(directory):
            writer.writerow(row)
            n_rows += 1
    return ShopFiles(catalog_path, interactions_path, n_items, n_rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write MovieLens-100k as a shop's catalog and history files."
    )
    parser.add_argument("movielens", help="folder with u.data and u.item")
    parser.add_argument("out", help="folder to write catalog.jsonl and interactions.csv into")
    args = parser.parse_args(argv)
    try:
        written = shop_files_write(args.movielens, args.out)
    except RecoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{written.items:,} films -> {written.catalog}")
    print(f"{written.interactions_written:,} ratings -> {written.interactions}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
