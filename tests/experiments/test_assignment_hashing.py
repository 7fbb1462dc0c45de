"""Deterministic hash assignment: stable per unit, and arm shares match the weights."""

import numpy as np
import pytest
from scipy import stats

from experiments.domain.assignment_layout import layout_contiguous, ticks_quantise
from experiments.serving.hashing import segment_index_pick, unit_tick, unit_uniform


def _arm_pick(unit: str, key: str, salt: str, weights) -> int:
    layout = layout_contiguous(list(range(len(weights))), ticks_quantise(weights))
    return layout[segment_index_pick(unit_tick(unit, key, salt), [end for end, _ in layout])][1]


def test_the_same_unit_and_salt_always_gets_the_same_position():
    assert unit_tick("s-1", "exp", "a1") == unit_tick("s-1", "exp", "a1")
    assert unit_tick("s-1", "exp", "a1") != unit_tick("s-1", "exp", "b2")
    assert unit_tick("s-1", "exp", "a1") != unit_tick("s-2", "exp", "a1")
    assert unit_uniform("s-1", "exp", 3) == unit_uniform("s-1", "exp", 3)


def test_zero_weight_arms_are_never_picked():
    picks = {_arm_pick(f"u{i}", "e", "salt", [0.0, 0.5, 0.0, 0.5]) for i in range(2000)}
    assert picks == {1, 3}


@pytest.mark.parametrize("weights", [[0.5, 0.5], [0.62, 0.28, 0.1], [0.7, 0.1, 0.1, 0.05, 0.05]])
def test_observed_arm_shares_match_the_weights(weights):
    n = 40_000
    counts = np.bincount(
        [_arm_pick(f"s-{i}", "exp-key", "7", weights) for i in range(n)],
        minlength=len(weights),
    )
    p_value = stats.chisquare(counts, f_exp=np.array(weights) * n).pvalue
    assert p_value > 0.001, (counts, p_value)


@pytest.mark.django_db
def test_a_session_keeps_its_arm_between_requests(api, storefront):
    from tests.experiments.storefront_helpers import decisions_for

    first = {d["slot"]: d["variant"] for d in decisions_for(api, session_id="sticky")}
    again = {d["slot"]: d["variant"] for d in decisions_for(api, session_id="sticky")}
    assert first == again
    variants = {
        d["variant"] for n in range(60) for d in decisions_for(api, session_id=f"s{n}", slots=["pdp_for_you"])
    }
    assert variants == {"pdp_for_you-legacy", "pdp_for_you-category"}
