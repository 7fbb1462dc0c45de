import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from bandits import (
    BanditError,
    BetaBernoulli,
    expected_loss_exact,
    expected_loss_exact_two,
    prob_best_exact,
    prob_best_exact_two,
)


def test_two_arm_prob_best_matches_the_closed_form_sum_for_integer_parameters():
    # Evan Miller's closed form: P(theta_B > theta_A)
    #   = sum_{i < a_B} B(a_A + i, b_A + b_B) / ((b_B + i) B(1 + i, b_B) B(a_A, b_A))
    from scipy.special import betaln

    a_a, b_a, a_b, b_b = 13, 90, 19, 85
    i = np.arange(a_b)
    terms = np.exp(betaln(a_a + i, b_a + b_b) - np.log(b_b + i) - betaln(1 + i, b_b) - betaln(a_a, b_a))
    post = BetaBernoulli(alpha=[a_a, a_b], beta=[b_a, b_b])
    assert prob_best_exact_two(post)[1] == pytest.approx(terms.sum(), abs=1e-9)


def test_expected_loss_matches_a_direct_double_integral():
    post = BetaBernoulli(alpha=[3.0, 5.0], beta=[20.0, 25.0])

    def positive_gap(y, x):
        return max(y - x, 0.0) * stats.beta.pdf(x, 3, 20) * stats.beta.pdf(y, 5, 25)

    loss_arm0, _ = integrate.dblquad(positive_gap, 0, 1, 0, 1, epsabs=1e-10)
    assert expected_loss_exact_two(post)[0] == pytest.approx(loss_arm0, abs=1e-8)


def test_k_arm_prob_best_sums_to_one_and_is_symmetric_for_equal_arms():
    post = BetaBernoulli.from_counts([50, 50, 50, 50], [1000, 1000, 1000, 1000])
    np.testing.assert_allclose(prob_best_exact(post), 0.25, atol=1e-8)


def test_exact_integrals_stay_finite_at_ten_million_trials():
    post = BetaBernoulli.from_counts([500_000, 500_300], [10_000_000, 10_000_000])
    prob = prob_best_exact(post)
    loss = expected_loss_exact(post)
    assert np.all(np.isfinite(prob))
    assert np.all(np.isfinite(loss))
    assert prob.sum() == pytest.approx(1.0, abs=1e-8)
    # Normal approximation is excellent here: gap 3e-5, sd of the difference ~9.7e-5.
    sd = np.sqrt(post.variance().sum())
    assert prob[1] == pytest.approx(stats.norm.cdf(3e-5 / sd), abs=1e-3)


def test_two_arm_functions_refuse_other_arm_counts():
    with pytest.raises(BanditError):
        prob_best_exact_two(BetaBernoulli.from_counts([1, 2, 3], [10, 10, 10]))


counts = st.tuples(st.integers(0, 300), st.integers(0, 300)).map(sorted)


@settings(max_examples=60, deadline=None)
@given(arm0=counts, arm1=counts)
def test_more_successes_never_lower_an_arms_prob_best(arm0, arm1):
    (s0, n0), (s1, n1) = arm0, arm1
    before = prob_best_exact_two(BetaBernoulli.from_counts([s0, s1], [n0, n1]))[0]
    one_more_success = prob_best_exact_two(BetaBernoulli.from_counts([s0 + 1, s1], [n0 + 1, n1]))[0]
    assert one_more_success >= before - 1e-9
    if s0 < n0:
        failure_turned_success = prob_best_exact_two(BetaBernoulli.from_counts([s0 + 1, s1], [n0, n1]))[0]
        assert failure_turned_success >= before - 1e-9
