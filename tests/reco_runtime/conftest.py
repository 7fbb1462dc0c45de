"""Shared fixtures: a tiny hand-made catalog and a small synthetic world (built once).

tests/reco_runtime needs no Django: run it with `pytest tests/reco_runtime -p no:django`.
"""

from __future__ import annotations

import numpy as np
import pytest

from reco_runtime.catalog import Catalog
from reco_runtime.interactions import Interactions
from reco_runtime.synthetic import EventLog, World, world_generate, world_history

DAY = 86_400.0
T0 = 1_790_000_000.0


@pytest.fixture(autouse=True)
def _serving_state_fresh():
    """Replaces the Django-side autouse fixture of tests/conftest.py: the runtime has no global state."""
    return


@pytest.fixture(scope="session")
def tiny_catalog() -> Catalog:
    """10 items: 0-4 category 0 (brand 0/1), 5-9 category 1 (brand 2/3)."""
    n = 10
    return Catalog(
        item_ids=np.array([f"p-{i}" for i in range(n)]),
        category=np.array([0] * 5 + [1] * 5),
        brand=np.array([0, 0, 1, 1, 1, 2, 2, 3, 3, 3]),
        price=np.linspace(10, 100, n),
        created_at=np.full(n, T0 - 100 * DAY),
        titles=np.array(
            [
                "red running shoe",
                "blue running shoe",
                "trail running shoe",
                "leather boot",
                "rain boot",
                "coffee mug",
                "tea mug",
                "steel kettle",
                "glass teapot",
                "coffee grinder",
            ]
        ),
    )


def make_interactions(catalog: Catalog, rows: list[tuple[str, int, float, float]]) -> Interactions:
    """rows of (user id, item idx, weight, ts)."""
    users = sorted({r[0] for r in rows})
    index = {u: j for j, u in enumerate(users)}
    return Interactions(
        user_idx=np.array([index[r[0]] for r in rows]),
        item_idx=np.array([r[1] for r in rows]),
        weight=np.array([r[2] for r in rows]),
        ts=np.array([r[3] for r in rows]),
        user_ids=np.array(users),
        n_items=catalog.n_items,
    )


@pytest.fixture(scope="session")
def tiny_interactions(tiny_catalog: Catalog) -> Interactions:
    """Item 0 is the bestseller; 0 and 7 are always bought together; users a* like category 0,
    users b* category 1; item 9 was popular long ago only."""
    rows = []
    for u in range(6):
        rows += [
            (f"a{u}", 0, 8.0, T0 - u * 3600),
            (f"a{u}", 7, 8.0, T0 - u * 3600 + 60),
            (f"a{u}", 1, 1.0, T0 - DAY),
            (f"a{u}", 2, 1.0, T0 - 2 * DAY),
        ]
    for u in range(4):
        rows += [(f"b{u}", 5, 1.0, T0 - DAY), (f"b{u}", 6, 1.0, T0 - DAY + 30), (f"b{u}", 0, 1.0, T0 - DAY)]
    for u in range(8):
        rows += [(f"c{u}", 9, 1.0, T0 - 90 * DAY)]
    return make_interactions(tiny_catalog, rows)


@pytest.fixture(scope="session")
def small_world() -> World:
    return world_generate(n_items=3000, n_users=600, n_categories=12, n_brands=60, dim=8, seed=7)


@pytest.fixture(scope="session")
def small_log(small_world: World) -> EventLog:
    return world_history(small_world, n_sessions=6000, rng=np.random.default_rng(3))


@pytest.fixture(scope="session")
def small_interactions(small_world: World, small_log: EventLog) -> Interactions:
    return small_log.to_interactions(small_world.catalog)


SMALL_PARAMS = {
    "als": {"factors": 16, "iterations": 8},
    "content": {"dim": 16},
    "hybrid": {"generator_params": {"als": {"factors": 16, "iterations": 8}}},
}


@pytest.fixture(scope="session")
def fitted_models(small_world: World, small_interactions: Interactions) -> dict:
    """Every variant fitted on the small world's history."""
    from reco_runtime.models import ALGORITHMS

    return {
        name: cls(**SMALL_PARAMS.get(name, {})).fit(small_interactions, small_world.catalog)
        for name, cls in ALGORITHMS.items()
    }
