import numpy as np
import pytest

from bandits import BanditError, ope

REWARD = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
LOGGING = np.array([0.5, 0.25, 0.8, 0.5, 0.2])
TARGET = np.array([1.0, 0.5, 0.2, 0.0, 0.6])


def test_ips_and_snips_equal_hand_computed_values():
    # w = [2, 2, 0.25, 0, 3]; sum w r = 2 + 0.25 + 3 = 5.25; sum w = 7.25
    assert ope.ips(REWARD, LOGGING, TARGET) == pytest.approx(5.25 / 5)
    assert ope.snips(REWARD, LOGGING, TARGET) == pytest.approx(5.25 / 7.25)
    np.testing.assert_allclose(ope.importance_weights(LOGGING, TARGET), [2, 2, 0.25, 0, 3])


def test_they_reduce_to_the_plain_mean_when_target_equals_logging():
    assert ope.ips(REWARD, LOGGING, LOGGING) == pytest.approx(REWARD.mean())
    assert ope.snips(REWARD, LOGGING, LOGGING) == pytest.approx(REWARD.mean())


def test_dr_equals_its_formula_and_ips_with_a_zero_model():
    q_hat = np.array([0.6, 0.1, 0.5, 0.2, 0.4])
    v_hat = np.array([0.5, 0.3, 0.4, 0.3, 0.45])
    weights = TARGET / LOGGING
    expected = np.mean(v_hat + weights * (REWARD - q_hat))
    assert ope.dr(REWARD, LOGGING, TARGET, q_hat, v_hat) == pytest.approx(expected)
    assert ope.dr(REWARD, LOGGING, TARGET, np.zeros(5), np.zeros(5)) == pytest.approx(
        ope.ips(REWARD, LOGGING, TARGET)
    )


def test_replay_averages_rewards_where_the_actions_match():
    assert ope.replay(REWARD, [0, 1, 2, 1, 0], [0, 2, 2, 1, 1]) == pytest.approx((1 + 1 + 0) / 3)
    with pytest.raises(BanditError):
        ope.replay(REWARD, [0, 0, 0, 0, 0], [1, 1, 1, 1, 1])


@pytest.mark.parametrize(
    ("reward", "logging", "target"),
    [
        ([1.0], [0.0], [0.5]),
        ([1.0], [1.5], [0.5]),
        ([1.0], [0.5], [-0.1]),
        ([1.0, 0.0], [0.5], [0.5]),
        ([], [], []),
        ([float("nan")], [0.5], [0.5]),
    ],
)
def test_it_rejects_impossible_logs(reward, logging, target):
    with pytest.raises(BanditError):
        ope.ips(reward, logging, target)


def test_snips_is_undefined_when_the_target_never_takes_a_logged_action():
    with pytest.raises(BanditError):
        ope.snips([1.0, 0.0], [0.5, 0.5], [0.0, 0.0])


def _adaptive_log(rng, n_rows, rates):
    """A log from a drifting logging policy whose propensities depend on time (like a bandit's)."""
    n_arms = len(rates)
    t = np.linspace(0.0, 1.0, n_rows)
    logits = np.outer(t, np.arange(n_arms)) * 3.0
    logging_policy = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    actions = (rng.random(n_rows)[:, None] > np.cumsum(logging_policy, axis=1)).sum(axis=1)
    rewards = (rng.random(n_rows) < rates[actions]).astype(float)
    return actions, rewards, logging_policy[np.arange(n_rows), actions]


def test_ips_and_snips_are_unbiased_for_a_target_policy_on_simulated_adaptive_logs():
    rng = np.random.default_rng(2024)
    rates = np.array([0.08, 0.04, 0.02])
    target_policy = np.array([0.7, 0.2, 0.1])
    true_value = float(target_policy @ rates)
    ips_values, snips_values, naive_values = [], [], []
    for _ in range(400):
        actions, rewards, logging = _adaptive_log(rng, 2_000, rates)
        target = target_policy[actions]
        ips_values.append(ope.ips(rewards, logging, target))
        snips_values.append(ope.snips(rewards, logging, target))
        naive_values.append(rewards.mean())
    for values in (ips_values, snips_values):
        standard_error = np.std(values, ddof=1) / np.sqrt(len(values))
        assert abs(np.mean(values) - true_value) < 3 * standard_error + 2e-4  # snips bias is O(1/n)
    assert abs(np.mean(naive_values) - true_value) > 0.02  # the naive mean is far off


def test_dr_is_unbiased_with_a_wrong_reward_model():
    rng = np.random.default_rng(5)
    rates = np.array([0.08, 0.04, 0.02])
    target_policy = np.array([0.2, 0.3, 0.5])
    true_value = float(target_policy @ rates)
    wrong_model = np.array([0.05, 0.05, 0.05])
    values = []
    for _ in range(300):
        actions, rewards, logging = _adaptive_log(rng, 2_000, rates)
        values.append(
            ope.dr(rewards, logging, target_policy[actions], wrong_model[actions], np.full(2_000, 0.05))
        )
    standard_error = np.std(values, ddof=1) / np.sqrt(len(values))
    assert abs(np.mean(values) - true_value) < 3 * standard_error


def test_bootstrap_interval_covers_the_estimate_and_is_reproducible():
    rng = np.random.default_rng(0)
    actions, rewards, logging = _adaptive_log(rng, 5_000, np.array([0.08, 0.04, 0.02]))
    target = np.array([0.7, 0.2, 0.1])[actions]
    first = ope.bootstrap_ci(ope.snips, rewards, logging, target, n_boot=300, seed=1)
    second = ope.bootstrap_ci(ope.snips, rewards, logging, target, n_boot=300, seed=1)
    assert first == second
    assert first.low < first.estimate < first.high
    assert first.n_failed == 0
    # Percentile interval of a near-normal statistic: about +-1.96 standard errors.
    assert first.high - first.low == pytest.approx(2 * 1.96 * first.se, rel=0.2)


def test_bootstrap_counts_resamples_where_the_estimator_is_undefined():
    rewards = np.array([1.0, 0.0, 1.0, 0.0])
    result = ope.bootstrap_ci(
        ope.replay, rewards, np.array([0, 1, 1, 1]), np.zeros(4, int), n_boot=200, seed=3
    )
    assert result.n_failed > 0
    assert result.estimate == 1.0
