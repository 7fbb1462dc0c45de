import numpy as np
import pytest
from scipy import stats

from bandits import BanditError, BetaBernoulli


def test_it_builds_the_conjugate_posterior_from_counts():
    post = BetaBernoulli.from_counts(successes=[100, 120], trials=[1000, 1000], prior=(1.0, 1.0))
    np.testing.assert_array_equal(post.alpha, [101.0, 121.0])
    np.testing.assert_array_equal(post.beta, [901.0, 881.0])
    assert post.alpha.dtype == np.float64
    assert post.n_arms == 2


def test_mean_and_interval_match_scipy_beta():
    post = BetaBernoulli.from_counts([3, 50], [40, 400], prior=(0.5, 0.5))
    np.testing.assert_allclose(post.mean(), stats.beta.mean(post.alpha, post.beta))
    np.testing.assert_allclose(post.variance(), stats.beta.var(post.alpha, post.beta))
    low, high = post.interval(0.9)
    np.testing.assert_allclose(low, stats.beta.ppf(0.05, post.alpha, post.beta))
    np.testing.assert_allclose(high, stats.beta.ppf(0.95, post.alpha, post.beta))


def test_sample_has_draws_by_arms_shape_and_the_right_mean():
    post = BetaBernoulli.from_counts([10, 200, 0], [100, 1000, 5])
    samples = post.sample(50_000, np.random.default_rng(3))
    assert samples.shape == (50_000, 3)
    standard_error = np.sqrt(post.variance() / 50_000)
    assert np.all(np.abs(samples.mean(axis=0) - post.mean()) < 4 * standard_error)


def test_it_accepts_per_arm_priors_and_fractional_counts():
    post = BetaBernoulli.from_counts([1.5, 2.25], [10.0, 20.5], prior=([2.0, 3.0], 4.0))
    np.testing.assert_allclose(post.alpha, [3.5, 5.25])
    np.testing.assert_allclose(post.beta, [12.5, 22.25])


def test_updated_adds_counts_to_the_posterior():
    post = BetaBernoulli.from_counts([1, 2], [10, 10]).updated([3, 4], [5, 6])
    np.testing.assert_allclose(post.alpha, [5.0, 7.0])
    np.testing.assert_allclose(post.beta, [12.0, 11.0])


@pytest.mark.parametrize(
    ("successes", "trials", "prior"),
    [
        ([5, 1], [4, 10], (1.0, 1.0)),
        ([-1, 1], [4, 10], (1.0, 1.0)),
        ([1, 1], [4], (1.0, 1.0)),
        ([1, float("nan")], [4, 4], (1.0, 1.0)),
        ([1, 1], [4, 4], (0.0, 1.0)),
        ([1, 1], [4, 4], ([1.0, 1.0, 1.0], 1.0)),
        ([1, 1], [4, 4], (1.0,)),
        ([], [], (1.0, 1.0)),
    ],
)
def test_it_rejects_bad_counts_and_priors(successes, trials, prior):
    with pytest.raises(BanditError):
        BetaBernoulli.from_counts(successes, trials, prior=prior)


def test_posterior_arrays_cannot_be_changed_in_place():
    post = BetaBernoulli.from_counts([1, 2], [10, 10])
    with pytest.raises(ValueError, match="read-only"):
        post.alpha[0] = 5.0


def test_informative_prior_is_centred_on_history_and_shrunk_to_the_effective_sample_size():
    a0, b0 = BetaBernoulli.informative_prior(successes=[400, 600], trials=[10_000, 10_000], ess=100)
    assert a0 + b0 == pytest.approx(100.0)
    assert a0 / (a0 + b0) == pytest.approx(1001 / 20_002)


def test_informative_prior_is_never_stronger_than_its_history_and_uniform_without_it():
    a0, b0 = BetaBernoulli.informative_prior(successes=3, trials=10, ess=1000)
    assert a0 + b0 == pytest.approx(12.0)
    assert BetaBernoulli.informative_prior(successes=0, trials=0) == pytest.approx((1.0, 1.0))
    with pytest.raises(BanditError):
        BetaBernoulli.informative_prior(successes=5, trials=3)
