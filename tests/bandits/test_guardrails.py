import numpy as np
import pytest
from scipy import integrate, stats

from bandits import BanditError, BetaBernoulli
from bandits.guardrails import guardrail_check, guardrail_hold, guardrails_check


def test_prob_worse_matches_the_exact_integral():
    post = BetaBernoulli.from_counts([500, 440], [10_000, 10_000])
    check = guardrail_check(post, control=0, tolerance=0.05, draws=400_000, seed=0)
    a = stats.beta(post.alpha[0], post.beta[0])
    b = stats.beta(post.alpha[1], post.beta[1])
    # P(theta_b < 0.95 theta_a) = integral f_a(x) F_b(0.95 x) dx
    exact, _ = integrate.quad(lambda x: a.pdf(x) * b.cdf(0.95 * x), 0.03, 0.07)
    assert check.prob_worse[1] == pytest.approx(exact, abs=3 * np.sqrt(exact * (1 - exact) / 400_000))
    assert check.prob_worse[0] == 0.0


def test_breach_is_flagged_only_for_a_clearly_harmful_arm():
    post = BetaBernoulli.from_counts([500, 380, 505], [10_000, 10_000, 10_000])
    check = guardrail_check(post, tolerance=0.05, breach_probability=0.95, seed=1)
    np.testing.assert_array_equal(check.breach, [False, True, False])
    assert check.any_breach


def test_lower_is_better_metrics_and_absolute_tolerance():
    returns = BetaBernoulli.from_counts([100, 160], [1_000, 1_000])  # return rate: higher is harm
    check = guardrail_check(returns, tolerance=0.02, relative=False, higher_is_better=False, seed=2)
    assert check.breach[1]


def test_many_guardrails_at_once_are_independent_of_each_other():
    add_to_cart = BetaBernoulli.from_counts([900, 700], [10_000, 10_000])
    returns = BetaBernoulli.from_counts([50, 52], [1_000, 1_000])
    checks = guardrails_check(
        {"add_to_cart": add_to_cart, "return_rate": returns},
        {"add_to_cart": 0.1, "return_rate": 0.5},
        lower_is_better=frozenset({"return_rate"}),
        seed=3,
    )
    assert checks["add_to_cart"].breach[1]
    assert not checks["return_rate"].breach[1]
    assert not checks["return_rate"].higher_is_better
    with pytest.raises(BanditError):
        guardrails_check({"add_to_cart": add_to_cart}, {"revenue": 0.1})


def test_each_metric_can_have_its_own_breach_probability():
    clicks = BetaBernoulli.from_counts([500, 450], [10_000, 10_000])
    checks = guardrails_check(
        {"click": clicks, "purchase": clicks},
        {"click": 0.0, "purchase": 0.0},
        breach_probability={"click": 0.5, "purchase": 0.9999},
        seed=4,
    )
    assert checks["click"].breach[1]
    assert not checks["purchase"].breach[1]
    np.testing.assert_array_equal(checks["click"].prob_worse.round(2), checks["purchase"].prob_worse.round(2))


def test_a_held_arm_gets_the_floor_share_and_the_others_keep_their_proportions():
    held = guardrail_hold(np.array([0.2, 0.6, 0.2]), np.array([False, True, False]), floor=0.15)
    np.testing.assert_allclose(held, [0.475, 0.05, 0.475])
    held = guardrail_hold(np.array([0.1, 0.6, 0.3]), np.array([False, True, False]), floor=0.0)
    np.testing.assert_allclose(held, [0.25, 0.0, 0.75])


def test_holding_with_no_weight_left_elsewhere_splits_the_rest_evenly():
    held = guardrail_hold(np.array([0.0, 1.0, 0.0]), np.array([False, True, False]), floor=0.0)
    np.testing.assert_allclose(held, [0.5, 0.0, 0.5])
    with pytest.raises(BanditError):
        guardrail_hold(np.array([0.5, 0.5]), np.array([True, True]), floor=0.1)
