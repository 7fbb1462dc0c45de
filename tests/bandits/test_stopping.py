import numpy as np
import pytest

from bandits import BanditError, BetaBernoulli, StoppingState, stopping_state


def test_it_stops_confidently_when_one_arm_is_clearly_best():
    post = BetaBernoulli.from_counts([400, 520], [10_000, 10_000])
    state = stopping_state(post, threshold=0.95, epsilon=0.001, seed=0)
    assert isinstance(state, StoppingState)
    assert (state.stop, state.winner, state.reason, state.inconclusive) == (True, 1, "confident", False)
    assert state.summary.startswith("Arm 1 is best with over 99% probability; choosing it now risks")
    assert state.prob_best.shape == state.expected_loss.shape == (2,)


def test_summary_reads_in_percent_and_percentage_points():
    post = BetaBernoulli.from_counts([1_000, 1_070], [20_000, 20_000])
    state = stopping_state(post, threshold=0.9, epsilon=0.001, seed=0)
    assert state.winner == 1
    percent = int(np.floor(state.prob_best[1] * 100))
    points = f"{state.expected_loss[1] * 100:.2g}"
    assert state.summary == (
        f"Arm 1 is best with {percent}% probability; choosing it now risks at most {points} percentage points"
    )


def test_it_continues_while_the_leader_is_not_sure_enough():
    post = BetaBernoulli.from_counts([40, 44], [1000, 1000])
    state = stopping_state(post, seed=0)
    assert (state.stop, state.winner, state.reason) == (False, None, "continue")
    assert state.leader == 1
    assert state.summary.startswith("Keep going: Arm 1 leads")


def test_expected_loss_must_also_be_small():
    post = BetaBernoulli.from_counts([2, 9], [20, 20])  # P(best) high but loss still large
    state = stopping_state(post, threshold=0.95, epsilon=0.0001, seed=0)
    assert state.prob_best[1] > 0.95
    assert state.reason == "continue"


def test_reaching_the_sample_cap_is_reported_as_inconclusive_with_no_winner():
    post = BetaBernoulli.from_counts([100, 100], [2_000, 2_000])
    state = stopping_state(post, max_samples=4_000, trials=[2_000, 2_000], seed=0, arm_names=["A", "B"])
    assert (state.stop, state.winner, state.reason, state.inconclusive) == (True, None, "max_samples", True)
    assert state.summary.startswith("Inconclusive: the sample cap of 4,000 trials is reached")
    assert state.total_trials == 4_000


@pytest.mark.parametrize(
    "kwargs",
    [{"threshold": 1.0}, {"epsilon": 0.0}, {"max_samples": 100}, {"arm_names": ["only one"]}],
)
def test_it_rejects_bad_rules(kwargs):
    with pytest.raises(BanditError):
        stopping_state(BetaBernoulli.from_counts([1, 2], [10, 10]), **kwargs)
