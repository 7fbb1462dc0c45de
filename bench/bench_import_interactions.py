"""``import_interactions`` throughput and peak memory on a generated history file.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/controlplane_bench \
        .venv/bin/python -m bench.bench_import_interactions [--rows 2000000] [--items 100000]

Migrates the database, replaces its items with ``--items`` generated ones and its imported
interactions with nothing, writes a CSV history of ``--rows`` rows (a tenth purchases, no event
ids, so every row is keyed by its hash), imports it and prints rows/s and the process's peak
resident memory, then imports it again (the idempotent path: everything already present).
"""

import argparse
import csv
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from bench.harness.server import django_start

TYPES = np.array(
    ["view", "view", "view", "view", "view", "click", "click", "add_to_cart", "add_to_cart", "purchase"]
)


def history_write(path: Path, rows: int, items: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("user_id", "session_id", "item_id", "type", "ts", "value"))
        for offset in range(0, rows, 100_000):
            n = min(100_000, rows - offset)
            users = rng.integers(0, rows // 20 + 1, n)
            item = rng.zipf(1.3, n) % items
            kinds = TYPES[rng.integers(0, len(TYPES), n)]
            seconds = np.sort(rng.integers(0, 2 * 365 * 86_400, n))
            for u, i, kind, s in zip(
                users.tolist(), item.tolist(), kinds.tolist(), seconds.tolist(), strict=True
            ):
                ts = (start + timedelta(seconds=s)).isoformat()
                writer.writerow(
                    (f"u{u}", f"s{u}-{s // 3600}", f"p-{i}", kind, ts, "19.90" if kind == "purchase" else "")
                )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args()

    django_start({})  # the database is DATABASE_URL's
    from django.core.management import call_command
    from django.db import connection

    from experiments.models import Interaction, Item
    from experiments.services.interaction_import import interactions_import

    call_command("migrate", verbosity=0)
    Interaction.objects.all().delete()
    Item.objects.all().delete()
    now = datetime.now(UTC)
    Item.objects.bulk_create(
        (Item(item_id=f"p-{n}", title=f"item {n}", price=10, created_at=now) for n in range(args.items)),
        batch_size=10_000,
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.csv"
        began = time.perf_counter()
        history_write(path, args.rows, args.items)
        size_mb = path.stat().st_size / 2**20
        print(f"wrote {args.rows} rows ({size_mb:.0f} MiB) in {time.perf_counter() - began:.1f} s")
        for label in ("first import", "second import"):
            began = time.perf_counter()
            result = interactions_import(path=path)
            seconds = time.perf_counter() - began
            print(f"{label}: {result.summary}")
            print(f"  {seconds:.1f} s, {args.rows / seconds:,.0f} rows/s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of the process: {peak:.0f} MiB ({connection.vendor})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
