import numpy as np
import pytest

from bandits import BanditError
from bandits.sequential import msprt_two_proportions

RUNS, LOOKS, BATCH = 2_000, 100, 200  # peeking after every 200 visitors per arm, up to 20k per arm


def _peeked_experiments(rng, rate_a, rate_b):
    looks_a = rng.binomial(BATCH, rate_a, size=(RUNS, LOOKS)).cumsum(axis=1)
    looks_b = rng.binomial(BATCH, rate_b, size=(RUNS, LOOKS)).cumsum(axis=1)
    trials = np.broadcast_to(np.arange(1, LOOKS + 1) * BATCH, (RUNS, LOOKS))
    return looks_a, trials, looks_b, trials


@pytest.mark.parametrize("rate", [0.02, 0.05, 0.3])
def test_type_one_error_stays_below_alpha_when_peeking_after_every_batch(rate):
    rng = np.random.default_rng(21)
    result = msprt_two_proportions(*_peeked_experiments(rng, rate, rate), tau=0.01, alpha=0.05)
    ever_rejected = result.reject.any(axis=1).mean()
    assert ever_rejected < 0.05 + 3 * np.sqrt(0.05 * 0.95 / RUNS)
    covered = ((result.ci_low <= 0) & (result.ci_high >= 0)).all(axis=1).mean()
    assert covered > 0.95 - 3 * np.sqrt(0.05 * 0.95 / RUNS)


def test_naive_peeking_at_a_z_test_would_have_inflated_the_error():
    rng = np.random.default_rng(22)
    s_a, n, s_b, _ = _peeked_experiments(rng, 0.05, 0.05)
    pooled = (s_a + s_b) / (2 * n)
    z = (s_b - s_a) / n / np.sqrt(pooled * (1 - pooled) * 2 / n)
    assert (np.abs(z) > 1.96).any(axis=1).mean() > 0.2


def test_it_detects_a_real_difference_and_the_p_value_only_falls():
    rng = np.random.default_rng(23)
    result = msprt_two_proportions(*_peeked_experiments(rng, 0.05, 0.06), tau=0.01)
    assert result.reject[:, -1].mean() > 0.8
    assert np.all(np.diff(result.p_value, axis=1) <= 0)
    assert np.all(result.ci_low <= result.ci_high + 1e-12)


def test_a_single_look_can_be_given_as_scalars():
    result = msprt_two_proportions(500, 10_000, 650, 10_000)
    assert result.p_value.shape == (1,)
    assert result.reject[0]
    assert result.ci_low[0] < 0.015 < result.ci_high[0]
    with pytest.raises(BanditError):
        msprt_two_proportions(5, 4, 1, 10)


def test_the_confidence_sequence_covers_a_real_difference_at_every_look():
    rng = np.random.default_rng(24)
    result = msprt_two_proportions(*_peeked_experiments(rng, 0.05, 0.06), tau=0.01)
    covered = ((result.ci_low <= 0.01) & (result.ci_high >= 0.01)).all(axis=1).mean()
    assert covered > 0.95 - 3 * np.sqrt(0.05 * 0.95 / RUNS)
