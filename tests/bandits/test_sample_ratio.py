import numpy as np
import pytest

from bandits import BanditError
from bandits.sample_ratio import sample_ratio_check


def test_it_detects_a_52_48_split_at_large_n():
    check = sample_ratio_check([52_000, 48_000], [0.5, 0.5])
    assert check.mismatch
    assert check.p_value < 1e-30
    assert check.statistic == pytest.approx(160.0)  # (2000^2 / 50000) * 2


def test_it_passes_a_true_50_50_split():
    rng = np.random.default_rng(4)
    p_values = [
        sample_ratio_check(rng.multinomial(100_000, [0.5, 0.5]), [1, 1]).p_value for _ in range(2_000)
    ]
    assert not any(p < 0.001 for p in p_values[:20])
    # Under the null the p-value is uniform: the alarm rate is alpha (binomial MC tolerance).
    alarm_rate = np.mean(np.array(p_values) < 0.05)
    assert alarm_rate == pytest.approx(0.05, abs=3 * np.sqrt(0.05 * 0.95 / 2_000))


def test_uneven_intended_splits_and_arms_meant_to_get_nothing():
    assert not sample_ratio_check([7_020, 2_980], [0.7, 0.3]).mismatch
    assert sample_ratio_check([100, 100, 3], [0.5, 0.5, 0.0]).mismatch
    assert not sample_ratio_check([100, 100, 0], [0.5, 0.5, 0.0]).mismatch


def test_it_rejects_mismatched_inputs():
    with pytest.raises(BanditError):
        sample_ratio_check([1, 2, 3], [0.5, 0.5])
    with pytest.raises(BanditError):
        sample_ratio_check([0, 0], [0.5, 0.5])
