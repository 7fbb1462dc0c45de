import numpy as np
import pytest

from bandits import BanditError
from bandits.epochs import epoch_estimates


def _drifting_world(seed):
    """Base rate rises from 2% to 6% over 20 epochs while a bandit moves traffic to arm 1 (+10% true)."""
    rng = np.random.default_rng(seed)
    n_epochs, traffic = 20, 50_000
    base = np.linspace(0.02, 0.06, n_epochs)
    rates = np.column_stack([base, base * 1.10])
    share_arm1 = np.linspace(0.1, 0.9, n_epochs)
    trials = np.column_stack([traffic * (1 - share_arm1), traffic * share_arm1]).round()
    successes = rng.binomial(trials.astype(int), rates)
    return successes, trials


def test_stratified_uplift_recovers_the_truth_in_a_drifting_world_and_pooled_does_not():
    successes, trials = _drifting_world(seed=6)
    estimates = epoch_estimates(successes, trials, control=0)
    low, high = estimates.stratified_uplift_ci
    assert low[1] < 0.10 < high[1]
    assert estimates.stratified_uplift[1] == pytest.approx(0.10, abs=0.03)
    assert estimates.pooled_uplift[1] > 0.4  # Simpson's paradox: arm 1 got the good epochs


def test_stratified_interval_covers_the_truth_at_about_its_level():
    covered = []
    for seed in range(100):
        successes, trials = _drifting_world(seed=100 + seed)
        low, high = epoch_estimates(successes, trials).stratified_uplift_ci
        covered.append(low[1] < 0.10 < high[1])
    assert np.mean(covered) == pytest.approx(0.95, abs=3 * np.sqrt(0.95 * 0.05 / 100))


def test_stratified_equals_pooled_under_a_constant_split():
    successes = np.array([[10, 12], [30, 33], [20, 25]])
    trials = np.array([[1_000, 1_000], [1_000, 1_000], [1_000, 1_000]])
    estimates = epoch_estimates(successes, trials)
    np.testing.assert_allclose(estimates.stratified_rate, estimates.pooled_rate)
    np.testing.assert_allclose(estimates.epoch_weights, [1 / 3, 1 / 3, 1 / 3])


def test_epochs_without_traffic_on_every_arm_are_left_out():
    successes = np.array([[10, 0], [30, 33]])
    trials = np.array([[1_000, 0], [1_000, 1_000]])
    estimates = epoch_estimates(successes, trials)
    np.testing.assert_allclose(estimates.epoch_weights, [0.0, 1.0])
    np.testing.assert_allclose(estimates.stratified_rate, [0.030, 0.033])
    with pytest.raises(BanditError):
        epoch_estimates([[1, 0]], [[10, 0]])
