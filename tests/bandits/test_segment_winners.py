import numpy as np
import pytest

from bandits import BanditError
from bandits.exact import prob_best_exact
from bandits.segment_winners import percent, segment_winners
from bandits.segments import SegmentCounts, segment_posterior


def posterior(successes, trials=10_000, labels=("new", "returning")):
    successes = np.array(successes, dtype=float)
    return segment_posterior(
        SegmentCounts(successes=successes, trials=np.full(successes.shape, trials), labels=labels)
    )


def test_segments_disagree_when_their_clear_winners_differ():
    post = posterior([[300, 600], [900, 450]])
    winners = segment_winners(post)
    assert winners.winner == (1, 0)
    assert winners.disagree
    for segment in range(2):
        np.testing.assert_allclose(winners.prob_best[segment], prob_best_exact(post.segment(segment)))
    text = winners.summary(["ALS", "Session"])
    assert text.startswith("Segments disagree: Session is best for new (")
    assert "ALS is best for returning (" in text


def test_segments_agree_when_one_arm_wins_everywhere_it_is_clear():
    winners = segment_winners(posterior([[300, 600], [530, 500]]))
    assert winners.winner == (1, None)
    assert not winners.disagree
    assert winners.summary(["A", "B"]).startswith("Segments agree: B is best for new (")
    assert "1 segment not yet clear" in winners.summary(["A", "B"])


def test_no_winner_is_named_before_any_segment_is_clear():
    winners = segment_winners(posterior([[50, 51], [50, 49]], trials=1_000))
    assert winners.winner == (None, None)
    assert winners.overall_winner is None
    assert (
        winners.summary() == "No segment has a clear winner yet (it takes 95.0% probability of being best)."
    )
    with pytest.raises(BanditError):
        segment_winners(posterior([[5, 5], [5, 5]]), level=1.0)


def test_percentages_have_one_decimal_and_never_round_up_to_certainty():
    assert percent(0.9996) == "99.9%"
    assert percent(0.123) == "12.3%"
