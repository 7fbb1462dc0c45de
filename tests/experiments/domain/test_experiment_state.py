import pytest

from experiments.domain.experiment_state import experiment_state, measured_text, threshold_text
from tests.experiments.overview_helpers import KEEP_GOING, READY

KEEP = KEEP_GOING
CAPPED = {
    "stop": True,
    "reason": "max_samples",
    "winner": None,
    "inconclusive": True,
    "guardrail_breached": False,
}
WINNER_BREACHED = {**READY, "guardrail_breached": True}


def state(**kwargs):
    args = {"status": "running", "stopping": KEEP, "threshold": 0.95, "leader_prob_best": 0.56} | kwargs
    result = experiment_state(**args)
    return result.state, result.phrase


def test_a_running_experiment_short_of_its_threshold_keeps_going_with_both_figures():
    assert state() == ("keep_going", "keep going: needs 95%, has 56.0%")


def test_a_leader_just_under_the_threshold_never_reads_as_reaching_it():
    assert state(leader_prob_best=0.94996) == ("keep_going", "keep going: needs 95%, has 94.9%")


def test_a_leader_past_the_threshold_whose_risk_is_too_high_says_so():
    assert state(leader_prob_best=0.97) == ("keep_going", "keep going: has 97.0%, risk too high")


def test_a_running_experiment_before_its_first_allocation_has_no_decisions_yet():
    assert state(stopping={}, leader_prob_best=None) == ("keep_going", "keep going: no decisions yet")


def test_a_confident_stop_is_ready_to_conclude():
    assert state(stopping=READY, leader_prob_best=0.99) == ("ready", "ready to conclude")


def test_the_sample_cap_without_a_winner_is_inconclusive():
    assert state(stopping=CAPPED) == ("inconclusive", "inconclusive at the sample cap")


def test_a_winner_that_breached_a_guardrail_is_not_ready():
    assert state(stopping=WINNER_BREACHED, breached_arms=["als-v3 on click"]) == (
        "guardrail_breached",
        "guardrail breached by the winner: als-v3 on click",
    )


def test_another_arm_breaching_shows_while_the_test_keeps_going_but_not_over_a_ready_winner():
    assert state(breached_arms=["pop on add_to_cart"]) == (
        "guardrail_breached",
        "guardrail breached: pop on add_to_cart",
    )
    assert state(stopping=READY, breached_arms=["pop on add_to_cart"])[0] == "ready"
    assert state(stopping=CAPPED, breached_arms=["pop on add_to_cart"])[0] == "guardrail_breached"


def test_a_sample_ratio_mismatch_outranks_everything_a_running_experiment_says():
    expected = ("srm", "sample ratio mismatch: do not trust the results")
    assert state(stopping=READY, srm_mismatch=True) == expected
    assert state(stopping=WINNER_BREACHED, srm_mismatch=True, breached_arms=["x on click"]) == expected


@pytest.mark.parametrize(
    ("status", "winner", "expected"),
    [
        ("draft", None, ("draft", "draft: not started")),
        ("paused", None, ("paused", "paused: the slot serves its default")),
        ("concluded", "als-v3", ("concluded", "concluded: als-v3 won")),
        ("concluded", None, ("concluded", "concluded without a winner")),
    ],
)
def test_experiments_that_serve_nothing_of_their_own_show_their_status(status, winner, expected):
    assert state(status=status, stopping=READY, srm_mismatch=True, winner=winner) == expected


def test_thresholds_read_as_typed_and_measured_values_with_one_decimal():
    assert [threshold_text(t) for t in (0.95, 0.975, 0.9999)] == ["95%", "97.5%", "99.99%"]
    assert measured_text(0.5649, below=0.95) == "56.5%"  # as the P(best) column writes it
    assert measured_text(0.9996, below=0.95) == "> 99.9%"
