"""Revenue at the edges (issue 19): an arm without purchases, one whale order, the leader, and a
check of ordinary data against bayesian_testing's DeltaLognormalDataTest."""

import importlib.util

import numpy as np
import pytest

from bandits import expected_loss, prob_best, stopping_state
from bandits.revenue import (
    LogNormalPrior,
    RevenuePosterior,
    order_value_cap,
    order_value_stats,
    order_value_sums_capped,
)

IMPRESSIONS = np.array([5_000, 5_000])
DRAWS = 200_000


def _order_values(seed: int, n: int, log_mean: float = 3.5, log_sd: float = 0.9) -> np.ndarray:
    return np.exp(np.random.default_rng(seed).normal(log_mean, log_sd, size=n))


def _revenue_posterior(values_per_arm, impressions, history, *, capped: bool = True) -> RevenuePosterior:
    """The decision posterior as the allocation builds it: prior and cap from the shop's history."""
    cap = order_value_cap(history) if capped else float("inf")
    purchases, revenue, log_sum, log_sq_sum = order_value_stats(values_per_arm, cap)
    return RevenuePosterior.from_stats(
        purchases,
        impressions,
        revenue,
        log_sum,
        log_sq_sum,
        order_value_prior=LogNormalPrior.from_values(history),
        value_cap=cap,
    )


def test_an_arm_without_purchases_is_almost_surely_not_best_even_with_the_default_prior():
    good = _order_values(1, 150)
    purchases, revenue, log_sum, log_sq_sum = order_value_stats([np.array([]), good])
    post = RevenuePosterior.from_stats(purchases, IMPRESSIONS, revenue, log_sum, log_sq_sum)
    assert prob_best(post, DRAWS, seed=0)[0] < 0.01
    assert post.mean()[0] < post.mean()[1]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_an_arm_without_purchases_has_p_best_below_one_percent_and_finite_figures(seed):
    good = _order_values(1, 150)
    post = _revenue_posterior([np.array([]), good], IMPRESSIONS, good)
    pbest = prob_best(post, DRAWS, seed=seed)
    loss = expected_loss(post, DRAWS, seed=seed)
    low, high = post.interval(0.95, draws=50_000, seed=seed)
    assert pbest[0] < 0.01
    for figure in (post.mean(), loss, low, high):
        assert np.all(np.isfinite(figure))
    # The empty arm sits at the shop's typical order value times a tiny purchase rate.
    assert post.mean()[0] < 0.05 * post.mean()[1]
    # The good arm's expected loss is bounded by what the empty arm could plausibly earn.
    assert loss[1] < 0.1 * post.mean()[1]


def test_the_leader_is_the_arm_with_the_highest_p_best_not_the_lowest_expected_loss():
    # A vague prior lets the empty arm's rare huge draws inflate the good arm's expected loss.
    good = _order_values(1, 150)
    purchases, revenue, log_sum, log_sq_sum = order_value_stats([np.array([]), good])
    post = RevenuePosterior.from_stats(
        purchases, IMPRESSIONS, revenue, log_sum, log_sq_sum, order_value_prior=LogNormalPrior(kappa=0.01)
    )
    state = stopping_state(post, epsilon=0.01, draws=DRAWS, seed=0, arm_names=["A", "B"])
    assert state.expected_loss[1] > state.expected_loss[0]  # the trap argmin(expected_loss) fell into
    assert state.leader == 1
    assert "B leads" in state.summary


def test_an_arm_below_the_minimum_purchases_can_neither_lead_nor_win():
    few, many = _order_values(2, 12, log_mean=4.5), _order_values(3, 150)
    post = _revenue_posterior([few, many], np.array([400, 5_000]), np.concatenate([few, many]))
    free = stopping_state(post, epsilon=10.0, draws=DRAWS, seed=0)
    assert (free.leader, free.winner) == (0, 0)
    held = stopping_state(
        post, epsilon=10.0, draws=DRAWS, seed=0, successes=[12, 150], min_successes=30, arm_names=["A", "B"]
    )
    assert (held.stop, held.winner, held.leader) == (False, None, 1)
    assert "A cannot lead before 30 successes" in held.summary
    nobody = stopping_state(post, draws=DRAWS, seed=0, successes=[12, 20], min_successes=30)
    assert (nobody.stop, nobody.winner, nobody.leader) == (False, None, None)
    assert "no arm can lead before it has 30 successes" in nobody.summary


def test_one_whale_moves_p_best_by_less_than_the_capped_data_justifies():
    a = _order_values(4, 150)
    b = _order_values(5, 160)
    whale = np.append(b, 100_000.0)
    history = np.concatenate([a, whale])
    before = prob_best(_revenue_posterior([a, b], IMPRESSIONS, history), DRAWS, seed=0)[1]
    uncapped = prob_best(_revenue_posterior([a, whale], IMPRESSIONS, history, capped=False), DRAWS, seed=0)[1]
    capped = prob_best(_revenue_posterior([a, whale], IMPRESSIONS, history), DRAWS, seed=0)[1]
    # What the capped data justify: the whale counted as one order at the cap.
    at_cap = np.append(b, order_value_cap(history))
    justified = prob_best(_revenue_posterior([a, at_cap], IMPRESSIONS, history), DRAWS, seed=0)[1]
    monte_carlo = 4 * np.sqrt(0.25 / DRAWS)
    assert uncapped - before > 0.3  # uncapped, one order decides
    assert capped - before <= justified - before + monte_carlo
    assert capped - before < 0.15


def test_the_cap_is_the_quantile_of_history_and_capped_sums_use_it():
    history = np.arange(1.0, 1001.0)
    assert order_value_cap(history) == pytest.approx(np.quantile(history, 0.995))
    assert order_value_cap([]) == float("inf")
    n, total, log_sum, log_sq = order_value_stats([np.array([10.0, 1_000.0])], cap=100.0)
    assert (n[0], total[0]) == (2, 110.0)
    assert log_sum[0] == pytest.approx(np.log(10) + np.log(100))
    assert log_sq[0] == pytest.approx(np.log(10) ** 2 + np.log(100) ** 2)


def test_the_prior_from_order_values_centres_on_their_log_mean_and_variance():
    values = _order_values(6, 500)
    prior = LogNormalPrior.from_values(values, orders=3)
    logs = np.log(values)
    assert prior.mean == pytest.approx(logs.mean())
    assert prior.scale / (prior.shape - 1) == pytest.approx(logs.var(ddof=1))
    assert prior.kappa == 3


@pytest.mark.skipif(
    importlib.util.find_spec("bayesian_testing") is None, reason="bayesian_testing not installed"
)
def test_ordinary_data_agree_with_bayesian_testing_delta_lognormal():
    from bayesian_testing.experiments import DeltaLognormalDataTest

    values = [_order_values(7, 150), _order_values(8, 160, log_mean=3.35)]
    impressions = np.array([5_000, 5_000])
    prior = LogNormalPrior.from_values(np.concatenate(values))
    purchases, revenue, log_sum, log_sq_sum = order_value_stats(values)
    post = RevenuePosterior.from_stats(
        purchases, impressions, revenue, log_sum, log_sq_sum, order_value_prior=prior
    )
    test = DeltaLognormalDataTest()
    for name, arm, n in zip("AB", values, impressions, strict=True):
        data = np.concatenate([arm, np.zeros(n - len(arm))])
        test.add_variant_data(
            name,
            data.tolist(),
            a_prior_beta=1,
            b_prior_beta=1,
            m_prior=prior.mean,
            a_prior_ig=prior.shape,
            b_prior_ig=prior.scale,
            w_prior=prior.kappa,
        )
    reference_pbest, reference_loss, _ = test.eval_simulation(sim_count=DRAWS, seed=1)
    pbest = prob_best(post, DRAWS, seed=0)
    loss = expected_loss(post, DRAWS, seed=0)
    # Two independent Monte Carlo estimates: the difference has sd sqrt(2 p (1 - p) / DRAWS).
    tolerance = 4 * np.sqrt(2 * pbest * (1 - pbest) / DRAWS)
    np.testing.assert_allclose(pbest, [reference_pbest["A"], reference_pbest["B"]], atol=tolerance.max())
    np.testing.assert_allclose(
        loss, [reference_loss["A"], reference_loss["B"]], rtol=0.05
    )  # heavy-tailed draws: 5%


def test_capping_the_running_sums_matches_capping_every_order():
    values = [_order_values(9, 50), np.append(_order_values(10, 40), [900.0, 5_000.0])]
    cap = 400.0
    _, revenue, log_sum, log_sq = order_value_stats(values)
    above = [v[v > cap] for v in values]
    capped = order_value_sums_capped(revenue, log_sum, log_sq, above, cap)
    expected = order_value_stats(values, cap)[1:]
    for got, want in zip(capped, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)
