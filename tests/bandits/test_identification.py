import numpy as np
import pytest

from bandits import BanditError
from bandits.identification import bernoulli_kl, chernoff_stop, chernoff_threshold, glr_statistic
from bandits.simulation import SimulationSettings, simulate


def _kl(p, q):
    return p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))


def test_glr_statistic_is_the_smallest_pairwise_chernoff_information_of_the_leader():
    successes = np.array([30.0, 50.0, 45.0])
    trials = np.array([1_000.0, 1_000.0, 900.0])
    leader, statistic = glr_statistic(successes, trials)
    assert leader == 1
    pairs = []
    for other in (0, 2):
        mu_a, mu_b = 0.05, successes[other] / trials[other]
        pooled = (1_000 * mu_a + trials[other] * mu_b) / (1_000 + trials[other])
        pairs.append(1_000 * _kl(mu_a, pooled) + trials[other] * _kl(mu_b, pooled))
    assert statistic == pytest.approx(min(pairs), rel=1e-12)


def test_glr_statistic_is_zero_for_a_tie_or_an_untried_arm_and_kl_handles_the_edges():
    assert glr_statistic(np.array([5.0, 5.0]), np.array([100.0, 100.0]))[1] == 0.0
    assert glr_statistic(np.array([5.0, 0.0]), np.array([100.0, 0.0]))[1] == 0.0
    assert bernoulli_kl(np.array(0.0), np.array(0.5)) == pytest.approx(np.log(2))
    assert bernoulli_kl(np.array(1.0), np.array(0.5)) == pytest.approx(np.log(2))
    with pytest.raises(BanditError):
        glr_statistic(np.array([5.0, 6.0]), np.array([4.0, 10.0]))


def test_chernoff_threshold_is_garivier_kaufmann_proposition_12():
    assert chernoff_threshold(10_000, 0.05, 4) == pytest.approx(np.log(2 * 10_000 * 3 / 0.05))
    stop, pick = chernoff_stop(np.array([[40.0, 120.0], [40.0, 41.0]]), np.full((2, 2), 1_000.0), 0.05)
    np.testing.assert_array_equal(stop, [True, False])
    np.testing.assert_array_equal(pick, [1, 1])


def test_glr_stopping_is_right_at_least_one_minus_delta_where_the_prob_best_rule_is_not():
    # Two close arms, a P(best) >= 0.95 rule checked after every batch: right about 93% of the time
    # (optional stopping). The GLR rule at delta = 0.05 must be right at least 95% of the time.
    delta, runs = 0.05, 150
    settings = SimulationSettings(
        rates=np.array([0.10, 0.12]), runs=runs, batch_size=500, draws=200, delta=delta, epsilon=0.002
    )
    outcomes = {o.policy: o for o in simulate(settings, ("thompson", "top_two_thompson_glr"), seed=2)}
    glr = outcomes["top_two_thompson_glr"]
    assert not glr.capped.any()
    monte_carlo = 2 * np.sqrt(delta * (1 - delta) / runs)
    assert glr.correct.mean() >= 1 - delta - monte_carlo
    assert glr.correct.mean() > outcomes["thompson"].correct.mean()
