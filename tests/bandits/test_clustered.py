import numpy as np
import pytest

from bandits import BanditError, BetaBernoulli
from bandits.clustered import ClusterSums, tempered_posterior, unit_sums_change
from bandits.clustered_aa import ClusteredAASettings, clustered_aa
from bandits.sequential import msprt_two_proportions


def _clustered_units(rng, units, *, rate=0.05, icc=0.1, mean_decisions=10.0):
    """Per-unit (n, y) with a Beta per-unit propensity: decisions of one unit are correlated."""
    strength = 1.0 / icc - 1.0
    n = 1 + rng.poisson(mean_decisions - 1.0, size=units)
    p = rng.beta(rate * strength, (1.0 - rate) * strength, size=units)
    return n.astype(float), rng.binomial(n, p).astype(float)


def _direct_variance(n, y):
    """The delta-method variance written out over the units, not through the running sums."""
    m, rate = len(n), y.sum() / n.sum()
    return m / (m - 1) * np.sum((y - rate * n) ** 2) / n.sum() ** 2


def test_the_running_sums_give_the_variance_written_out_over_the_units():
    rng = np.random.default_rng(1)
    n, y = _clustered_units(rng, 800)
    arm = rng.integers(0, 3, size=800)
    sums = ClusterSums.from_units(arm, n, y, n_arms=3)
    expected = [_direct_variance(n[arm == k], y[arm == k]) for k in range(3)]
    np.testing.assert_allclose(sums.rate_variance(), expected, rtol=1e-10)


def test_the_delta_method_variance_matches_the_spread_of_the_rate_over_replicated_experiments():
    # Brute force: 4,000 independent experiments of 500 sessions; the empirical variance of the
    # pooled rate is the reference. Its relative standard error is sqrt(2 / 3999) = 2.2%.
    rng = np.random.default_rng(2)
    replicates, units = 4_000, 500
    rates, estimates = np.empty(replicates), np.empty(replicates)
    for r in range(replicates):
        n, y = _clustered_units(rng, units)
        rates[r] = y.sum() / n.sum()
        estimates[r] = ClusterSums.from_units(np.zeros(units), n, y, n_arms=1).rate_variance()[0]
    empirical = rates.var(ddof=1)
    assert estimates.mean() == pytest.approx(empirical, rel=4 * np.sqrt(2 / (replicates - 1)))
    binomial = np.mean(rates * (1 - rates) / (units * 10.0))
    assert empirical > 1.7 * binomial, "the simulated sessions must really be clustered"


def test_the_design_effect_is_kish_s_for_clustered_units_and_one_for_single_decisions():
    rng = np.random.default_rng(3)
    n, y = _clustered_units(rng, 20_000, icc=0.1)
    sums = ClusterSums.from_units(np.zeros(len(n)), n, y, n_arms=1)
    # Kish: deff = 1 + (n_bar - 1) icc for equal sizes; unequal sizes add cv^2 (n_bar (1 + cv^2) - 1) icc.
    n_bar, cv2 = n.mean(), n.var() / n.mean() ** 2
    kish = 1 + (n_bar * (1 + cv2) - 1) * 0.1
    assert sums.design_effect()[0] == pytest.approx(kish, rel=0.08)
    assert sums.effective_trials()[0] == pytest.approx(n.sum() / sums.design_effect()[0])
    ones = np.ones(5_000)
    single = ClusterSums.from_units(np.zeros(5_000), ones, rng.binomial(1, 0.05, 5_000), n_arms=1)
    assert single.design_effect()[0] == pytest.approx(5_000 / 4_999)


def test_the_design_effect_is_one_where_the_variance_is_undefined_or_below_binomial():
    empty = ClusterSums(*([np.zeros(2)] * 6))
    np.testing.assert_array_equal(empty.design_effect(), [1.0, 1.0])
    # Every unit with the same rate: no spread between units, deff below 1 is floored at 1.
    even = ClusterSums.from_units([0, 0, 0, 1], [10, 10, 10, 4], [1, 1, 1, 0], n_arms=2)
    np.testing.assert_array_equal(even.design_effect(), [1.0, 1.0])


def test_the_tempered_posterior_has_the_cluster_robust_variance():
    rng = np.random.default_rng(4)
    n, y = _clustered_units(rng, 3_000)
    sums = ClusterSums.from_units(np.zeros(len(n)), n, y, n_arms=1)
    post = tempered_posterior(sums.successes, sums.trials, sums.design_effect())
    assert post.variance()[0] == pytest.approx(sums.rate_variance()[0], rel=0.01)
    naive = BetaBernoulli.from_counts(sums.successes, sums.trials)
    assert naive.variance()[0] < post.variance()[0] / 1.7


def test_a_design_effect_of_one_is_exactly_the_per_decision_posterior():
    tempered = tempered_posterior([30, 41], [1_000, 990], [1.0, 1.0], prior=(2.0, 3.0))
    plain = BetaBernoulli.from_counts([30, 41], [1_000, 990], prior=(2.0, 3.0))
    np.testing.assert_array_equal(tempered.alpha, plain.alpha)
    np.testing.assert_array_equal(tempered.beta, plain.beta)
    with pytest.raises(BanditError, match="design_effect"):
        tempered_posterior([1], [10], [0.5])


def test_increments_in_any_order_add_up_to_the_sums_of_the_final_units():
    rng = np.random.default_rng(5)
    units = 50
    totals_n, totals_y = np.zeros(units), np.zeros(units)
    running = dict.fromkeys(("units", "trials", "successes", "trials_sq", "successes_sq", "cross"), 0.0)
    for _ in range(400):  # batches: a few units each gain decisions, some of them successes
        touched = rng.choice(units, size=3, replace=False)
        dn = rng.integers(0, 3, size=3).astype(float)
        dy = np.minimum(rng.integers(0, 2, size=3), totals_n[touched] + dn - totals_y[touched])
        change = unit_sums_change(totals_n[touched], totals_y[touched], dn, dy)
        for name in running:
            running[name] += change[name].sum()
        totals_n[touched] += dn
        totals_y[touched] += dy
    expected = ClusterSums.from_units(np.zeros(units), totals_n, totals_y, n_arms=1)
    for name, value in running.items():
        assert value == getattr(expected, name)[0], name


def test_the_msprt_with_unit_design_effects_is_unchanged_and_larger_ones_widen_it():
    args = ([40, 80], [1_000, 2_000], [60, 120], [1_000, 2_000])
    plain = msprt_two_proportions(*args, tau=0.01)
    same = msprt_two_proportions(*args, tau=0.01, design_effect_a=1.0, design_effect_b=[1.0, 1.0])
    np.testing.assert_array_equal(plain.p_value, same.p_value)
    np.testing.assert_array_equal(plain.ci_low, same.ci_low)
    wider = msprt_two_proportions(*args, tau=0.01, design_effect_a=2.0, design_effect_b=2.0)
    assert np.all(wider.p_value >= plain.p_value)
    assert np.all(wider.ci_high - wider.ci_low > plain.ci_high - plain.ci_low)
    with pytest.raises(BanditError, match="design effects"):
        msprt_two_proportions(*args, design_effect_a=0.5)


def test_an_aa_test_with_correlated_sessions_declares_winners_at_the_nominal_rate_only_when_clustered():
    """Same simulated sessions read two ways: per decision (today's posterior) and per unit.

    Longer version with more worlds: bench/bench_clustered_aa.py.
    """
    result = clustered_aa(ClusteredAASettings(runs=1_200, units_per_arm=500), np.random.default_rng(19))
    nominal, alpha = result.nominal_declare, result.settings.alpha
    assert result.mean_design_effect > 1.7
    # P(best) >= 0.95 at the end: the per-decision posterior is overconfident, the tempered one is not.
    assert result.declare_naive.rate > nominal + 6 * result.declare_naive.se
    assert abs(result.declare_clustered.rate - nominal) < 3 * result.declare_clustered.se
    # The always-valid test, read at every one of 20 looks: at most alpha when clustered.
    assert result.msprt_naive.rate > alpha + 3 * result.msprt_naive.se
    assert result.msprt_clustered.rate < alpha
