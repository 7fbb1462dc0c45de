"""``import_catalog`` at catalog scale: a generated 1M-item file, imported twice on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> .venv/bin/python -m bench.bench_import_catalog

For each format (CSV, JSON Lines) the Item table is emptied, then ``manage.py import_catalog``
runs as a child process twice: the first run creates every item, the second finds every item
unchanged. Each run's wall time, rows/s, the child's CPU time and peak RSS (``wait4``'s
``ru_utime + ru_stime`` and ``ru_maxrss``) and the 1-minute load average after it are printed
and written to ``bench/results/import-catalog-<UTC timestamp>.json``. The files
are generated once into ``var/bench/`` (``--regenerate`` to redo).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench.harness import PYTHON as PY
from bench.harness import ROOT
from bench.harness.report import results_write

COLUMNS = (
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


def catalog_rows(n: int, seed: int = 0):
    """Rows of a believable catalog: 3-level category paths, 2000 brands, attributes, an image."""
    rng = np.random.default_rng(seed)
    departments = ["Women", "Men", "Home", "Kids", "Sport"]
    aisles = [f"{d} > Aisle {a}" for d in departments for a in range(8)]
    leaves = [f"{a} > Shelf {s}" for a in aisles for s in range(10)]
    leaf = rng.integers(0, len(leaves), n)
    brand = rng.integers(0, 2000, n)
    price = np.round(rng.lognormal(3.5, 0.8, n), 2)
    created = 1_700_000_000 + rng.integers(0, 60_000_000, n)
    colours = ["red", "blue", "black", "white", "green"]
    for i in range(n):
        yield {
            "item_id": f"sku-{i:07d}",
            "title": f"Item {i} in {leaves[leaf[i]].rpartition(' > ')[2]}",
            "description": "A product description of a few words, as shops write them.",
            "category": leaves[leaf[i]],
            "brand": f"Brand {brand[i]}",
            "price": f"{price[i]:.2f}",
            "currency": "EUR",
            "available": "true",
            "attributes": {"colour": colours[i % 5], "size": int(i % 7)},
            "image_url": f"https://img.example.com/sku-{i:07d}.jpg",
            "created_at": datetime.fromtimestamp(int(created[i]), tz=UTC).isoformat(),
        }


def files_write(n: int, directory: Path, regenerate: bool) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"csv": directory / f"catalog-{n}.csv", "jsonl": directory / f"catalog-{n}.jsonl"}
    if regenerate or not paths["csv"].exists():
        with paths["csv"].open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            for row in catalog_rows(n):
                writer.writerow([json.dumps(row[c]) if c == "attributes" else row[c] for c in COLUMNS])
    if regenerate or not paths["jsonl"].exists():
        with paths["jsonl"].open("w") as handle:
            for row in catalog_rows(n):
                row = {**row, "price": float(row["price"]), "available": True}
                handle.write(json.dumps(row) + "\n")
    return paths


def timed_import(path: Path) -> dict:
    start = time.perf_counter()
    child = subprocess.Popen(
        [PY, "manage.py", "import_catalog", str(path), "--no-progress"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        text=True,
    )
    summary = child.stdout.read().strip().splitlines()  # a few lines, read to the end before waiting
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"import_catalog {path} failed")
    return {
        "summary": summary[0] if summary else "",
        "seconds": round(seconds, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "load_1min_after": round(os.getloadavg()[0], 2),
    }


def items_empty() -> None:
    script = "from django.db import connection; connection.cursor().execute('TRUNCATE experiments_item')"
    subprocess.run(
        [PY, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=os.environ.copy(),
        check=True,
        capture_output=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,jsonl")
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database: the benchmark empties its Item table.")
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)
    paths = files_write(args.items, ROOT / "var" / "bench", args.regenerate)
    results = {"items": args.items, "when": datetime.now(UTC).isoformat(), "runs": []}
    for fmt in args.formats.split(","):
        items_empty()
        for label in ("first (all created)", "second (all unchanged)"):
            run = timed_import(paths[fmt])
            run |= {"format": fmt, "run": label, "rows_per_s": round(args.items / run["seconds"])}
            results["runs"].append(run)
            print(
                f"{fmt:5s} {label:24s} {run['seconds']:7.1f} s  {run['rows_per_s']:8,d} rows/s  "
                f"(import CPU {run['cpu_s']:.1f} s)  peak RSS {run['peak_rss_mb']:7.1f} MB  "
                f"load {run['load_1min_after']:.1f}",
                flush=True,
            )
    out = results_write("import-catalog", results)
    print(f"results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
