import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bandits import BanditError, BetaBernoulli, allocation_weights, prob_best_exact
from bandits.allocation import top_two_weights


def _post(successes, trials):
    return BetaBernoulli.from_counts(successes, trials)


def test_thompson_weights_are_prob_best():
    post = _post([40, 44, 48, 50], [1000, 1000, 1000, 1000])
    weights = allocation_weights(post, "thompson", draws=200_000, seed=0)
    np.testing.assert_allclose(weights, prob_best_exact(post), atol=4 * np.sqrt(0.25 / 200_000))


def test_top_two_thompson_matches_its_resampling_definition():
    prob = np.array([0.6, 0.3, 0.1])
    # By hand: w_j = b a_j + (1-b) sum_{i != j} a_i a_j / (1 - a_i), b = 0.5.
    expected = [
        0.5 * 0.6 + 0.5 * (0.3 * 0.6 / 0.7 + 0.1 * 0.6 / 0.9),
        0.5 * 0.3 + 0.5 * (0.6 * 0.3 / 0.4 + 0.1 * 0.3 / 0.9),
        0.5 * 0.1 + 0.5 * (0.6 * 0.1 / 0.4 + 0.3 * 0.1 / 0.7),
    ]
    weights = top_two_weights(prob, np.zeros(3), beta=0.5)
    np.testing.assert_allclose(weights, expected)
    assert weights.sum() == pytest.approx(1.0)


def test_top_two_thompson_with_a_certain_leader_sends_the_rest_to_the_runner_up():
    post = _post([500, 100, 300], [1000, 1000, 1000])
    weights = allocation_weights(post, "top_two_thompson", draws=2_000, seed=0)
    np.testing.assert_allclose(weights, [0.5, 0.0, 0.5])


def test_two_arm_top_two_thompson_is_an_even_split():
    weights = allocation_weights(_post([40, 60], [1000, 1000]), "top_two_thompson", seed=0)
    np.testing.assert_allclose(weights, [0.5, 0.5])


def test_floor_keeps_every_live_arm_at_its_share_and_paused_arms_get_nothing():
    post = _post([10, 200, 5, 400], [1000, 1000, 1000, 1000])
    live = np.array([True, True, False, True])
    for policy in ("thompson", "top_two_thompson"):
        weights = allocation_weights(post, policy, floor=0.3, live=live, seed=1)
        assert weights.sum() == pytest.approx(1.0)
        assert weights[2] == 0.0
        assert np.all(weights[live] >= 0.3 / 3 - 1e-12)


def test_burn_in_splits_evenly_until_every_arm_has_enough_trials():
    post = _post([0, 30], [10, 100])
    np.testing.assert_allclose(allocation_weights(post, burn_in=50, trials=[10, 100], seed=0), [0.5, 0.5])
    after = allocation_weights(post, burn_in=10, trials=[10, 100], seed=0)
    assert after[1] > 0.9  # exact P(best) of arm 1 here is ~0.98


def test_fixed_policy_normalises_its_weights_and_drops_paused_arms():
    post = _post([1, 1, 1], [10, 10, 10])
    weights = allocation_weights(post, "fixed", fixed_weights=[2, 1, 1], live=[True, True, False])
    np.testing.assert_allclose(weights, [2 / 3, 1 / 3, 0.0])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"policy": "greedy"},
        {"floor": 1.0},
        {"floor": -0.1},
        {"burn_in": 10},
        {"policy": "fixed"},
        {"policy": "fixed", "fixed_weights": [0, 0]},
        {"live": [False, False]},
        {"live": [True]},
        {"top_two_beta": 1.5},
    ],
)
def test_it_rejects_bad_settings(kwargs):
    with pytest.raises(BanditError):
        allocation_weights(_post([1, 2], [10, 10]), **kwargs)


arm_counts = st.lists(
    st.tuples(st.integers(0, 10**7), st.integers(0, 10**7)).map(sorted), min_size=1, max_size=8
)


@settings(max_examples=80, deadline=None)
@given(
    counts=arm_counts,
    policy=st.sampled_from(["thompson", "top_two_thompson", "fixed"]),
    floor=st.floats(0.0, 0.99),
    seed=st.integers(0, 2**32 - 1),
)
def test_weights_are_a_probability_vector_for_any_counts(counts, policy, floor, seed):
    successes = [s for s, _ in counts]
    trials = [n for _, n in counts]
    n_arms = len(counts)
    weights = allocation_weights(
        _post(successes, trials), policy, floor=floor, fixed_weights=np.ones(n_arms), draws=500, seed=seed
    )
    assert weights.shape == (n_arms,)
    assert np.all(weights >= 0)
    assert weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(weights >= floor / n_arms - 1e-12)


def _simulate(policy, rates, *, batches, batch_size, seed):
    rng = np.random.default_rng(seed)
    successes = np.zeros(len(rates))
    trials = np.zeros(len(rates))
    weights = np.full(len(rates), 1 / len(rates))
    for _ in range(batches):
        weights = allocation_weights(_post(successes, trials), policy, draws=2_000, rng=rng)
        served = rng.multinomial(batch_size, weights)
        successes += rng.binomial(served, rates)
        trials += served
    return weights, _post(successes, trials)


def test_thompson_converges_to_the_best_arm_on_a_long_run():
    rates = np.array([0.03, 0.04, 0.05, 0.06])
    weights, post = _simulate("thompson", rates, batches=150, batch_size=2_000, seed=11)
    assert weights[3] > 0.95
    assert np.argmax(post.alpha + post.beta) == 3


def test_top_two_thompson_keeps_half_on_the_best_arm_and_identifies_it():
    rates = np.array([0.03, 0.04, 0.05, 0.06])
    weights, post = _simulate("top_two_thompson", rates, batches=150, batch_size=2_000, seed=12)
    assert weights[3] == pytest.approx(0.5, abs=0.05)
    assert prob_best_exact(post)[3] > 0.999
    trials = post.alpha + post.beta
    assert trials[3] / trials.sum() == pytest.approx(0.5, abs=0.05)
