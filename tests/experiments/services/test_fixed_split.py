"""A fixed split is served exactly as set, at start and after every recompute; its weights are checked."""

import math
from collections import Counter

import pytest

from experiments.domain.assignment_layout import TICKS
from experiments.models import Arm, ProgramSettings, Slot, Variant
from experiments.services.allocations import allocations_recompute
from experiments.services.assignments import AssignmentInput, assignments_create
from experiments.services.experiments import ArmSpec, ExperimentError, experiment_validate_arms
from tests.experiments.sticky_helpers import SLOT, arm_keys, experiment_replace, posteriors_grow, state_now

ROUNDS = 10
DECISIONS_PER_ROUND = 2_000


@pytest.mark.django_db
def test_it_serves_a_90_10_split_as_set_over_ten_recomputes(storefront):
    ProgramSettings.objects.update(holdout_share=0.0)  # every decision from the experiment
    # Burn-in 1000 and a 30% floor: a bandit would serve 50/50, then 85/15 at most.
    experiment = experiment_replace(key="fixed-90-10", fixed=[0.9, 0.1])
    served: Counter = Counter()
    for r in range(ROUNDS):
        posteriors_grow(experiment, trials=100, rates=[0.02, 0.08])
        allocations_recompute(experiment_ids=[experiment.id])
        weights = Arm.objects.filter(experiment=experiment).order_by("key").values_list("weight", flat=True)
        assert list(weights) == pytest.approx([0.9, 0.1], abs=1 / TICKS)
        state = state_now()
        for i in range(DECISIONS_PER_ROUND):
            data = AssignmentInput(f"r{r}-s{i}", None, (SLOT,), "product", "p-0", (), None, 2)
            decision = assignments_create(state=state, data=data)["decisions"][0]
            assert decision["experiment"] == "fixed-90-10"
            assert not decision["fallback"]
            served[decision["variant"]] += 1
            assert decision["propensity"] == (0.9 if decision["variant"] == f"{SLOT}-legacy" else 0.1)
    n = ROUNDS * DECISIONS_PER_ROUND
    share = served[f"{SLOT}-category"] / n
    assert abs(share - 0.1) <= 3 * math.sqrt(0.1 * 0.9 / n), served


@pytest.mark.django_db
def test_a_fixed_split_keeps_every_unit_on_its_arm_across_recomputes(storefront):
    experiment = experiment_replace(key="fixed-sticky", fixed=[0.7, 0.3])
    units = [(f"s-{i}", None) for i in range(2_000)]
    first = arm_keys(state_now(), units)
    for _ in range(5):
        posteriors_grow(experiment, trials=500, rates=[0.01, 0.09])
        allocations_recompute(experiment_ids=[experiment.id])
        assert arm_keys(state_now(), units) == first


def _specs(*weights: float | None) -> list[ArmSpec]:
    slot = Slot.objects.get(key=SLOT)
    variants = list(Variant.objects.filter(slot=slot).order_by("key"))
    return [ArmSpec(f"A{n}", variants[n], is_control=n == 0, fixed_weight=w) for n, w in enumerate(weights)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("policy", "weights", "code"),
    [
        ("fixed", (0.9, None), "fixed_weights_incomplete"),
        ("fixed", (0.9, 0.2), "fixed_weights_sum"),
        ("fixed", (0.45, 0.45), "fixed_weights_sum"),
        ("thompson", (0.9, 0.1), "fixed_weights_need_fixed_policy"),
    ],
)
def test_fixed_weights_that_are_not_all_or_none_summing_to_one_are_refused(storefront, policy, weights, code):
    with pytest.raises(ExperimentError) as caught:
        experiment_validate_arms(slot=Slot.objects.get(key=SLOT), policy=policy, arms=_specs(*weights))
    assert caught.value.code == code
    assert caught.value.messages[0].endswith(".")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("policy", "weights"), [("fixed", (0.9, 0.1)), ("fixed", (None, None)), ("thompson", (None, None))]
)
def test_all_or_no_fixed_weights_are_accepted(storefront, policy, weights):
    experiment_validate_arms(slot=Slot.objects.get(key=SLOT), policy=policy, arms=_specs(*weights))


@pytest.mark.django_db
def test_a_fixed_split_without_weights_is_an_even_split_at_start_and_after_recomputes(storefront):
    experiment = experiment_replace(key="fixed-even", fixed=[None, None])
    posteriors_grow(experiment, trials=2_000, rates=[0.01, 0.09])
    allocations_recompute(experiment_ids=[experiment.id])
    weights = list(Arm.objects.filter(experiment=experiment).order_by("key").values_list("weight", flat=True))
    assert weights == [0.5, 0.5]
