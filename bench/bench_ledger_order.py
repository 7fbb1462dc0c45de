"""Event intake and posterior lag of one code checkout, in process, for before/after comparisons.

    .venv/bin/python bench/bench_ledger_order.py --code . --database-url postgres://.../db_new
    .venv/bin/python bench/bench_ledger_order.py --code /path/to/old/checkout --database-url .../db_old

Alternate the two in one session and compare ratios: the machine is shared. Each run migrates
its database with the checkout's own code, empties the ledger, makes 12 running experiments
(half of them session-unit) straight in the database, and signs decision tokens itself (no
catalog, no models, no HTTP: what is measured is ``events_record`` and the posterior update).

1. **Intake**: ``--senders`` processes call ``events_record`` with batches of ``--batch`` events
   (per page a view and 4 impressions; clicks, session-matched add-to-carts, purchases) for
   ``--intake-s`` seconds, closed loop, without enqueuing the update: accepted events/s.
2. **Backlog**: a Celery worker (``-c --workers``) applies what the intake phase stored: events/s.
3. **Lag**: the senders offer ``--rate`` events/s open loop for ``--lag-s`` seconds, enqueuing as
   the API does, the worker running; when drained, ``applied_at - received_at`` per event.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

SLOTS = 12
SESSIONS_PER_SENDER = 1_000
PAGES_PER_SESSION = 3
# Per shown item. Like the peak bench, mostly views and impressions; unlike it, some outcomes
# (session-matched add-to-carts and purchases too), whose order is what changed.
CLICK_RATE = 0.03


def _django(code: str, env: dict[str, str]) -> None:
    """Set Django up on ``code``'s modules: ``main`` re-runs this script with PYTHONPATH=code when
    the checkout to measure is not the one the script lives in."""
    os.environ.update(env)
    os.chdir(code)
    import django

    django.setup()


def _env(args) -> dict[str, str]:
    return {
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "CELERY_BROKER_URL": args.broker_url,
        "CELERY_QUEUE": args.queue,
        "DJANGO_SETTINGS_MODULE": "controlplane.settings",
        "DJANGO_ENV": "development",
        "DJANGO_DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "OPENBLAS_NUM_THREADS": "1",
    }


def setup(args) -> list[tuple]:
    """Migrate, empty the ledger, create the experiments; return (slot, experiment, arm ids) per slot."""
    env = _env(args)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=args.code, env=os.environ | env, check=True
    )
    _django(args.code, env)
    from django.db import connection

    from experiments.models import Arm, Experiment, Posterior, Slot, Variant

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE experiments_event, experiments_exposure, experiments_posteriorepoch, "
            "experiments_unitstatistics"
        )
    arms = []
    for n, slot in enumerate(Slot.objects.filter(page="product").order_by("key")[:SLOTS]):
        a, _ = Variant.objects.get_or_create(key=f"{slot.key}-bench-a", slot=slot, algorithm="popularity")
        b, _ = Variant.objects.get_or_create(key=f"{slot.key}-bench-b", slot=slot, algorithm="popularity")
        Experiment.objects.filter(slot=slot).exclude(key=f"bench-{n}").update(status="concluded")
        experiment, _ = Experiment.objects.get_or_create(
            key=f"bench-{n}",
            slot=slot,
            defaults={"status": "running", "randomization_unit": "session" if n % 2 else "request"},
        )
        arm_a, _ = Arm.objects.get_or_create(experiment=experiment, key="A", variant=a, is_control=True)
        arm_b, _ = Arm.objects.get_or_create(experiment=experiment, key="B", variant=b)
        for arm in (arm_a, arm_b):
            Posterior.objects.update_or_create(arm=arm, defaults=dict.fromkeys(_zeroed(Posterior), 0))
        arms.append((slot.id, experiment.id, arm_a.id, arm_b.id))
    connection.close()
    return arms


def _zeroed(model) -> list[str]:
    return [
        f.name
        for f in model._meta.concrete_fields
        if f.get_internal_type() in ("IntegerField", "BigIntegerField", "FloatField", "PositiveIntegerField")
        and not f.primary_key
        and not f.is_relation
    ]


def _sessions(arms: list[tuple], seed: int, n: int) -> list[list[dict]]:
    """Per session, its events in order (event ids filled in at send time)."""
    from django.conf import settings

    from experiments.serving.decision_tokens import (
        DecisionPayload,
        decision_key_new,
        session_hash,
        token_sign,
    )

    rng = random.Random(seed)
    key = settings.DECISION_SIGNING_KEY.encode()
    now = int(time.time())
    sessions = []
    for s in range(n):
        session = f"bench-{seed}-{s}"
        events, cart = [], []
        for _ in range(PAGES_PER_SESSION):
            events.append({"type": "view", "session_id": session, "item_id": f"p-{rng.randrange(5000)}"})
            for slot_id, experiment_id, arm_a, arm_b in rng.sample(arms, 4):
                items = tuple(f"p-{rng.randrange(5000)}" for _ in range(4))
                arm = rng.choice((arm_a, arm_b))
                payload = DecisionPayload(
                    decision_key_new(),
                    slot_id,
                    experiment_id,
                    arm,
                    1,
                    0.5,
                    now,
                    False,
                    session_hash(session),
                    items,
                )
                token = token_sign(payload, key=key)
                events.append({"type": "impression", "session_id": session, "decision_id": token})
                for item in items:
                    if rng.random() < CLICK_RATE:
                        click = {
                            "type": "click",
                            "session_id": session,
                            "decision_id": token,
                            "item_id": item,
                        }
                        events.append(click)
                        if rng.random() < 0.5:
                            events.append({"type": "add_to_cart", "session_id": session, "item_id": item})
                            cart.append(item)
        if cart:
            events.append({"type": "purchase", "session_id": session, "items": cart, "value": 42.0})
        sessions.append(events)
    return sessions


def _batches(sessions: list[list[dict]], size: int):
    """Batches of ``size`` events in session order, cycling for ever."""
    flat = [e for events in sessions for e in events]
    while True:
        for start in range(0, len(flat) - size + 1, size):
            yield flat[start : start + size]


def sender(args, arms, index: int, mode: str, rate_per_s: float, seconds: float, out) -> None:
    _django(args.code, _env(args))
    from datetime import UTC, datetime

    from django.db import connection

    from experiments.services import events as events_service

    if mode == "intake":
        events_service._posterior_update_enqueue = lambda: None
    batches = _batches(_sessions(arms, seed=index + 1000 * args.run_seed, n=SESSIONS_PER_SENDER), args.batch)
    prefix = f"b{args.run_seed}-{mode}-{index}-"
    accepted = sent = 0
    started = time.perf_counter()
    interval = args.batch / rate_per_s if rate_per_s else 0.0
    n = 0
    while True:
        due = started + n * interval
        now = time.perf_counter()
        if now - started >= seconds:
            break
        if interval and due > now:
            time.sleep(due - now)
        ts = datetime.now(UTC).isoformat()
        batch = [dict(e, event_id=f"{prefix}{n}-{i}", ts=ts) for i, e in enumerate(next(batches))]
        accepted += events_service.events_record(events=batch).accepted
        sent += len(batch)
        n += 1
    elapsed = time.perf_counter() - started
    connection.close()
    out.put({"accepted": accepted, "sent": sent, "seconds": elapsed})


def senders_run(args, arms, mode: str, rate: float, seconds: float) -> dict:
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    procs = [
        ctx.Process(
            target=sender, args=(args, arms, i, mode, rate / args.senders if rate else 0.0, seconds, out)
        )
        for i in range(args.senders)
    ]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    accepted = sum(r["accepted"] for r in results)
    return {"accepted": accepted, "events_per_s": round(accepted / max(r["seconds"] for r in results), 1)}


def _sql(args, query: str, params=()) -> list:
    import psycopg

    with psycopg.connect(args.database_url.replace("postgres://", "postgresql://", 1), autocommit=True) as c:
        return c.execute(query, params).fetchall()


def _drain(args, timeout_s: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if not _sql(args, "SELECT 1 FROM experiments_event WHERE applied_at IS NULL LIMIT 1"):
            return time.monotonic() - started
        time.sleep(0.2)
    raise RuntimeError("the worker did not drain the ledger in time")


def worker_start(args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "controlplane", "worker", "-Q", args.queue,
         "-c", str(args.workers), "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
        cwd=args.code, env=os.environ | _env(args), start_new_session=True,
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--code", default=str(Path(__file__).resolve().parent.parent), help="checkout to run")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--queue", default=f"bench-ledger-{os.getpid()}")
    parser.add_argument("--senders", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--intake-s", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=20_000.0)
    parser.add_argument("--lag-s", type=float, default=30.0)
    parser.add_argument("--run-seed", type=int, default=int(time.time()) % 100_000)
    args = parser.parse_args()
    args.code = str(Path(args.code).resolve())
    here = str(Path(__file__).resolve().parents[1])
    search = f"{args.code}{os.pathsep}{here}"
    if args.code != here and os.environ.get("PYTHONPATH") != search:
        # Another checkout: its modules first (this one's bench package after), through the
        # interpreter's own search path.
        script = [sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]]
        os.execve(sys.executable, script, os.environ | {"PYTHONPATH": search})

    arms = setup(args)
    intake = senders_run(args, arms, "intake", 0.0, args.intake_s)
    backlog = _sql(args, "SELECT count(*) FROM experiments_event WHERE applied_at IS NULL")[0][0]
    worker = worker_start(args)
    try:
        _sql(args, "SELECT 1")
        from controlplane.celery import app

        app.send_task("experiments.tasks.posteriors_update_task", queue=args.queue)
        _drain(args, 600)
        # From the first batch's commit to the last's: the worker's start-up is not counted.
        span_s = _sql(
            args, "SELECT extract(epoch FROM max(applied_at) - min(applied_at)) FROM experiments_event"
        )
        span_s = float(span_s[0][0] or 0.0)
        since = _sql(args, "SELECT coalesce(max(id), 0) FROM experiments_event")[0][0]
        load = senders_run(args, arms, "lag", args.rate, args.lag_s)
        _drain(args, 600)
    finally:
        worker.send_signal(signal.SIGTERM)  # warm shutdown: the pool finishes its task
        worker.wait(60)
    lags = sorted(
        float(r[0])
        for r in _sql(
            args,
            "SELECT extract(epoch FROM applied_at - received_at) FROM experiments_event WHERE id > %s",
            [since],
        )
    )

    def pct(q: float) -> float:
        return round(lags[min(len(lags) - 1, int(q / 100 * len(lags)))], 2)

    print(
        json.dumps(
            {
                "code": args.code,
                "database": args.database_url.rsplit("/", 1)[-1],
                "loadavg": [round(x, 2) for x in os.getloadavg()],
                "intake_events_per_s": intake["events_per_s"],
                "backlog_events": backlog,
                "backlog_applied_per_s": round(backlog / span_s, 1) if span_s else None,
                "lag_offered_per_s": args.rate,
                "lag_accepted_per_s": load["events_per_s"],
                "lag_p50_s": pct(50),
                "lag_p99_s": pct(99),
                "lag_max_s": round(lags[-1], 2),
                "lag_events": len(lags),
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
