"""Deterministic hash assignment: stable per unit, and arm shares match the weights."""

import numpy as np
import pytest
from scipy import stats

from experiments.serving.hashing import arm_index_pick, unit_uniform


def test_the_same_unit_and_version_always_gets_the_same_number():
    assert unit_uniform("s-1", "exp", 3) == unit_uniform("s-1", "exp", 3)
    assert unit_uniform("s-1", "exp", 3) != unit_uniform("s-1", "exp", 4)
    assert unit_uniform("s-1", "exp", 3) != unit_uniform("s-2", "exp", 3)


def test_zero_weight_arms_are_never_picked():
    cumulative = np.cumsum([0.0, 0.5, 0.0, 0.5])
    picks = {arm_index_pick(unit_uniform(f"u{i}", "e", 1), cumulative) for i in range(2000)}
    assert picks == {1, 3}


@pytest.mark.parametrize("weights", [[0.5, 0.5], [0.62, 0.28, 0.1], [0.7, 0.1, 0.1, 0.05, 0.05]])
def test_observed_arm_shares_match_the_weights(weights):
    n = 40_000
    cumulative = np.cumsum(weights)
    cumulative[-1] = 1.0
    counts = np.bincount(
        [arm_index_pick(unit_uniform(f"s-{i}", "exp-key", 7), cumulative) for i in range(n)],
        minlength=len(weights),
    )
    p_value = stats.chisquare(counts, f_exp=np.array(weights) * n).pvalue
    assert p_value > 0.001, (counts, p_value)


@pytest.mark.django_db
def test_a_session_keeps_its_arm_until_the_allocation_changes(api, storefront):
    from tests.experiments.storefront_helpers import decisions_for

    first = {d["slot"]: d["variant"] for d in decisions_for(api, session_id="sticky")}
    again = {d["slot"]: d["variant"] for d in decisions_for(api, session_id="sticky")}
    assert first == again
    variants = {
        d["variant"] for n in range(60) for d in decisions_for(api, session_id=f"s{n}", slots=["pdp_for_you"])
    }
    assert variants == {"pdp_for_you-legacy", "pdp_for_you-category"}
