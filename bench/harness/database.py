"""The benchmark's own database, Redis dbs and ``VAR_DIR``: environment, migrate, seed, reset.

Never the ``controlplane`` database or Redis db 0/1: by default ``controlplane_bench`` and Redis
dbs 2 (cache, session store) and 3 (broker), ``var/bench`` for models and the demo world.
``BENCH_DATABASE_URL``, ``BENCH_REDIS_URL``, ``BENCH_BROKER_URL`` and ``BENCH_VAR_DIR`` point a
run elsewhere (a second seeded catalog, e.g. 1M items, beside the default one).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import HOST, PYTHON, ROOT, BenchError, say

DEFAULT_DATABASE_URL = f"postgres://postgres@{HOST}:5432/controlplane_bench"


def bench_env(
    *,
    queue: str,
    database_url: str | None = None,
    redis_url: str | None = None,
    broker_url: str | None = None,
    var_dir: Path | None = None,
    refresh_s: float = 1.0,
) -> dict[str, str]:
    """The settings of a benchmark's processes (to merge into ``os.environ``); arguments left out
    come from the ``BENCH_*`` variables, else the defaults above. ``queue`` is the Celery queue
    the run has to itself (its leftovers are dropped by ``broker_queue_drop``)."""
    return {
        "DATABASE_URL": database_url or os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        "REDIS_URL": redis_url or os.environ.get("BENCH_REDIS_URL", f"redis://{HOST}:6379/2"),
        "CELERY_BROKER_URL": broker_url or os.environ.get("BENCH_BROKER_URL", f"redis://{HOST}:6379/3"),
        "VAR_DIR": str(var_dir or os.environ.get("BENCH_VAR_DIR", ROOT / "var" / "bench")),
        "CELERY_QUEUE": queue,
        "CACHE_KEY_PREFIX": queue,
        "SERVING_REFRESH_S": str(refresh_s),
        "DJANGO_ENV": "development",
        "DJANGO_DEBUG": "0",
        "DJANGO_SETTINGS_MODULE": "controlplane.settings",
        "LOG_LEVEL": "WARNING",
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
    }


def database_url_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url", default=None, help="default: BENCH_DATABASE_URL, else controlplane_bench"
    )


def process_env(env: dict[str, str]) -> dict[str, str]:
    """This process's environment with the bench's on top, for a child process."""
    return dict(os.environ) | env


def manage(env: dict[str, str], *argv: str, timeout: float = 600.0) -> str:
    """Run ``manage.py ARGV`` and return its stdout; raise with its stderr on failure."""
    proc = subprocess.run(
        [PYTHON, "manage.py", *argv],
        cwd=ROOT,
        env=process_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise BenchError(f"manage.py {' '.join(argv)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return proc.stdout


def services_check(env: dict[str, str]) -> None:
    """PostgreSQL and Redis answer; the database is created if it is missing."""
    ready = subprocess.run(
        [PYTHON, "bin/services_ready.py", env["DATABASE_URL"]], cwd=ROOT, env=process_env(env), check=False
    )
    if ready.returncode != 0:
        raise BenchError(f"PostgreSQL ({HOST}:5432) or Redis ({HOST}:6379) not reachable: make services-up")


def storefront_key_create(env: dict[str, str], name: str) -> str:
    """A fresh storefront API key, named ``name-<unix time>``."""
    return manage(env, "create_storefront_key", f"{name}-{int(time.time())}").strip().splitlines()[-1]


_PREPARE = """
import sys
from experiments.models import Event, Item
Event.objects.filter(event_id__startswith="bench-").delete()
for item_id in Item.objects.order_by("item_id").values_list("item_id", flat=True).iterator():
    sys.stdout.write("ITEM " + item_id + "\\n")
"""


def demo_seed(env: dict[str, str], *, items: int, sessions: int | None = None) -> float:
    """``seed_demo --items N [--sessions M]``; returns the seconds it took."""
    argv = ["seed_demo", "--items", str(items)] + (["--sessions", str(sessions)] if sessions else [])
    say("database", " ".join(argv))
    started = time.perf_counter()
    manage(env, *argv, timeout=7200)
    return time.perf_counter() - started


def database_setup(
    env: dict[str, str], *, items: int, skip_seed: bool, sessions: int | None = None, key_name: str = "bench"
) -> tuple[str, list[str], float]:
    """Migrate, seed unless ``skip_seed`` finds a seeded demo, delete the bench events of earlier
    runs, create a key; returns (key, catalog item ids, seconds spent seeding)."""
    services_check(env)
    say("database", "migrate")
    manage(env, "migrate", "--noinput", "-v0")
    world = Path(env["VAR_DIR"]) / "demo_world.json"
    seed_s = 0.0
    if skip_seed and world.exists():
        say("database", f"reusing the seeded demo ({world})")
    else:
        if skip_seed:
            say("database", "--skip-seed given but nothing seeded yet: seeding")
        seed_s = demo_seed(env, items=items, sessions=sessions)
    key = storefront_key_create(env, key_name)
    out = manage(env, "shell", "-v0", "-c", _PREPARE)
    catalog = [line[5:] for line in out.splitlines() if line.startswith("ITEM ")]
    if not catalog:
        raise BenchError("the catalog is empty after seeding")
    return key, catalog, seed_s


def connect(env: dict[str, str]):
    """A psycopg connection to the bench database (not autocommit)."""
    import psycopg

    return psycopg.connect(env["DATABASE_URL"].replace("postgres://", "postgresql://", 1), autocommit=False)


def ledger_drain(env: dict[str, str], since: int, timeout: float) -> dict:
    """Wait until no event after id ``since`` is unapplied; how long it took and what is left."""
    started = time.monotonic()
    pending = None
    with connect(env) as conn:
        while time.monotonic() - started < timeout:
            pending = conn.execute(
                "SELECT count(*) FROM experiments_event WHERE id > %s AND applied_at IS NULL", [since]
            ).fetchone()[0]
            conn.commit()
            if pending == 0:
                break
            time.sleep(0.5)
    return {"seconds": round(time.monotonic() - started, 1), "unapplied": pending}


def ledger_state(env: dict[str, str]) -> tuple[int, int]:
    """(unapplied events: the posterior backlog, the serving version)."""
    with connect(env) as conn:
        backlog = conn.execute("SELECT count(*) FROM experiments_event WHERE applied_at IS NULL").fetchone()[
            0
        ]
        version = conn.execute("SELECT serving_version FROM experiments_programsettings").fetchone()
    return int(backlog), int(version[0]) if version else 0


def broker_queue_drop(env: dict[str, str]) -> None:
    """The events endpoint enqueues posterior updates that no worker may consume here: drop the
    bench's own queue and bindings, in the broker database the bench has to itself."""
    code = (
        "import redis, sys; r = redis.Redis.from_url(sys.argv[1]); "
        "keys = list(r.scan_iter(match='*' + sys.argv[2] + '*')); keys and r.delete(*keys)"
    )
    subprocess.run(
        [sys.executable, "-c", code, env["CELERY_BROKER_URL"], env["CELERY_QUEUE"]],
        check=False,
        timeout=30,
        capture_output=True,
    )
