"""Publishing arm weights: the one place final weights become the arms' weights and the assignment layout.

Start, every recompute and re-randomize go through ``arm_weights_apply``, so what serving logs as an
arm's propensity (its share of the hash space) and the arm's stored ``weight`` are the same number.
"""

from collections.abc import Sequence

from experiments.domain.assignment_layout import (
    TICKS,
    layout_contiguous,
    layout_current,
    layout_measures,
    layout_move,
    ticks_quantise,
)
from experiments.models import Arm, Experiment


def arm_weights_apply(
    *, experiment: Experiment, arms: list[Arm], weights: Sequence[float], contiguous: bool = False
) -> list[float]:
    """Quantise ``weights`` (one per arm of ``arms``) to hash ticks, lay them out, save the arms.

    The layout moves from the current one so that only the units whose position crosses a
    boundary change arm (``layout_move``); ``contiguous`` lays the arms out side by side instead
    (start, re-randomize). Sets ``experiment.assignment_layout`` without saving the experiment (the
    caller saves it with its other changes, under the experiment's row lock). Returns the weights
    as published: each arm's exact share of the ticks.
    """
    arm_ids = [a.id for a in arms]
    ticks = ticks_quantise(weights)
    if contiguous:
        layout = layout_contiguous(arm_ids, ticks)
    else:
        current = layout_current(experiment.assignment_layout, arm_ids, [a.weight for a in arms])
        layout = layout_move(current, dict(zip(arm_ids, ticks, strict=True)))
    measures = layout_measures(layout)
    published = [measures.get(a.id, 0) / TICKS for a in arms]
    for arm, weight in zip(arms, published, strict=True):
        arm.weight = weight
    Arm.objects.bulk_update(arms, ["weight"])
    experiment.assignment_layout = layout
    return published
