"""How long a full garbage collection stalls a serving process, with and without freezing its
long-lived objects (``experiments.serving.state.long_lived_freeze``), in one process.

    .venv/bin/python -m bench.bench_gc_pause [-n 1000]

Uses what ``bench.bench_http`` seeded (as ``bench.profile_requests`` does). Serves ``-n`` pages
through the WSGI app with the freeze off and times full collections (the first one after the
pages, and the median of 5); then freezes, serves ``-n`` more pages and times them again. A sync
worker serves nothing during a collection, so such a pause lands in the latency of every page
queued behind it.
"""

import argparse
import gc
import random
import statistics
import time

from bench.harness.database import bench_env
from bench.harness.server import django_start, wsgi_call
from bench.harness.traffic import page_bodies, signals_prime


def full_collections_ms(times: int = 5) -> tuple[float, float]:
    """(the first full collection after serving, the median of ``times``), in ms."""
    pauses = []
    for _ in range(times):
        started = time.perf_counter()
        gc.collect()
        pauses.append((time.perf_counter() - started) * 1e3)
    return pauses[0], statistics.median(pauses)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=1000, help="pages served before each measurement")
    args = parser.parse_args()

    # The freeze is what is measured: the app must not apply it on its own first.
    django_start(bench_env(queue="bench-profile") | {"SERVING_GC_FREEZE": "0"})
    from rest_framework_api_key.models import APIKey

    from experiments.models import Item
    from experiments.serving.state import long_lived_freeze

    _, key = APIKey.objects.create_key(name=f"bench-gc-{int(time.time())}")
    items = list(Item.objects.values_list("item_id", flat=True)[:5000])
    rng = random.Random(7)
    pages = page_bodies(signals_prime(items, args.n, rng), items, rng, slots=None)

    def serve() -> None:
        for body in pages:
            wsgi_call("POST", "/api/v1/assignments", body, key)

    serve()
    before = full_collections_ms()
    walked = len(gc.get_objects())
    long_lived_freeze()
    serve()
    after = full_collections_ms()
    print(f"nothing frozen: first {before[0]:8.2f} ms, median {before[1]:8.2f} ms ({walked} objects)")
    print(f"after freeze:   first {after[0]:8.2f} ms, median {after[1]:8.2f} ms (full collections)")
    print(f"ratio of first collections: {after[0] / before[0]:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
