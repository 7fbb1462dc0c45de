"""gunicorn's settings: ``gunicorn controlplane.wsgi`` reads this file from the working directory.

Sync workers, one per core plus one; ``WEB_CONCURRENCY`` (or ``-w``) overrides the count. A sync
worker waits on Redis and PostgreSQL round trips with its core idle, and one spare worker fills
those gaps; a second spare only adds switching (measured at peak, runs alternated:
``bench/notes/2026-12-02-peak.md``).
The workers are gunicorn's sync worker woken one at a time per new connection
(``controlplane/gunicorn_worker.py``); ``WEB_WORKER_CLASS`` (or ``-k``) overrides it.
"""

import os

# One BLAS / OpenMP thread per process, set before anything imports numpy: ``on_starting`` below
# imports it in the master, and forked workers inherit the master's thread pools as configured
# there (``controlplane/wsgi.py`` sets the same, too late for an already imported numpy).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may run on (containers)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


workers = int(os.environ.get("WEB_CONCURRENCY") or _cores() + 1)
# The sync worker, woken one at a time per new connection (see the module); WEB_WORKER_CLASS=sync
# is gunicorn's own.
worker_class = os.environ.get("WEB_WORKER_CLASS") or "controlplane.gunicorn_worker.ExclusiveSyncWorker"


def on_starting(server) -> None:
    """Compile the serving kernels once, in the master, before any worker exists: with a cold
    numba cache (a fresh deployment) every worker would otherwise compile them in its first
    requests, seconds each. With a warm cache this costs a few seconds of start-up."""
    from reco_runtime.warmup import kernels_compile

    try:
        server.log.info("serving kernels ready in %.1f s", kernels_compile())
    except Exception:  # serving still works: kernels then compile on first use
        server.log.exception("could not compile the serving kernels ahead of the workers")


def post_worker_init(worker) -> None:
    """Load the serving state, its models and their compiled kernels before the first request,
    so it is not the one that waits; a database that is not up yet only defers that to it."""
    from experiments.serving.runtime import serving_state

    try:
        serving_state()
    except Exception:
        worker.log.warning("serving state not loaded at start; the first request loads it")
