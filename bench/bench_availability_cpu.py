"""The 12-slot page's CPU while 1% of the catalog flips availability every minute, against none.

Uses the database, Redis dbs and models that ``bench.bench_availability_lag`` seeded (run it
once first), and calls the WSGI app in process as ``bench.profile_requests`` does:

    .venv/bin/python -m bench.bench_availability_cpu [-n 1500] [--rounds 3] [--rate 0.01]

Two phases, alternated ``--rounds`` times (which one goes first alternates too), ``-n`` pages
each (primed shoppers, a random product each):

- ``none``: every item available (the mask is None: the hot path skips it entirely);
- ``flipping``: a separate writer process marks ``--rate`` of the catalog unavailable at once,
  then every second marks the next ``rate * n_items / 60`` items unavailable and makes those
  it marked a minute earlier available again, one ``items_availability_changed`` batch a second
  (so about ``rate`` of the catalog is unavailable and as much changes every minute). This
  process then pays the hot-path masking and, on each refresh (``SERVING_REFRESH_S``, 1 s),
  the feed read and the mask copy.

Prints the CPU per page of each phase (median of rounds) and the ratio flipping / none (median of
per-round ratios), and the number of unavailable items the flipping phase's last page saw.
"""

import argparse
import math
import random
import signal
import statistics
import subprocess
import time

from bench.bench_availability_lag import availability_env
from bench.harness import PYTHON, ROOT
from bench.harness.server import django_start, wsgi_call
from bench.harness.traffic import page_bodies, signals_prime

REFRESH_S = 1.0
TICK_S = 1.0
OUT_FOR_S = 60.0


def _flipper(rate: float) -> None:
    """Run by the writer process until SIGTERM."""
    from experiments.models import Item
    from experiments.services.item_availability import items_availability_changed

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    ids = list(Item.objects.filter(available=True).values_list("item_id", flat=True))
    random.Random(5).shuffle(ids)
    per_tick = rate * len(ids) * TICK_S / OUT_FOR_S
    first = ids[: int(rate * len(ids))]
    Item.objects.filter(item_id__in=first).update(available=False)
    items_availability_changed(first)
    out = [(time.monotonic(), first)]
    at, owed = len(first), 0.0
    while not stop:
        time.sleep(TICK_S)
        owed += per_tick
        take = ids[at : at + int(owed)]
        at, owed = at + len(take), owed - len(take)
        back: list[str] = []
        while out and time.monotonic() - out[0][0] >= OUT_FOR_S:
            back += out.pop(0)[1]
        Item.objects.filter(item_id__in=take).update(available=False)
        Item.objects.filter(item_id__in=back).update(available=True)
        items_availability_changed(take + back)
        out.append((time.monotonic(), take))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=1500, help="pages per phase and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=0.01, help="share of the catalog flipping a minute")
    parser.add_argument("--flipper", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    django_start(availability_env(REFRESH_S))
    if args.flipper:
        _flipper(args.rate)
        return 0

    from rest_framework_api_key.models import APIKey

    from experiments.models import Item
    from experiments.services.item_availability import items_availability_changed
    from experiments.serving.runtime import serving_state

    unavailable_before = set(Item.objects.filter(available=False).values_list("item_id", flat=True))
    _, key = APIKey.objects.create_key(name=f"bench-availability-cpu-{int(time.time())}")
    items = list(Item.objects.values_list("item_id", flat=True)[:5000])
    rng = random.Random(7)
    pages = page_bodies(signals_prime(items, args.n, rng), items, rng, slots=None)

    def run() -> float:
        started = time.process_time()
        for body in pages:
            wsgi_call("POST", "/api/v1/assignments", body, key)
        return (time.process_time() - started) / len(pages) * 1e6

    def all_available() -> None:
        flipped = list(
            Item.objects.filter(available=False)
            .exclude(item_id__in=unavailable_before)
            .values_list("item_id", flat=True)
        )
        Item.objects.filter(item_id__in=flipped).update(available=True)
        items_availability_changed(flipped)
        time.sleep(REFRESH_S + 0.2)
        run_some(20)

    def run_some(n: int) -> None:
        for body in pages[:n]:
            wsgi_call("POST", "/api/v1/assignments", body, key)

    def flipping_run() -> tuple[float, int]:
        command = [PYTHON, "-m", "bench.bench_availability_cpu", "--flipper", "--rate", str(args.rate)]
        flipper = subprocess.Popen(command, cwd=ROOT)
        try:
            time.sleep(3 * REFRESH_S + 2)  # the first batch is written and picked up
            run_some(20)
            us = run()
            availability = serving_state().availability
            return us, availability.unavailable if availability else 0
        finally:
            flipper.send_signal(signal.SIGTERM)
            flipper.wait(timeout=30)
            all_available()

    run_some(200)  # warm: state, models, connections
    all_available()
    rounds = []
    try:
        for r in range(args.rounds):
            # Alternate which phase goes first, so a drift of the machine's speed cancels out.
            if r % 2:
                flipping_us, seen_unavailable = flipping_run()
                none_us = run()
            else:
                none_us = run()
                flipping_us, seen_unavailable = flipping_run()
            rounds.append((none_us, flipping_us))
            print(
                f"round {r + 1}: none {none_us:7.1f} us/page, flipping {flipping_us:7.1f} us/page "
                f"({flipping_us / none_us:.3f}x; {seen_unavailable} items unavailable)",
                flush=True,
            )
    finally:
        all_available()
    none = statistics.median(a for a, _ in rounds)
    flipping = statistics.median(b for _, b in rounds)
    ratio = statistics.median(b / a for a, b in rounds)
    print(
        f"12-slot page CPU: none {none:.1f} us, flipping {flipping:.1f} us, ratio {ratio:.3f} "
        f"(median of {args.rounds} rounds; {args.rate:.0%} of {Item.objects.count()} items a minute)"
    )
    return 0 if math.isfinite(ratio) else 1


if __name__ == "__main__":
    raise SystemExit(main())
