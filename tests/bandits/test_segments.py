import numpy as np
import pytest
from scipy import optimize, stats

from bandits import BanditError, allocation_weights
from bandits.segments import (
    PoolingSettings,
    SegmentCounts,
    pooled_beta_parameters,
    pooling_strength,
    segment_allocation_weights,
    segment_key,
    segment_multipliers,
    segment_posterior,
)

NO_GATE = PoolingSettings(full_pooling_level=None)
AT_5_PERCENT = PoolingSettings(full_pooling_level=0.05)
ARM_CENTRE = PoolingSettings(centre="arm")
ARM_X_SEGMENT = PoolingSettings(centre="arm_x_segment")


def beta_binomial_mle(y, n, low, high):
    """M maximising scipy's beta-binomial likelihood with the mean at the pooled rate (Beta(1, 1) prior)."""
    mu = (1 + y.sum()) / (2 + n.sum())

    def negative(log_m):
        m = np.exp(log_m)
        return -stats.betabinom.logpmf(y, n, m * mu, m * (1 - mu)).sum()

    result = optimize.minimize_scalar(
        negative, bounds=(np.log(low), np.log(high)), method="bounded", options={"xatol": 1e-10}
    )
    return float(np.exp(result.x)), negative


def test_equal_segments_pool_fully_into_the_arms_own_posterior():
    counts = SegmentCounts(
        successes=np.array([[5, 2], [5, 2], [5, 2]]), trials=np.array([[100, 40], [100, 40], [100, 40]])
    )
    post = segment_posterior(counts)
    np.testing.assert_array_equal(post.strength, [300, 120])
    np.testing.assert_array_equal(post.pooling_weight, np.ones((3, 2)))
    for segment in range(3):  # Beta(1 + 15, 1 + 285) and Beta(1 + 6, 1 + 114): the pooled posterior
        np.testing.assert_allclose(post.segment(segment).alpha, [16, 7])
        np.testing.assert_allclose(post.segment(segment).beta, [286, 115])
    np.testing.assert_allclose(post.pooled.alpha, [16, 7])


def test_strength_is_the_beta_binomial_maximum_likelihood_of_scipy():
    y, n = np.array([44.0, 63.0, 27.0, 60.0]), np.full(4, 1000.0)
    expected, _ = beta_binomial_mle(y, n, 2.0, n.sum())
    assert pooling_strength(y, n, NO_GATE) == pytest.approx(expected, rel=1e-5)
    assert pooling_strength(y, n, AT_5_PERCENT) == pytest.approx(expected, rel=1e-5)  # passes that gate
    assert pooling_strength(y, n, PoolingSettings()) == 4_000  # not the default 0.001 one


def test_large_segments_keep_their_own_rates():
    counts = SegmentCounts(successes=np.array([[1_000.0], [5_000.0]]), trials=np.array([[1e5], [1e5]]))
    post = segment_posterior(counts, ARM_CENTRE)
    m = float(post.strength[0])
    assert m == pytest.approx(
        beta_binomial_mle(counts.successes[:, 0], counts.trials[:, 0], 2.0, 2e5)[0], rel=1e-5
    )
    # alpha = a0 + y_s + (M / N_rest) Y_rest, beta likewise (module docstring)
    np.testing.assert_allclose(post.alpha[:, 0], [1 + 1_000 + m / 1e5 * 5_000, 1 + 5_000 + m / 1e5 * 1_000])
    np.testing.assert_allclose(
        post.beta[:, 0], [1 + 99_000 + m / 1e5 * 95_000, 1 + 95_000 + m / 1e5 * 99_000]
    )
    np.testing.assert_allclose(post.mean()[:, 0], [0.01, 0.05], atol=1e-4)  # M ~ 60 against 100k trials


def test_a_segment_unlike_any_other_keeps_only_min_strength_of_the_others():
    # Rates 0 and 1: the likelihood grows as M -> 0, so M stops at min_strength = 2 and lambda = 2 / 100.
    post = segment_posterior(
        SegmentCounts(successes=np.array([[0.0], [100.0]]), trials=np.array([[100.0], [100.0]])), ARM_CENTRE
    )
    assert post.strength[0] == pytest.approx(2.0, rel=1e-6)
    np.testing.assert_allclose(post.alpha[:, 0], [1 + 0 + 0.02 * 100, 1 + 100 + 0], rtol=1e-6)
    np.testing.assert_allclose(post.beta[:, 0], [1 + 100 + 0, 1 + 0 + 0.02 * 100], rtol=1e-6)


def test_full_pooling_stays_unless_the_boundary_likelihood_ratio_test_rejects_it():
    y, n = np.array([50.0, 70.0]), np.array([1000.0, 1000.0])
    split, negative = beta_binomial_mle(y, n, 2.0, 2000.0)
    assert pooling_strength(y, n, NO_GATE) == pytest.approx(split, rel=1e-5)
    mu = 121 / 2002
    gain = -negative(np.log(split)) - stats.binom.logpmf(y, n, mu).sum()  # against no dispersion
    assert 0 < gain < stats.chi2.isf(0.10, 1) / 2  # not significant at 5% (50:50 chi2_0 : chi2_1)
    assert AT_5_PERCENT.gate == pytest.approx(stats.chi2.isf(0.10, 1) / 2)
    assert PoolingSettings().gate == pytest.approx(stats.chi2.isf(0.002, 1) / 2)
    assert pooling_strength(y, n, AT_5_PERCENT) == 2000.0


def test_a_segment_that_lifts_every_arm_alike_is_pooled_toward_arm_times_segment():
    # Returning shoppers click 1.5x as often on both arms; arm 1 is 2x arm 0 in both segments.
    counts = SegmentCounts(successes=np.array([[400, 800], [600, 1_200]]), trials=np.full((2, 2), 10_000))
    multipliers = segment_multipliers(counts.successes, counts.trials, ARM_X_SEGMENT)
    assert multipliers[1] / multipliers[0] == pytest.approx(1.5, rel=1e-3)
    post = segment_posterior(counts, ARM_X_SEGMENT)
    np.testing.assert_array_equal(post.strength, [20_000, 20_000])  # no interaction: full pooling
    np.testing.assert_allclose(post.mean(), [[0.04, 0.08], [0.06, 0.12]], rtol=2e-3)
    # Pooled toward the arm's rate alone, the same data look like dispersion and the segments split.
    assert np.all(segment_posterior(counts, ARM_CENTRE).strength < 20_000)
    np.testing.assert_array_equal(segment_multipliers(counts.successes, counts.trials, ARM_CENTRE), [1, 1])


def test_an_arm_with_data_in_one_segment_only_pools_fully():
    assert pooling_strength(np.array([3.0, 0.0]), np.array([50.0, 0.0]), NO_GATE) == 50.0
    post = segment_posterior(SegmentCounts(successes=np.zeros((2, 2)), trials=np.zeros((2, 2))))
    np.testing.assert_array_equal(post.alpha, np.ones((2, 2)))


def test_batched_parameters_equal_one_experiment_at_a_time():
    rng = np.random.default_rng(4)
    trials = rng.integers(0, 2_000, size=(5, 4, 3)).astype(float)
    successes = rng.binomial(trials.astype(int), rng.uniform(0.02, 0.1, size=(5, 4, 3))).astype(float)
    alpha, beta, strength, _ = pooled_beta_parameters(successes, trials, PoolingSettings())
    for run in range(5):
        post = segment_posterior(SegmentCounts(successes=successes[run], trials=trials[run]))
        np.testing.assert_allclose(alpha[run], post.alpha)
        np.testing.assert_allclose(beta[run], post.beta)
        np.testing.assert_allclose(strength[run], post.strength)


def test_allocation_is_the_allocation_rule_per_segment_and_each_row_sums_to_one():
    counts = SegmentCounts(
        successes=np.array([[30, 60, 40], [90, 45, 40]]),
        trials=np.array([[1_000] * 3, [1_000] * 3]),
        labels=("new", "returning"),
    )
    post = segment_posterior(counts)
    weights = segment_allocation_weights(post, floor=0.1, draws=20_000, seed=3)
    assert weights.shape == (2, 3)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert weights.min() >= 0.1 / 3 - 1e-12
    assert weights[0].argmax() == 1
    assert weights[1].argmax() == 0
    generator = np.random.default_rng(3)
    first = allocation_weights(post.segment(0), floor=0.1, draws=20_000, rng=generator)
    np.testing.assert_array_equal(weights[0], first)  # same rule, same random stream
    even = segment_allocation_weights(post, burn_in=5_000, trials=counts.trials.sum(axis=0), seed=1)
    np.testing.assert_allclose(even, 1 / 3)


def test_segment_key_names_every_request_once():
    assert (
        segment_key({"device": "mobile", "history": "new"}, ("history", "device"))
        == "history=new|device=mobile"
    )
    assert segment_key({"device": "mobile"}, ("device", "cohort")) == "device=mobile|cohort=unknown"
    assert segment_key({"device": "mobile"}, ()) == "all"


@pytest.mark.parametrize(
    ("successes", "trials", "labels"),
    [
        ([[1, 2]], [[3]], ()),
        ([[4, 0]], [[3, 3]], ()),
        ([[1, 1], [1, 1]], [[3, 3], [3, 3]], ("a", "a")),
        ([1, 2], [3, 3], ()),
    ],
)
def test_bad_counts_are_refused(successes, trials, labels):
    with pytest.raises(BanditError):
        SegmentCounts(successes=np.array(successes), trials=np.array(trials), labels=labels)


def test_bad_settings_are_refused():
    with pytest.raises(BanditError):
        PoolingSettings(min_strength=0)
    with pytest.raises(BanditError):
        PoolingSettings(full_pooling_level=1.5)
    with pytest.raises(BanditError):
        PoolingSettings(centre="segment")
