"""Compile the serving kernels before any process serves, so no request pays for compilation.

numba compiles a kernel per argument type on first use and caches the machine code on disk;
a cold cache (a fresh deployment, a changed kernel) costs seconds per process. ``kernels_compile``
fits every variant on a tiny synthetic world, saves and loads it as serving does (read-only
memory-mapped arrays, which are a type of their own to the kernels) and answers one request with
each (``Recommender.warm``): every kernel the web processes will run is then in the on-disk
cache. Run it once before the workers start (``gunicorn.conf.py`` does, in the master process);
with a warm cache it takes a few seconds, mostly fitting.

    .venv/bin/python -m reco_runtime.warmup
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from reco_runtime.models import ALGORITHMS
from reco_runtime.models.base import Recommender
from reco_runtime.synthetic import world_generate, world_history

# Small enough to fit in about a second, large enough for every code path (IVF clusters,
# neighbour lists, several categories and brands).
_PARAMS: dict[str, dict[str, Any]] = {
    "als": {"factors": 8, "iterations": 2},
    "content": {"dim": 8, "min_df": 1},
    "hybrid": {"generator_params": {"als": {"factors": 8, "iterations": 2}}},
}


def kernels_compile(directory: Path | None = None) -> float:
    """Fit, save, load and warm every variant once; return the seconds it took."""
    started = time.perf_counter()
    world = world_generate(n_items=400, n_users=120, n_categories=6, n_brands=20, dim=8, seed=1)
    interactions = world_history(world, n_sessions=600, rng=np.random.default_rng(2)).to_interactions(
        world.catalog
    )
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        for name, cls in ALGORITHMS.items():
            model = cls(**_PARAMS.get(name, {})).fit(interactions, world.catalog)
            model.save(Path(scratch) / name)
            Recommender.load(Path(scratch) / name, world.catalog).warm()
    return time.perf_counter() - started


if __name__ == "__main__":
    print(f"serving kernels compiled or found in the cache in {kernels_compile():.1f} s")
