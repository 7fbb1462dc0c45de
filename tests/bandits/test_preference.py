from fractions import Fraction

import numpy as np
import pytest
from scipy import integrate, stats

from bandits import BanditError
from bandits.preference import PreferencePosterior, preference_sequential_test
from bandits.stopping import preference_stopping_state


@pytest.mark.parametrize(
    ("wins_a", "wins_b", "exact"),
    [
        (0, 0, Fraction(1, 2)),
        (1, 0, Fraction(3, 4)),  # Beta(2, 1), density 2p: 1 - 1/4
        (2, 0, Fraction(7, 8)),  # Beta(3, 1): 1 - 1/8
        (2, 1, Fraction(11, 16)),  # Beta(3, 2): P(Binomial(4, 1/2) <= 2)
        (1, 2, Fraction(5, 16)),
    ],
)
def test_prob_a_preferred_matches_hand_computed_beta_tails(wins_a, wins_b, exact):
    post = PreferencePosterior(wins_a=wins_a, wins_b=wins_b)
    assert post.prob_a_preferred() == pytest.approx(float(exact), abs=1e-14)
    assert post.prob_preferred().sum() == pytest.approx(1.0)


def test_prob_a_preferred_matches_scipy_at_large_counts():
    post = PreferencePosterior(wins_a=5_210, wins_b=4_990, ties=90_000)
    assert post.prob_a_preferred() == pytest.approx(stats.beta(5_211, 4_991).sf(0.5), rel=1e-10)
    low, high = post.interval(0.9)
    assert low == pytest.approx(stats.beta(5_211, 4_991).ppf(0.05), rel=1e-10)
    assert high == pytest.approx(stats.beta(5_211, 4_991).ppf(0.95), rel=1e-10)
    assert post.decisions == 100_200


@pytest.mark.parametrize(("wins_a", "wins_b"), [(0, 0), (3, 7), (60, 45), (2_000, 2_100)])
def test_expected_loss_matches_quadrature(wins_a, wins_b):
    post = PreferencePosterior(wins_a=wins_a, wins_b=wins_b)
    density = stats.beta(post.alpha, post.beta).pdf
    loss_a = integrate.quad(lambda p: (1 - 2 * p) * density(p), 0, 0.5, epsabs=1e-13)[0]
    loss_b = integrate.quad(lambda p: (2 * p - 1) * density(p), 0.5, 1, epsabs=1e-13)[0]
    assert post.expected_loss() == pytest.approx([loss_a, loss_b], abs=1e-10)


def test_it_refuses_negative_counts_or_an_improper_prior():
    with pytest.raises(BanditError):
        PreferencePosterior(wins_a=-1, wins_b=0)
    with pytest.raises(BanditError):
        PreferencePosterior(wins_a=1, wins_b=0, prior=(0.0, 1.0))


def _tau_to_h(tau):
    return (1 / (4 * tau * tau) - 1) / 2


def test_the_likelihood_ratio_matches_the_hand_computed_mixture():
    tau = 0.1
    h = _tau_to_h(tau)
    result = preference_sequential_test([1, 2, 2], [0, 0, 1], tau=tau)
    # one win: no evidence under a symmetric mixture; two wins: 4 h (h + 1) / (2h (2h + 1))
    # two wins and a loss: 8 B(h + 2, h + 1) / B(h, h) = 8 h^2 (h + 1) / (2h (2h + 1) (2h + 2))
    expected = [1.0, 2 * (h + 1) / (2 * h + 1), 8 * h * h * (h + 1) / (2 * h * (2 * h + 1) * (2 * h + 2))]
    assert np.exp(result.log_likelihood_ratio) == pytest.approx(expected, rel=1e-12)
    assert result.share.tolist() == [1.0, 1.0, pytest.approx(2 / 3)]


RUNS, LOOKS, BATCH = 2_000, 200, 25  # a look after every 25 non-tie decisions, up to 5,000


def _peeked(rng, share):
    wins_a = rng.binomial(BATCH, share, size=(RUNS, LOOKS)).cumsum(axis=1)
    return wins_a, np.arange(1, LOOKS + 1) * BATCH - wins_a


@pytest.mark.parametrize("tau", [0.02, 0.05, 0.2])
def test_type_one_error_stays_below_alpha_when_peeking_after_every_batch(tau):
    result = preference_sequential_test(
        *_peeked(np.random.default_rng(31), 0.5), tau=tau, alpha=0.05, interval=False
    )
    assert np.isnan(result.ci_low).all()
    assert result.reject.any(axis=1).mean() < 0.05 + 3 * np.sqrt(0.05 * 0.95 / RUNS)
    assert np.all(np.diff(result.p_value, axis=1) <= 0)


def test_naive_peeking_at_the_posterior_would_have_inflated_the_error():
    wins_a, wins_b = _peeked(np.random.default_rng(32), 0.5)
    prob_a = stats.beta(1 + wins_a, 1 + wins_b).sf(0.5)
    assert ((prob_a > 0.975) | (prob_a < 0.025)).any(axis=1).mean() > 0.2


def test_the_confidence_sequence_covers_the_true_share_at_every_look_and_detects_it():
    result = preference_sequential_test(*_peeked(np.random.default_rng(33), 0.55), tau=0.05)
    covered = ((result.ci_low <= 0.55) & (result.ci_high >= 0.55)).all(axis=1).mean()
    assert covered > 0.95 - 3 * np.sqrt(0.05 * 0.95 / RUNS)
    assert result.reject[:, -1].mean() > 0.9
    assert np.all((result.ci_low <= result.share) & (result.share <= result.ci_high))


def test_the_confidence_sequence_ends_are_where_the_likelihood_ratio_crosses_one_over_alpha():
    tau, alpha = 0.05, 0.05
    result = preference_sequential_test(300, 200, tau=tau, alpha=alpha)
    h = _tau_to_h(tau)
    log_marginal = stats.betabinom(500, h, h).logpmf(300) - stats.binom(500, 0.5).logpmf(300)
    for end in (result.ci_low[0], result.ci_high[0]):
        log_lr_at_end = log_marginal + 500 * np.log(0.5) - (300 * np.log(end) + 200 * np.log1p(-end))
        assert log_lr_at_end == pytest.approx(np.log(1 / alpha), abs=1e-9)
    empty = preference_sequential_test(0, 0)
    assert (empty.ci_low[0], empty.ci_high[0], empty.p_value[0]) == (0.0, 1.0, 1.0)


def test_it_refuses_a_mixing_scale_outside_the_unit_interval():
    with pytest.raises(BanditError):
        preference_sequential_test(1, 1, tau=0.5)
    with pytest.raises(BanditError):
        preference_sequential_test([1, 2], [1], tau=0.1)


def test_a_clear_preference_stops_with_a_winner_and_says_so():
    state = preference_stopping_state(
        PreferencePosterior(wins_a=180, wins_b=120, ties=2_700), arm_names=["Old", "New"]
    )
    assert state.stop
    assert state.winner == 0
    assert state.reason == "confident"
    assert state.prob_best[0] == pytest.approx(stats.beta(181, 121).sf(0.5))
    assert state.total_trials == 3_000
    assert state.summary.startswith(
        "Old is preferred with over 99% probability (3,000 decisions, 90.0% ties)"
    )


def test_an_open_preference_continues_and_hits_the_cap_inconclusive():
    post = PreferencePosterior(wins_a=52, wins_b=48, ties=900)
    state = preference_stopping_state(post)
    assert not state.stop
    assert state.reason == "continue"
    assert state.leader == 0
    assert "Keep going: Arm 0 leads with 65% probability of being preferred" in state.summary
    capped = preference_stopping_state(post, max_decisions=1_000)
    assert capped.stop
    assert capped.inconclusive
    assert capped.winner is None
    assert capped.summary.startswith("Inconclusive: the cap of 1,000 decisions is reached")


def test_a_large_loss_keeps_it_going_despite_the_probability():
    post = PreferencePosterior(wins_a=4, wins_b=0)  # P(A preferred) 31/32, loss 1/192
    assert post.prob_a_preferred() == pytest.approx(31 / 32)
    assert post.expected_loss()[0] == pytest.approx(1 / 192)
    assert preference_stopping_state(post, epsilon=0.001).reason == "continue"
    assert preference_stopping_state(post, epsilon=0.01).reason == "confident"
    assert preference_stopping_state(PreferencePosterior(0, 0)).summary.count("–") == 1
