"""How long a full garbage collection stalls a serving process, with and without freezing its
long-lived objects (``experiments.serving.state.long_lived_freeze``), in one process.

    .venv/bin/python bench/bench_gc_pause.py [-n 1000]

Uses what ``bench/bench_http.py`` seeded (as ``profile_requests.py`` does). Serves ``-n`` pages
through the WSGI app with the freeze off and times full collections (the first one after the
pages, and the median of 5); then freezes, serves ``-n`` more pages and times them again. A sync
worker serves nothing during a collection, so such a pause lands in the latency of every page
queued behind it.
"""

import argparse
import gc
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ["SERVING_GC_FREEZE"] = "0"

import profile_requests as pr  # noqa: E402  (sets the bench environment on import)


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

    import django

    django.setup()
    from rest_framework_api_key.models import APIKey

    from controlplane.wsgi import application
    from experiments.models import Item
    from experiments.serving.state import long_lived_freeze

    _, key = APIKey.objects.create_key(name=f"bench-gc-{int(time.time())}")
    items = list(Item.objects.values_list("item_id", flat=True)[:5000])
    rng = random.Random(7)
    pr.signals_prime(items, args.n, rng)
    _, path, pages = pr._forms(args.n, items, rng)["assign_12slot"]

    def serve() -> None:
        for body in pages:
            b"".join(application(pr._environ("POST", path, body, key), pr._start_response))

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
