import numpy as np
import pytest

from bandits import BanditError, BetaBernoulli
from bandits.nonstationary import discounted_stats, effective_memory, windowed_stats

SUCCESSES = np.array([[10, 20], [30, 40], [50, 60]], dtype=float)  # 3 epochs x 2 arms, oldest first


def test_discounting_weights_recent_epochs_most():
    np.testing.assert_allclose(
        discounted_stats(SUCCESSES, 0.5), 0.25 * SUCCESSES[0] + 0.5 * SUCCESSES[1] + SUCCESSES[2]
    )
    np.testing.assert_allclose(discounted_stats(SUCCESSES, 1.0), SUCCESSES.sum(axis=0))


def test_window_keeps_only_the_last_epochs():
    np.testing.assert_allclose(windowed_stats(SUCCESSES, 2), [80, 100])
    np.testing.assert_allclose(windowed_stats(SUCCESSES, 10), [90, 120])


def test_discounted_counts_track_a_rate_that_changed():
    trials = np.full((40, 1), 1_000.0)
    successes = np.vstack([np.full((30, 1), 20.0), np.full((10, 1), 60.0)])  # 2% then 6%
    pooled = BetaBernoulli.from_counts(successes.sum(axis=0), trials.sum(axis=0))
    forgetting = BetaBernoulli.from_counts(discounted_stats(successes, 0.7), discounted_stats(trials, 0.7))
    assert pooled.mean()[0] < 0.035
    assert forgetting.mean()[0] == pytest.approx(0.06, abs=0.002)
    assert effective_memory(0.7) == pytest.approx(1 / 0.3)


@pytest.mark.parametrize(
    ("function", "argument"), [(discounted_stats, 0.0), (discounted_stats, 1.5), (windowed_stats, 0)]
)
def test_it_rejects_bad_forgetting_settings(function, argument):
    with pytest.raises(BanditError):
        function(SUCCESSES, argument)
