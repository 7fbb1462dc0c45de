"""CPU per request in process, without HTTP: the WSGI app called directly, as gunicorn would.

Uses the database, Redis db and models that ``bench.bench_http`` seeded (run it once first;
``BENCH_DATABASE_URL`` / ``BENCH_VAR_DIR`` point at another seeded catalog).

    .venv/bin/python -m bench.profile_requests [-n 3000] [--profile assign_1slot] [--top 30]

Prints CPU microseconds per request for ``/healthz``, the storefront floor (an assignment
request for no slot), a 1-slot and a 12-slot assignment, and
their ratios to ``/healthz``; ``--without-page-memo`` adds 12-slot pages served without the page
memo, interleaved with the rest, for what sharing per-page work saves. The HTTP bench adds
gunicorn's own per-request cost (accepting the connection, parsing, writing) to every endpoint,
so its ratios are closer to 1 than these.
``--profile NAME`` runs that endpoint again under cProfile and prints the top functions
(by cumulative time; ``PROFILE_SORT=tottime`` sorts by own time);
with ``--sampling`` under pyinstrument's sampling profiler (no per-call overhead, so small
functions are not inflated as under cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import statistics
import time

from bench.harness.database import bench_env
from bench.harness.server import django_start, wsgi_call
from bench.harness.traffic import Page, event_templates, page_bodies, signals_prime

EVENTS_PER_BATCH = 500


def event_batches(pages: list[bytes], key: str, rng: random.Random) -> list[bytes]:
    """Batches of views and impressions quoting real decisions, as the storefront posts them,
    each new to the ledger (the intake does the full insert, not a duplicate check)."""
    import orjson

    quoted = pages[: max(40, len(pages) // 20)]
    answered = [
        Page.from_answer(orjson.loads(raw), orjson.loads(wsgi_call("POST", "/api/v1/assignments", raw, key)))
        for raw in quoted
    ]
    templates = event_templates(answered, EVENTS_PER_BATCH, rng)
    events = sum(1 + len(page.decision_ids) for page in answered)
    run = os.urandom(4).hex()
    return [
        templates[n % len(templates)].replace(b"@RUN@", f"prof-{run}-{n}".encode())
        for n in range(max(1, events * 4 // EVENTS_PER_BATCH))
    ]


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=3000, help="requests per endpoint")
    parser.add_argument(
        "--profile", choices=["healthz", "assign_0slot", "assign_1slot", "assign_12slot", "events"]
    )
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--sampling", action="store_true", help="profile with pyinstrument's sampler instead of cProfile"
    )
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument(
        "--without-page-memo",
        action="store_true",
        help="also run the 12-slot pages with no page memo (each model scores the session on its "
        "own, a hybrid's generators too), interleaved with the rest",
    )
    return parser.parse_args()


def profile_print(work, *, sampling: bool, top: int) -> None:
    """Run ``work`` under pyinstrument (``sampling``) or cProfile and print where the time went."""
    if sampling:
        from pyinstrument import Profiler

        sampler = Profiler(interval=0.0002)
        sampler.start()
        work()
        sampler.stop()
        print(sampler.output_text(unicode=False, color=False, show_all=False, time="percent_of_total"))
        return
    profiler = cProfile.Profile()
    profiler.enable()
    work()
    profiler.disable()
    pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(top)


def _slot_server_switchable():
    """``SlotServer`` whose page memo is dropped while its ``page_memo_off`` is set."""
    from experiments.services.assignments import SlotServer

    init = SlotServer.__init__

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if SlotServer.page_memo_off:
            self._page_memo = None

    SlotServer.page_memo_off = False
    SlotServer.__init__ = __init__
    return SlotServer


def request_forms(
    sessions: list[str], items: list[str], rng: random.Random
) -> dict[str, tuple[str, str, list[bytes]]]:
    """(method, path, bodies) of one request per primed shopper, per endpoint."""
    n = len(sessions)
    return {
        "healthz": ("GET", "/healthz", [b""] * n),
        # The storefront floor: an assignment request for no slot (no model, no decision).
        "assign_0slot": ("POST", "/api/v1/assignments", page_bodies(sessions, items, rng, slots=[])),
        "assign_1slot": (
            "POST",
            "/api/v1/assignments",
            page_bodies(sessions, items, rng, slots=["pdp_similar"]),
        ),
        "assign_12slot": ("POST", "/api/v1/assignments", page_bodies(sessions, items, rng, slots=None)),
    }


def main() -> int:
    args = _args()
    django_start(bench_env(queue="bench-profile"))
    from rest_framework_api_key.models import APIKey

    from experiments.models import Item

    SlotServer = _slot_server_switchable()

    _, key = APIKey.objects.create_key(name=f"bench-profile-{int(time.time())}")
    items = list(Item.objects.values_list("item_id", flat=True)[:5000])
    rng = random.Random(7)

    sessions = signals_prime(items, args.n, rng)
    forms = request_forms(sessions, items, rng)
    forms["events"] = ("POST", "/api/v1/events", event_batches(forms["assign_12slot"][2], key, rng))
    if args.without_page_memo:
        forms["12slot_no_memo"] = forms["assign_12slot"]

    def run(name: str, part: slice = slice(None)) -> float:
        method, path, payloads = forms[name]
        payloads = payloads[part]
        SlotServer.page_memo_off = name == "12slot_no_memo"
        started = time.process_time()
        for body in payloads:
            wsgi_call(method, path, body, key)
        return (time.process_time() - started) / len(payloads) * 1e6

    for name in forms:  # warm: state, models, connections
        method, path, payloads = forms[name]
        for body in payloads[:200]:
            wsgi_call(method, path, body, key)
    # Interleaved rounds, medians of per-round figures: this machine's speed drifts by 2x within
    # a minute, so a ratio is only meaningful between measurements taken close together.
    rounds = [{name: run(name, slice(r, None, args.rounds)) for name in forms} for r in range(args.rounds)]
    cpu = {name: statistics.median(r[name] for r in rounds) for name in forms}
    for name, us in cpu.items():
        ratio = statistics.median(r[name] / r["healthz"] for r in rounds)
        print(f"{name:14s} {us:8.1f} us CPU/request  {ratio:6.2f}x healthz (median of {args.rounds} rounds)")
    print(f"events: {cpu['events'] / EVENTS_PER_BATCH:.1f} us CPU per event (batches of {EVENTS_PER_BATCH})")
    if args.profile:
        profile_print(lambda: run(args.profile), sampling=args.sampling, top=args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
