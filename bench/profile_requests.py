"""CPU per request in process, without HTTP: the WSGI app called directly, as gunicorn would.

Uses the database, Redis db and models that ``bench/bench_http.py`` seeded (run it once first).

    .venv/bin/python bench/profile_requests.py [-n 3000] [--profile assign_1slot] [--top 30]

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

import argparse
import cProfile
import io
import os
import pstats
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.update(
    {
        # BENCH_DATABASE_URL / BENCH_VAR_DIR: another seeded catalog, as for bench_peak.py.
        "DATABASE_URL": os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/controlplane_bench"
        ),
        "REDIS_URL": "redis://127.0.0.1:6379/2",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/3",
        "CELERY_QUEUE": "bench-profile",
        "VAR_DIR": os.environ.get("BENCH_VAR_DIR", str(ROOT / "var" / "bench")),
        "DJANGO_ENV": "development",
        "DJANGO_DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "OPENBLAS_NUM_THREADS": "1",
    }
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.settings")


def _environ(method: str, path: str, body: bytes, key: str) -> dict:
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Api-Key {key}",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


EVENTS_PER_BATCH = 500


def _event_batches(pages: list[bytes], key: str, rng: random.Random) -> list[bytes]:
    """Batches of views and impressions quoting real decisions, as the storefront posts them
    (each batch new to the ledger: the intake does the full insert, not a duplicate check)."""
    import orjson

    from controlplane.wsgi import application

    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    events: list[dict] = []
    for raw in pages[: max(40, len(pages) // 20)]:
        page = orjson.loads(raw)
        answer = orjson.loads(
            b"".join(application(_environ("POST", "/api/v1/assignments", raw, key), _start_response))
        )
        view = {
            "type": "view",
            "item_id": page["context"]["product_id"],
            "dwell_ms": rng.randint(500, 60_000),
        }
        quoted = [{"type": "impression", "decision_id": d["decision_id"]} for d in answer["decisions"]]
        events += [{"ts": ts, "session_id": page["session_id"]} | f for f in [view, *quoted]]
    run = os.urandom(4).hex()
    batches = []
    for n in range(max(1, len(events) * 4 // EVENTS_PER_BATCH)):
        chunk = [events[(n * EVENTS_PER_BATCH + i) % len(events)] for i in range(EVENTS_PER_BATCH)]
        batch = [e | {"event_id": f"bench-prof-{run}-{n}-{i}"} for i, e in enumerate(chunk)]
        batches.append(orjson.dumps({"events": batch}))
    return batches


def signals_prime(items: list[str], n: int, rng: random.Random) -> None:
    """Sessions ``prof-0 .. prof-{n-1}`` get what ``bench_peak.py``'s shoppers have: 3-6 views
    with dwell, an add-to-cart, a removal for one in five (so the session models do real work)."""
    from experiments.serving.session_store import signals_update

    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    events = []
    for s in range(n):
        session, viewed = f"prof-{s}", rng.sample(items, rng.randint(3, 6))
        base = {"session_id": session, "ts": ts}
        events += [
            base | {"type": "view", "item_id": i, "dwell_ms": rng.randint(1_000, 90_000)} for i in viewed
        ]
        events.append(base | {"type": "add_to_cart", "item_id": viewed[-1]})
        if rng.random() < 0.2:
            events.append(base | {"type": "remove_from_cart", "item_id": viewed[-1]})
    for start in range(0, len(events), 500):
        signals_update(events[start : start + 500])


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


def _start_response(status, headers, exc_info=None):
    if not status.startswith("20"):
        raise SystemExit(f"unexpected {status}")


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


def _forms(n: int, items: list[str], rng: random.Random) -> dict[str, tuple[str, str, list[bytes]]]:
    """(method, path, bodies) of ``n`` requests per endpoint, for the primed shoppers."""
    import orjson

    def bodies(slots: list[str] | None) -> list[bytes]:
        out = []
        for s in range(n):
            body: dict = {"session_id": f"prof-{s}", "context": {"product_id": rng.choice(items)}}
            if slots is not None:
                body["slots"] = slots
            out.append(orjson.dumps(body))
        return out

    return {
        "healthz": ("GET", "/healthz", [b""] * n),
        # The storefront floor: an assignment request for no slot (no model, no decision).
        "assign_0slot": ("POST", "/api/v1/assignments", bodies([])),
        "assign_1slot": ("POST", "/api/v1/assignments", bodies(["pdp_similar"])),
        "assign_12slot": ("POST", "/api/v1/assignments", bodies(None)),
    }


def main() -> int:
    args = _args()

    import django

    django.setup()
    from rest_framework_api_key.models import APIKey

    from controlplane.wsgi import application
    from experiments.models import Item

    SlotServer = _slot_server_switchable()

    _, key = APIKey.objects.create_key(name=f"bench-profile-{int(time.time())}")
    items = list(Item.objects.values_list("item_id", flat=True)[:5000])
    rng = random.Random(7)

    signals_prime(items, args.n, rng)
    forms = _forms(args.n, items, rng)
    forms["events"] = ("POST", "/api/v1/events", _event_batches(forms["assign_12slot"][2], key, rng))
    if args.without_page_memo:
        forms["12slot_no_memo"] = forms["assign_12slot"]

    def run(name: str, part: slice = slice(None)) -> float:
        method, path, payloads = forms[name]
        payloads = payloads[part]
        SlotServer.page_memo_off = name == "12slot_no_memo"
        started = time.process_time()
        for body in payloads:
            b"".join(application(_environ(method, path, body, key), _start_response))
        return (time.process_time() - started) / len(payloads) * 1e6

    for name in forms:  # warm: state, models, connections
        method, path, payloads = forms[name]
        for body in payloads[:200]:
            b"".join(application(_environ(method, path, body, key), _start_response))
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
