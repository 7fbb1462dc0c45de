import numpy as np
import pytest

from bandits import BanditError, ope
from bandits.segment_simulation import (
    SegmentPolicyOutcome,
    SegmentSimulationSettings,
    SegmentWorld,
    regret_ratio,
    segment_log,
    simulate_segments,
)

SHARES = np.array([0.168, 0.112, 0.432, 0.288])  # new / returning 28% / 72% x mobile / desktop 60% / 40%
NEW, RETURNING = np.array([0.03, 0.05, 0.035]), np.array([0.06, 0.045, 0.04])
BY_SEGMENT = np.vstack([NEW * 0.8, NEW * 1.15, RETURNING * 0.8, RETURNING * 1.15])
SAME_EVERYWHERE = np.tile([0.05, 0.055, 0.045], (4, 1))


def run(rates, seed):
    settings = SegmentSimulationSettings(
        world=SegmentWorld(rates=rates, shares=SHARES), impressions=20_000, runs=100, draws=500
    )
    return {outcome.policy: outcome for outcome in simulate_segments(settings, seed=seed)}


def test_per_segment_thompson_beats_plain_thompson_when_the_best_arm_differs_by_segment():
    outcomes = run(BY_SEGMENT, seed=1)
    plain, segment = outcomes["thompson"], outcomes["segment_thompson"]
    difference_se = np.hypot(plain.se, segment.se)
    assert plain.mean - segment.mean > 4 * difference_se


def test_per_segment_thompson_costs_little_when_segments_do_not_matter():
    outcomes = run(SAME_EVERYWHERE, seed=2)
    ratio, se = regret_ratio(outcomes["segment_thompson"], outcomes["thompson"])
    assert ratio < 1.10 + se  # not above the 10% allowance by more than one standard error
    unpooled, unpooled_se = regret_ratio(outcomes["separate_thompson"], outcomes["segment_thompson"])
    assert unpooled - 1 > 3 * unpooled_se  # without pooling every segment learns alone: clearly worse


def test_regret_ratio_has_the_delta_method_standard_error():
    a = SegmentPolicyOutcome("a", np.array([10.0, 12.0, 14.0]))
    b = SegmentPolicyOutcome("b", np.array([20.0, 20.0, 26.0]))
    ratio, se = regret_ratio(a, b)
    assert ratio == pytest.approx(12 / 22)
    assert se == pytest.approx(12 / 22 * np.hypot((2 / np.sqrt(3)) / 12, (np.sqrt(12) / np.sqrt(3)) / 22))


def test_a_logged_run_carries_exact_propensities():
    world = SegmentWorld(rates=BY_SEGMENT, shares=SHARES)
    log = segment_log(
        SegmentSimulationSettings(world=world, impressions=5_000, draws=200),
        "segment_thompson",
        np.random.default_rng(0),
    )
    assert len(log.reward) == 5_000
    assert np.all((log.propensity > 0) & (log.propensity <= 1))
    first_batch = slice(0, 1_000)  # the first batch is an even split
    np.testing.assert_allclose(log.propensity[first_batch], 1 / 3)
    # IPS of the logging policy itself is the plain mean of its rewards
    assert ope.ips(log.reward, log.propensity, log.propensity) == pytest.approx(log.reward.mean())


def test_bad_worlds_are_refused():
    with pytest.raises(BanditError):
        SegmentWorld(rates=np.array([[0.05, 1.2]]), shares=np.array([1.0]))
    with pytest.raises(BanditError):
        SegmentWorld(rates=np.array([[0.05, 0.06]]), shares=np.array([0.5]))
    with pytest.raises(BanditError):
        simulate_segments(
            SegmentSimulationSettings(world=SegmentWorld(rates=BY_SEGMENT, shares=SHARES)), ("x",)
        )
