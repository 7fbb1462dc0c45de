"""The hash-space layout: exact measures per arm, and moves of exactly the total variation distance."""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from experiments.domain.assignment_layout import (
    TICKS,
    layout_contiguous,
    layout_is_valid,
    layout_measures,
    layout_move,
    ticks_quantise,
)


def _owner_changes(before: list[list[int]], after: list[list[int]]) -> int:
    """Ticks whose arm differs between two layouts (overlaying their breakpoints)."""
    changed, start, i, j = 0, 0, 0, 0
    while start < TICKS:
        end = min(before[i][0], after[j][0])
        if before[i][1] != after[j][1]:
            changed += end - start
        start = end
        if before[i][0] == end:
            i += 1
        if after[j][0] == end:
            j += 1
    return changed


def _check_well_formed(layout: list[list[int]], arm_ids: list[int]) -> None:
    assert layout_is_valid(layout, arm_ids)
    ends = [end for end, _ in layout]
    assert ends == sorted(set(ends))
    assert ends[0] > 0
    assert ends[-1] == TICKS
    assert all(a != b for (_, a), (_, b) in zip(layout, layout[1:], strict=False)), "unmerged neighbours"


def test_it_quantises_weights_to_ticks_that_sum_exactly():
    ticks = ticks_quantise([0.9, 0.1])
    assert sum(ticks) == TICKS
    assert ticks == [3_865_470_566, 429_496_730]
    assert ticks_quantise([0.0, 1.0, 0.0]) == [0, TICKS, 0]
    assert ticks_quantise([0.0, 0.0]) == [TICKS // 2, TICKS // 2]
    assert ticks_quantise([5e-324, 5e-324]) == [TICKS // 2, TICKS // 2]  # no overflow to inf
    assert sum(ticks_quantise([1 / 3] * 3)) == TICKS


def test_it_moves_only_half_the_units_when_one_of_three_arms_hands_over_to_another():
    a, b, c = 11, 12, 13
    before = layout_contiguous([a, b, c], ticks_quantise([0.5, 0.5, 0.0]))
    after = layout_move(before, dict(zip([a, b, c], ticks_quantise([0.0, 0.5, 0.5]), strict=True)))
    assert layout_measures(after) == {b: TICKS // 2, c: TICKS // 2}
    assert _owner_changes(before, after) == TICKS // 2  # the cumulative layout would move them all
    assert after == [[TICKS // 2, c], [TICKS, b]]


def test_a_shrinking_arm_gives_up_the_side_next_to_the_growing_one():
    a, b = 1, 2
    before = layout_contiguous([a, b], ticks_quantise([0.5, 0.5]))
    after = layout_move(before, dict(zip([a, b], ticks_quantise([0.3, 0.7]), strict=True)))
    assert [arm for _, arm in after] == [a, b]


weights = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=2, max_size=6).filter(
    lambda w: sum(w) > 1e-3
)


@settings(max_examples=300, deadline=None)
@example(first=[5e-324, 0.0], moves=[[0.0, 5e-324, 0, 0, 0, 0]])
@given(first=weights, moves=st.lists(st.lists(st.floats(0.0, 1.0), min_size=6, max_size=6), max_size=8))
def test_every_move_gives_each_arm_its_ticks_and_moves_exactly_the_total_variation(first, moves):
    arm_ids = [100 + i for i in range(len(first))]
    layout = layout_contiguous(arm_ids, ticks_quantise(first))
    _check_well_formed(layout, arm_ids)
    for raw in moves:
        target_ticks = ticks_quantise(raw[: len(arm_ids)])
        targets = dict(zip(arm_ids, target_ticks, strict=True))
        before_measures = layout_measures(layout)
        moved = layout_move(layout, targets)
        _check_well_formed(moved, arm_ids)
        assert {a: layout_measures(moved).get(a, 0) for a in arm_ids} == targets
        total_variation = sum(max(0, targets[a] - before_measures.get(a, 0)) for a in arm_ids)
        assert _owner_changes(layout, moved) == total_variation
        layout = moved


def test_fragments_stay_few_over_many_bandit_like_moves():
    import numpy as np

    rng = np.random.default_rng(3)
    arm_ids = [1, 2, 3, 4]
    layout = layout_contiguous(arm_ids, ticks_quantise([0.25] * 4))
    worst = 0
    for _ in range(500):
        targets = dict(zip(arm_ids, ticks_quantise(rng.dirichlet([2.0] * 4)), strict=True))
        layout = layout_move(layout, targets)
        worst = max(worst, len(layout))
    assert worst <= 24, worst


def test_it_refuses_targets_that_do_not_cover_the_space():
    with pytest.raises(ValueError, match="sum to"):
        layout_move([[TICKS, 1]], {1: TICKS - 1})


@pytest.mark.parametrize(
    "layout", [[], [[TICKS, 9]], [[10, 1], [5, 2], [TICKS, 1]], [[10, 1], [TICKS - 1, 2]], "x"]
)
def test_a_layout_that_does_not_fit_the_arms_is_not_valid(layout):
    assert not layout_is_valid(layout, [1, 2])
