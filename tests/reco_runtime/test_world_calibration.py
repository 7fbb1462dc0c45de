"""The synthetic world's legacy baseline sits at the brief's starting point: ~1.8% CTR per module."""

import numpy as np
import pytest

from reco_runtime.synthetic import world_generate, world_history
from reco_runtime.world_calibration import legacy_module_ctr, module_click_probability


def test_a_module_is_clicked_when_any_examined_item_is():
    assert module_click_probability(np.array([0.1])) == pytest.approx(0.1)
    assert module_click_probability(np.array([0.0, 0.1])) == pytest.approx(0.1 * 0.85)


def test_the_legacy_cohort_bestsellers_get_about_1_8_percent_ctr_per_module():
    # The demo's default world (seed_demo --items 20000: 5000 users, 20000 history sessions).
    world = world_generate(n_items=20_000, n_users=5_000, seed=0)
    history = world_history(world, n_sessions=20_000, rng=np.random.default_rng(1))
    ctr, se = legacy_module_ctr(
        world, history.to_interactions(world.catalog), n_shoppers=2_000, rng=np.random.default_rng(5)
    )
    # Monte Carlo error is ~0.02 pp (se); the band is wider because the world's own seed moves
    # the legacy CTR: 1.66-1.83% over seeds 0-3 at this size. 1.5-2.1% is "about 1.8%"; the old
    # world (base -6.1) gave 7.8% here.
    assert se < 0.0005
    assert 0.015 <= ctr <= 0.021
