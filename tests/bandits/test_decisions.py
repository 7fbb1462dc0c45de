import numpy as np
import pytest

from bandits import (
    BetaBernoulli,
    expected_loss,
    expected_loss_exact,
    posterior_summary,
    prob_best,
    prob_best_exact,
)

DRAWS = 200_000

CASES = {
    "equal arms": ([100, 100], [1000, 1000]),
    "clear winner": ([100, 160], [1000, 1000]),
    "tiny counts": ([0, 1, 2], [1, 2, 3]),
    "no data": ([0, 0], [0, 0]),
    "ten million trials": ([500_000, 500_300], [10_000_000, 10_000_000]),
    "four arms": ([40, 44, 48, 50], [1000, 1000, 1000, 1000]),
}


@pytest.fixture(params=list(CASES), ids=list(CASES))
def post(request):
    successes, trials = CASES[request.param]
    return BetaBernoulli.from_counts(successes, trials)


def test_prob_best_matches_exact_integration_within_three_standard_errors(post):
    estimate, standard_error = prob_best(post, draws=DRAWS, seed=0, return_se=True)
    exact = prob_best_exact(post)
    # The MC standard error at the exact p, so an arm that never wins in the draws is still judged.
    exact_se = np.sqrt(exact * (1 - exact) / DRAWS)
    assert np.all(np.abs(estimate - exact) <= 3 * np.maximum(exact_se, 1 / DRAWS))
    np.testing.assert_allclose(standard_error, np.sqrt(estimate * (1 - estimate) / DRAWS))
    assert estimate.sum() == pytest.approx(1.0)


def test_expected_loss_matches_exact_integration_within_three_standard_errors(post):
    estimate, standard_error = expected_loss(post, draws=DRAWS, seed=1, return_se=True)
    exact = expected_loss_exact(post)
    assert np.all(np.isfinite(estimate))
    assert np.all(np.abs(estimate - exact) <= 3 * standard_error + 1e-12)


def test_same_seed_gives_the_same_answer_and_rng_is_accepted():
    post = BetaBernoulli.from_counts([10, 12], [100, 100])
    first = prob_best(post, draws=10_000, seed=7)
    np.testing.assert_array_equal(first, prob_best(post, draws=10_000, seed=7))
    np.testing.assert_array_equal(first, prob_best(post, draws=10_000, rng=np.random.default_rng(7)))


def test_summary_uses_the_same_draws_for_both_quantities_across_chunks():
    post = BetaBernoulli.from_counts(np.full(8, 50), np.full(8, 1000))
    summary = posterior_summary(post, draws=600_000, seed=2)  # more than one chunk of draws
    assert summary.draws == 600_000
    assert summary.prob_best.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(summary.prob_best, prob_best_exact(post), atol=4 * summary.prob_best_se.max())


def test_it_refuses_a_seed_and_an_rng_together_and_bad_draws():
    post = BetaBernoulli.from_counts([1, 2], [3, 4])
    with pytest.raises(ValueError, match="either seed or rng"):
        prob_best(post, seed=1, rng=np.random.default_rng(1))
    with pytest.raises(ValueError, match="draws"):
        prob_best(post, draws=0)
