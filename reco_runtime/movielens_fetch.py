"""Write MovieLens-100k (``u.data``, ``u.item``) into DEST from the RecBole wheel.

    python -m reco_runtime.movielens_fetch var/ml-100k [--wheel recbole-1.2.1-py3-none-any.whl]

Downloads ``recbole==1.2.1`` (no dependencies) with pip into a temporary directory, unless a
wheel is given, and converts its "atomic" files (``recbole/dataset_example/ml-100k/``) into
the original GroupLens layout. RecBole keeps only the release year, so release dates become
``01-Jan-<year>``; titles get their ``(year)`` suffix back. Never commit the output.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from reco_runtime.movielens import GENRES

RECBOLE = "recbole==1.2.1"
PREFIX = "recbole/dataset_example/ml-100k/"


def wheel_download(directory: Path) -> Path:
    """pip-download the RecBole wheel into ``directory`` and return its path."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        RECBOLE,
        "-d",
        str(directory),
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    (wheel,) = directory.glob("recbole-*.whl")
    return wheel


def _item_line(fields: list[str]) -> str:
    item, title, year, genres = (fields + ["", "", "", ""])[:4]
    year = year if year.isdigit() else ""
    title = title if title != "unkonwn" else "unknown"  # RecBole's spelling of a missing title
    present = set(genres.split())
    flags = "|".join("1" if g in present else "0" for g in GENRES)
    date = f"01-Jan-{year}" if year else ""
    full_title = f"{title} ({year})" if year else title
    return f"{item}|{full_title}|{date}||http://us.imdb.com/|{flags}"


def convert(wheel: Path, dest: Path) -> None:
    """Write ``dest/u.data`` and ``dest/u.item`` from a RecBole wheel (a zip file)."""
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        inter = zf.read(PREFIX + "ml-100k.inter").decode("utf-8").splitlines()[1:]
        items = zf.read(PREFIX + "ml-100k.item").decode("utf-8").splitlines()[1:]
    rows = []
    for line in inter:
        user, item, rating, ts = line.split("\t")
        rows.append(f"{user}\t{item}\t{int(float(rating))}\t{int(float(ts))}")
    (dest / "u.data").write_text("\n".join(rows) + "\n", encoding="latin-1")
    out = [_item_line(line.split("\t")) for line in items if line.strip()]
    (dest / "u.item").write_text("\n".join(out) + "\n", encoding="latin-1", errors="replace")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--wheel", type=Path, help="use this RecBole wheel instead of downloading it")
    args = parser.parse_args(argv)
    if args.wheel:
        convert(args.wheel, args.dest)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            convert(wheel_download(Path(tmp)), args.dest)
    print(f"wrote {args.dest / 'u.data'} and {args.dest / 'u.item'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
