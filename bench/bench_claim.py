"""The posterior update's claim of a batch: the ORM read against the raw read with orjson.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/controlplane_bench \
        .venv/bin/python -m bench.bench_claim [--batch 5000] [--rounds 7]

Needs a database a peak bench seeded and ran (its ledger holds events with decisions). Inside
one transaction that is rolled back at the end, it marks the newest ``--batch`` events unapplied,
then claims them with each path in turn (alternated, ``--rounds`` each) and prints the medians
and their ratio. Nothing is changed in the database.
"""

import argparse
import statistics
import sys
import time

from bench.harness.server import django_start


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    django_start({})  # the database is DATABASE_URL's
    from django.db import connection, transaction

    from experiments.models import Event
    from experiments.services import posteriors

    if connection.vendor != "postgresql":
        print("bench_claim: needs DATABASE_URL (PostgreSQL)", file=sys.stderr)
        return 1

    def orm() -> list:
        return posteriors.claim_through_orm(args.batch)

    times: dict[str, list[float]] = {"orm": [], "raw + orjson": []}
    with transaction.atomic():
        with_decision = Event.objects.exclude(decision=None).order_by("-id")
        newest = list(with_decision.values_list("id", flat=True)[: args.batch])
        Event.objects.filter(id__in=newest).update(applied_at=None)
        for _ in range(args.rounds):
            for name, claim in (("orm", orm), ("raw + orjson", lambda: posteriors._claim(args.batch))):
                started = time.perf_counter()
                rows = claim()
                times[name].append(time.perf_counter() - started)
                assert len(rows) == args.batch, len(rows)
        same = [tuple(r) for r in orm()] == [tuple(r) for r in posteriors._claim(args.batch)]
        transaction.set_rollback(True)
    medians = {name: statistics.median(values) * 1e3 for name, values in times.items()}
    for name, ms in medians.items():
        print(f"{name:14s} {ms:8.1f} ms per {args.batch} events ({ms * 1e3 / args.batch:.2f} us each)")
    print(f"ratio raw/orm: {medians['raw + orjson'] / medians['orm']:.2f}; same rows: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
