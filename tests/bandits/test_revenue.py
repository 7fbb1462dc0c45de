import numpy as np
import pytest

from bandits import BanditError, expected_loss, prob_best
from bandits.revenue import LogNormalPrior, OrderValuePosterior, RevenuePosterior
from bandits.uplift import uplift_vs_control


def _zero_inflated_stats(rng, impressions, purchase_rates, log_means, log_sd):
    """Per-arm running sums of simulated revenue: purchases, sum y, sum log y, sum (log y)^2."""
    purchases = rng.binomial(impressions, purchase_rates)
    sums = []
    for arm, count in enumerate(purchases):
        log_values = rng.normal(log_means[arm], log_sd, size=count)
        sums.append((np.exp(log_values).sum(), log_values.sum(), (log_values**2).sum()))
    revenue, log_sum, log_sq_sum = np.array(sums).T
    return purchases, revenue, log_sum, log_sq_sum


PURCHASE = np.array([0.03, 0.03, 0.033])
LOG_MEAN = np.array([3.5, 3.6, 3.5])
LOG_SD = 0.9
TRUE_VALUE = PURCHASE * np.exp(LOG_MEAN + LOG_SD**2 / 2)  # revenue per impression


@pytest.mark.parametrize(("impressions", "relative_tolerance"), [(20_000, 0.2), (2_000_000, 0.02)])
def test_posterior_mean_converges_to_true_revenue_per_impression(impressions, relative_tolerance):
    rng = np.random.default_rng(8)
    purchases, revenue, log_sum, log_sq_sum = _zero_inflated_stats(
        rng, np.full(3, impressions), PURCHASE, LOG_MEAN, LOG_SD
    )
    post = RevenuePosterior.from_stats(purchases, np.full(3, impressions), revenue, log_sum, log_sq_sum)
    np.testing.assert_allclose(post.mean(), TRUE_VALUE, rtol=relative_tolerance)
    low, high = post.interval(0.99, draws=50_000, seed=1)
    assert np.all((low < TRUE_VALUE) & (TRUE_VALUE < high))


def test_sampled_mean_matches_the_plug_in_mean_when_data_are_plentiful():
    rng = np.random.default_rng(9)
    stats = _zero_inflated_stats(rng, np.full(3, 1_000_000), PURCHASE, LOG_MEAN, LOG_SD)
    post = RevenuePosterior.from_stats(stats[0], np.full(3, 1_000_000), *stats[1:])
    samples = post.sample(200_000, np.random.default_rng(0))
    standard_error = samples.std(axis=0) / np.sqrt(len(samples))
    assert np.all(np.abs(samples.mean(axis=0) - post.mean()) < 4 * standard_error + 1e-4 * post.mean())


def test_nig_update_matches_the_textbook_formulas():
    log_values = np.array([3.0, 3.5, 4.0, 2.5])
    prior = LogNormalPrior(mean=1.0, kappa=2.0, shape=3.0, scale=2.0)
    post = OrderValuePosterior.from_log_stats([4], [log_values.sum()], [(log_values**2).sum()], prior)
    n, xbar = 4, log_values.mean()
    assert post.kappa[0] == pytest.approx(6.0)
    assert post.location[0] == pytest.approx((2.0 * 1.0 + n * xbar) / 6.0)
    assert post.shape[0] == pytest.approx(5.0)
    ss = ((log_values - xbar) ** 2).sum()
    assert post.scale[0] == pytest.approx(2.0 + ss / 2 + 2.0 * n * (xbar - 1.0) ** 2 / (2 * 6.0))


def test_decisions_and_aov_uplift_work_on_the_revenue_posterior():
    rng = np.random.default_rng(10)
    stats = _zero_inflated_stats(rng, np.full(2, 400_000), [0.03, 0.03], [3.5, 3.7], LOG_SD)
    post = RevenuePosterior.from_stats(stats[0], np.full(2, 400_000), *stats[1:])
    assert prob_best(post, draws=50_000, seed=0)[1] > 0.99
    assert np.all(expected_loss(post, draws=50_000, seed=0) >= 0)
    aov = uplift_vs_control(post.aov(), control=0, draws=50_000, seed=0)
    assert aov.ci_low[1] < np.exp(0.2) - 1 < aov.ci_high[1]
    np.testing.assert_allclose(post.observed_aov(), stats[1] / stats[0])


def test_no_purchases_gives_a_finite_prior_driven_posterior():
    post = RevenuePosterior.from_stats([0, 0], [100, 100], [0, 0], [0, 0], [0, 0])
    assert np.all(np.isfinite(post.mean()))
    assert np.all(np.isfinite(post.sample(10_000, np.random.default_rng(0))))
    assert np.all(np.isnan(post.observed_aov()))


@pytest.mark.parametrize("prior", [{"kappa": 0.0}, {"shape": 1.0}, {"scale": -1.0}, {"mean": float("inf")}])
def test_it_rejects_improper_priors(prior):
    with pytest.raises(BanditError):
        LogNormalPrior(**prior)
