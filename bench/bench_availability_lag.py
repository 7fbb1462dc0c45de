"""Availability lag: from the answer to a write that marks an item unavailable to the last page
that still shows it, on gunicorn + Redis + PostgreSQL.

Run (2-core machine, PostgreSQL on 127.0.0.1:5432 with trust auth, Redis on 127.0.0.1:6379):

    .venv/bin/python -m bench.bench_availability_lag [--items 20000] [--skip-seed] [--flips 40]
        [--workers 3] [--pollers 4] [--refresh-s 1.0] [--json]

Setup: database ``BENCH_AVAILABILITY_DB`` (default ``cp_availability``), Redis dbs 8 (cache) and 9
(broker), ``VAR_DIR`` ``var/bench-availability``, ``migrate`` and ``seed_demo --items N`` unless
``--skip-seed``, a storefront key, gunicorn with ``--workers`` sync workers. Then, per flip:
a page (12 product-page slots) is asked for, one item it shows is marked unavailable, and
``--pollers`` connections ask for that same page without pause (so every worker answers some);
the lag is from the write's answer to the answer of the last page still showing the item, 0 when
none does (a page answered after the write but begun before it counts). The item is then made
available again and the time until a page shows it again is recorded too.

The write goes through ``PUT /api/v1/items`` when the server has that endpoint (a 404 to an
empty batch means it has not), else through what that endpoint calls: ``Item.available`` updated
and ``items_availability_changed`` in this process. Results on stdout and in
``bench/results/availability-lag-<UTC timestamp>.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import HOST, ROOT, BenchError
from bench.harness.database import bench_env, manage, process_env, services_check, storefront_key_create
from bench.harness.report import percentile, results_write
from bench.harness.server import Server, django_start

QUIET_MARGIN_S = 2.0  # after the refresh interval, how long no page may show the item
GIVE_UP_S = 30.0


def availability_env(refresh_s: float) -> dict[str, str]:
    """This bench's own database (``BENCH_AVAILABILITY_DB``, default ``cp_availability``), Redis
    dbs (default 8 and 9; ``BENCH_REDIS_URL``, ``BENCH_BROKER_URL``) and
    ``var/bench-availability``, shared with ``bench.bench_availability_cpu``."""
    db = os.environ.get("BENCH_AVAILABILITY_DB", "cp_availability")
    return bench_env(
        queue="bench-availability",
        database_url=f"postgres://postgres@{HOST}:5432/{db}",
        redis_url=os.environ.get("BENCH_REDIS_URL", f"redis://{HOST}:6379/8"),
        broker_url=os.environ.get("BENCH_BROKER_URL", f"redis://{HOST}:6379/9"),
        var_dir=ROOT / "var" / "bench-availability",
        refresh_s=refresh_s,
    )


def request(method: str, port: int, path: str, body: dict | None, key: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        headers = {"Content-Type": "application/json", "Authorization": f"Api-Key {key}"}
        connection.request(
            method, path, body=json.dumps(body).encode() if body is not None else None, headers=headers
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def page_items(port: int, key: str, body: dict) -> set[str]:
    status, content = request("POST", port, "/api/v1/assignments", body, key)
    if status != 200:
        raise BenchError(f"assignments answered {status}: {content[:500]!r}")
    return {item["item_id"] for d in json.loads(content)["decisions"] for item in d.get("items", ())}


class Writer:
    """Marks items (un)available through ``PUT /api/v1/items`` if served, else the service."""

    def __init__(self, port: int, key: str) -> None:
        self.port, self.key = port, key
        status, _ = request("PUT", port, "/api/v1/items", {"items": []}, key)
        self.via_api = status != 404

    def set(self, item_id: str, available: bool) -> float:
        """Returns the monotonic time of the write's answer."""
        if self.via_api:
            body = {"items": [{"item_id": item_id, "available": available}]}
            status, content = request("PUT", self.port, "/api/v1/items", body, self.key)
            if status // 100 != 2:
                raise BenchError(f"PUT /api/v1/items answered {status}: {content[:500]!r}")
            return time.monotonic()
        from experiments.models import Item
        from experiments.services.item_availability import items_availability_changed

        Item.objects.filter(item_id=item_id).update(available=available)
        items_availability_changed([item_id])
        return time.monotonic()


class Pollers:
    """``n`` threads asking for one page without pause; records when each answer showed the item."""

    def __init__(self, n: int, port: int, key: str) -> None:
        self.n, self.port, self.key = n, port, key
        self.pages = 0

    def run(self, body: dict, item_id: str, until) -> list[tuple[float, bool]]:
        seen: list[tuple[float, bool]] = []
        lock = threading.Lock()
        stop = threading.Event()

        def poll() -> None:
            while not stop.is_set():
                shown = item_id in page_items(self.port, self.key, body)
                with lock:
                    seen.append((time.monotonic(), shown))
                    self.pages += 1
                    if until(seen):
                        stop.set()

        threads = [threading.Thread(target=poll, daemon=True) for _ in range(self.n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return seen


def flip_once(n: int, items: list[str], rng: random.Random, writer: Writer, pollers: Pollers, quiet_s: float):
    body = {"session_id": f"lag-{n}-{rng.randrange(10**9)}", "context": {"product_id": rng.choice(items)}}
    shown = sorted(page_items(pollers.port, pollers.key, body))
    item = rng.choice(shown)
    written = writer.set(item, False)

    def settled(seen) -> bool:
        last = max((t for t, s in seen if s), default=written)
        now = seen[-1][0]
        if now - written > GIVE_UP_S:
            raise BenchError(f"{item} still served {GIVE_UP_S:.0f} s after it was marked unavailable")
        return now - last > quiet_s

    seen = pollers.run(body, item, settled)
    lag_out = max((t for t, s in seen if s), default=written) - written
    restored = writer.set(item, True)
    seen = pollers.run(body, item, lambda seen: seen[-1][1] or seen[-1][0] - restored > GIVE_UP_S)
    # Another poller may have appended an answer after the one that ended the wait: the first counts.
    back_at = min((t for t, s in seen if s), default=None)
    lag_back = None if back_at is None else back_at - restored
    return item, lag_out, lag_back


def flips_run(env: dict[str, str], args: argparse.Namespace) -> tuple[list[dict], Writer, dict]:
    """Migrate, seed, start gunicorn, flip ``--flips`` items; (per flip, the writer, pages asked)."""
    services_check(env)
    manage(env, "migrate", "--verbosity", "0")
    if not args.skip_seed:
        manage(env, "seed_demo", "--items", str(args.items), timeout=7200)
    key = storefront_key_create(env, "bench-availability")
    server = Server(process_env(env), args.workers, Path(env["VAR_DIR"]) / "gunicorn-availability.log")
    server.start()
    try:
        django_start(env)
        writer = Writer(server.port, key)
        from experiments.models import Item

        items = list(Item.objects.filter(available=True).values_list("item_id", flat=True)[:5000])
        pollers = Pollers(args.pollers, server.port, key)
        rng = random.Random(11)
        quiet_s = args.refresh_s + QUIET_MARGIN_S
        started = time.monotonic()
        results = []
        for n in range(args.flips):
            item, lag_out, lag_back = flip_once(n, items, rng, writer, pollers, quiet_s)
            results.append({"item_id": item, "lag_out_s": round(lag_out, 4), "lag_back_s": lag_back})
            print(
                f"flip {n + 1:3d}/{args.flips}: {item:>10s} out after {lag_out:6.3f} s, back after "
                f"{lag_back if lag_back is None else round(lag_back, 3)} s",
                flush=True,
            )
    finally:
        server.stop()
    pages_per_s = round(pollers.pages / (time.monotonic() - started), 1)
    return results, writer, {"pages": pollers.pages, "pages_per_s": pages_per_s}


def _lags(seconds: list[float], quantiles: tuple[int, ...]) -> dict[str, float | None]:
    out = {f"p{q}": percentile(seconds, q) for q in quantiles} | {"max": max(seconds, default=None)}
    return {name: None if value is None else round(value, 3) for name, value in out.items()}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--skip-seed", action="store_true")
    parser.add_argument("--flips", type=int, default=40)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers (default 3)")
    parser.add_argument("--pollers", type=int, default=4)
    parser.add_argument("--refresh-s", type=float, default=1.0, help="SERVING_REFRESH_S of the servers")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    env = availability_env(args.refresh_s)
    Path(env["VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    try:
        results, writer, pages = flips_run(env, args)
    except BenchError as exc:
        print(f"bench_availability_lag: {exc}", file=sys.stderr)
        return 1
    outs = [r["lag_out_s"] for r in results]
    backs = [r["lag_back_s"] for r in results if r["lag_back_s"] is not None]
    summary = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "write_via": "PUT /api/v1/items"
        if writer.via_api
        else "items_availability_changed (no endpoint yet)",
        "workers": args.workers,
        "pollers": args.pollers,
        "refresh_s": args.refresh_s,
        "flips": len(results),
        **pages,
        "lag_out_s": _lags(outs, (50, 90, 99)),
        "lag_back_s": _lags(backs, (50, 99)) | {"never": len(results) - len(backs)},
        "flipped": results,
    }
    out = results_write("availability-lag", summary)
    brief = {k: v for k, v in summary.items() if k != "flipped"}
    print(json.dumps(brief, indent=1) if args.json else "\n".join(f"{k}: {v}" for k, v in brief.items()))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
