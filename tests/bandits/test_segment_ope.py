import numpy as np
import pytest

from bandits import BanditError, ope
from bandits.segment_ope import SegmentLog, leader_policy, segment_policy_value
from bandits.segment_simulation import SegmentSimulationSettings, SegmentWorld, segment_log

WORLD = SegmentWorld(
    rates=np.array([[0.03, 0.06], [0.07, 0.04]]), shares=np.array([0.3, 0.7]), labels=("new", "returning")
)


def test_counts_sum_rewards_and_decisions_per_segment_and_arm():
    log = SegmentLog(
        segment=np.array([0, 0, 1, 1, 1]),
        arm=np.array([1, 1, 0, 1, 0]),
        propensity=np.full(5, 0.5),
        reward=np.array([1.0, 0.0, 1.0, 0.0, 1.0]),
        n_segments=2,
        n_arms=2,
    )
    counts = log.counts()
    np.testing.assert_array_equal(counts.successes, [[0, 1], [2, 0]])
    np.testing.assert_array_equal(counts.trials, [[0, 2], [2, 1]])


def test_point_estimates_are_the_ope_estimators_on_the_policy_tables():
    log = segment_log(
        SegmentSimulationSettings(world=WORLD, impressions=4_000), "thompson", np.random.default_rng(2)
    )
    policy = leader_policy(np.array([1, 0]), 2)
    result = segment_policy_value(log, policy, 0, n_boot=20, seed=1)
    target = policy[log.segment, log.arm]
    assert result.snips.segment_policy.estimate == pytest.approx(
        ope.snips(log.reward, log.propensity, target)
    )
    single = (log.arm == 0).astype(float)
    assert result.snips.single_arm.estimate == pytest.approx(ope.snips(log.reward, log.propensity, single))
    assert result.snips.difference.estimate == pytest.approx(
        result.snips.segment_policy.estimate - result.snips.single_arm.estimate
    )


def test_intervals_cover_the_true_gain_of_the_per_segment_policy():
    # Truth: per-segment 0.3 * 0.06 + 0.7 * 0.07 = 0.067; arm 0 for everyone 0.3 * 0.03 + 0.7 * 0.07 = 0.058.
    log = segment_log(
        SegmentSimulationSettings(world=WORLD, impressions=40_000), "thompson", np.random.default_rng(5)
    )
    result = segment_policy_value(log, leader_policy(np.array([1, 0]), 2), 0, n_boot=300, seed=2)
    for comparison in (result.snips, result.dr):
        assert comparison.segment_policy.low < 0.067 < comparison.segment_policy.high
        assert comparison.single_arm.low < 0.058 < comparison.single_arm.high
        assert comparison.difference.low < 0.009 < comparison.difference.high
        assert comparison.difference.low > 0  # the gain is clear at 40k decisions
    assert result.effective_sample_size[0] > 1_000


def test_bad_policies_and_logs_are_refused():
    log = SegmentLog(np.array([0, 1]), np.array([0, 1]), np.array([0.5, 0.5]), np.array([1.0, 0.0]), 2, 2)
    with pytest.raises(BanditError):
        segment_policy_value(log, np.array([[0.5, 0.6], [1.0, 0.0]]), 0)
    with pytest.raises(BanditError):
        segment_policy_value(log, np.eye(2), 2)
    with pytest.raises(BanditError):
        leader_policy(np.array([0, 2]), 2)
    with pytest.raises(BanditError):
        SegmentLog(np.array([0, 2]), np.array([0, 1]), np.array([0.5, 0.5]), np.array([1.0, 0.0]), 2, 2)
    with pytest.raises(BanditError):
        SegmentLog(np.array([0, 1]), np.array([0, 1]), np.array([0.0, 0.5]), np.array([1.0, 0.0]), 2, 2)
