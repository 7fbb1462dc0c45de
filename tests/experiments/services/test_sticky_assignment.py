"""Sticky units: a unit changes arm only when the weights make it, in exactly the share they must."""

import math

import pytest

from experiments.models import Arm, Experiment
from experiments.services.allocations import allocations_recompute
from experiments.services.experiments import ExperimentError
from tests.experiments.sticky_helpers import arm_keys, experiment_replace, posteriors_grow, state_now

UNITS = 10_000


def _fixed_weights_set(experiment: Experiment, weights: list[float]) -> None:
    for arm, weight in zip(experiment.arms.order_by("key"), weights, strict=True):
        Arm.objects.filter(pk=arm.pk).update(fixed_weight=weight)


def _changed_share(before: list[str], after: list[str]) -> float:
    return sum(a != b for a, b in zip(before, after, strict=True)) / len(before)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("old", "new"),
    [
        ([0.5, 0.5], [0.8, 0.2]),
        ([0.5, 0.5, 0.0], [0.0, 0.5, 0.5]),  # cumulative intervals would move every unit
        ([0.2, 0.3, 0.5], [0.5, 0.3, 0.2]),
    ],
)
def test_the_share_of_units_that_change_arm_is_the_total_variation_distance(storefront, old, new):
    experiment = experiment_replace(key="sticky-tv", fixed=old)
    units = [(f"s-{i}", None) for i in range(UNITS)]
    before = arm_keys(state_now(), units)
    _fixed_weights_set(experiment, new)
    allocations_recompute(experiment_ids=[experiment.id])
    after = arm_keys(state_now(), units)
    total_variation = sum(abs(a - b) for a, b in zip(old, new, strict=True)) / 2
    standard_error = math.sqrt(total_variation * (1 - total_variation) / UNITS)
    assert abs(_changed_share(before, after) - total_variation) <= 3 * standard_error
    shares = [after.count(key) / UNITS for key in "ABC"[: len(new)]]
    assert shares == pytest.approx(new, abs=3 * math.sqrt(0.25 / UNITS))


@pytest.mark.django_db
def test_a_session_keeps_its_arm_while_the_bandit_moves_only_as_far_as_the_weights_do(storefront):
    experiment = experiment_replace(
        key="sticky-bandit", fixed=[None, None], policy="thompson", burn_in=0, exploration_floor=0.1
    )
    units = [(f"s-{i}", None) for i in range(UNITS)]
    before = arm_keys(state_now(), units)
    posteriors_grow(experiment, trials=3_000, rates=[0.02, 0.03])
    allocations_recompute(experiment_ids=[experiment.id])
    weight_b = Arm.objects.get(experiment=experiment, key="B").weight
    after = arm_keys(state_now(), units)
    # Only A's units move, and only as many as B gained: no B unit ever goes back to A.
    assert all(a == b for a, b in zip(before, after, strict=True) if a == "B")
    moved = abs(weight_b - 0.5)
    assert abs(_changed_share(before, after) - moved) <= 3 * math.sqrt(moved * (1 - moved) / UNITS)
    assert arm_keys(state_now(), units) == after  # and again on the next request


@pytest.mark.django_db
def test_a_user_unit_follows_the_user_across_sessions_and_recomputes(storefront):
    experiment = experiment_replace(key="sticky-user", fixed=[0.5, 0.5], unit="user")
    users = [f"u-{i}" for i in range(500)]
    first = arm_keys(state_now(), [(f"first-{u}", u) for u in users])
    posteriors_grow(experiment, trials=1_000, rates=[0.01, 0.09])
    allocations_recompute(experiment_ids=[experiment.id])
    assert arm_keys(state_now(), [(f"second-{u}", u) for u in users]) == first
    assert set(first) == {"A", "B"}
    # Without a user id the session is the unit.
    anonymous = arm_keys(state_now(), [(f"anon-{i}", None) for i in range(500)])
    assert arm_keys(state_now(), [(f"anon-{i}", None) for i in range(500)]) == anonymous
    assert set(anonymous) == {"A", "B"}


@pytest.mark.django_db
def test_a_session_unit_ignores_the_user_id(storefront):
    experiment_replace(key="sticky-session", fixed=[0.5, 0.5], unit="session")
    by_session = arm_keys(state_now(), [(f"s-{i}", None) for i in range(500)])
    assert arm_keys(state_now(), [(f"s-{i}", f"u-{i % 7}") for i in range(500)]) == by_session


@pytest.mark.django_db
def test_re_randomizing_draws_every_unit_again_and_is_audited(storefront, django_user_model):
    from experiments.services.experiments import experiment_rerandomize

    experiment = experiment_replace(key="sticky-redraw", fixed=[0.6, 0.3, 0.1])
    user = django_user_model.objects.create_user("rita")
    units = [(f"s-{i}", None) for i in range(UNITS)]
    before = arm_keys(state_now(), units)
    salt, version = experiment.salt, experiment.allocation_version
    experiment = experiment_rerandomize(experiment=experiment, user=user)
    after = arm_keys(state_now(), units)
    expected = 1 - (0.6**2 + 0.3**2 + 0.1**2)  # an independent draw lands on another arm
    assert abs(_changed_share(before, after) - expected) <= 3 * math.sqrt(expected * (1 - expected) / UNITS)
    assert [after.count(k) / UNITS for k in "ABC"] == pytest.approx([0.6, 0.3, 0.1], abs=0.015)
    experiment.refresh_from_db()
    assert experiment.salt != salt
    assert experiment.allocation_version == version + 1
    record = experiment.history.first()
    assert record.history_user == user
    assert record.history_change_reason.startswith("Re-randomized by rita")
    assert list(experiment.arms.order_by("key").values_list("weight", flat=True)) == pytest.approx(
        [0.6, 0.3, 0.1], abs=1e-9
    )


@pytest.mark.django_db
def test_only_a_running_or_paused_experiment_can_be_re_randomized(storefront):
    from experiments.services.experiments import experiment_rerandomize

    experiment = Experiment.objects.get(key="pdp-similar-test")
    experiment_replace(key="sticky-next", fixed=[0.5, 0.5])
    with pytest.raises(ExperimentError) as caught:
        experiment_rerandomize(experiment=experiment, user=None)
    assert caught.value.code == "not_rerandomizable"


@pytest.mark.django_db
def test_an_experiment_started_without_a_layout_moves_from_its_contiguous_split(storefront):
    experiment = experiment_replace(key="sticky-legacy", fixed=[0.5, 0.5, 0.0])
    Experiment.objects.filter(pk=experiment.pk).update(assignment_layout=[])  # started before layouts
    units = [(f"s-{i}", None) for i in range(UNITS)]
    before = arm_keys(state_now(), units)
    _fixed_weights_set(experiment, [0.0, 0.5, 0.5])
    allocations_recompute(experiment_ids=[experiment.id])
    assert abs(_changed_share(before, arm_keys(state_now(), units)) - 0.5) <= 3 * math.sqrt(0.25 / UNITS)


@pytest.mark.django_db
def test_the_logged_propensity_is_the_arm_s_exact_share_of_the_hash_space(storefront):
    from experiments.domain.assignment_layout import TICKS, layout_measures
    from experiments.services.assignments import AssignmentInput, _pick

    experiment = experiment_replace(
        key="sticky-propensity", fixed=[None, None], policy="thompson", burn_in=0, exploration_floor=0.1
    )
    posteriors_grow(experiment, trials=3_000, rates=[0.02, 0.025])
    allocations_recompute(experiment_ids=[experiment.id])
    experiment.refresh_from_db()
    measures = layout_measures(experiment.assignment_layout)
    slot = state_now().slots["pdp_similar"]
    for n in range(200):
        data = AssignmentInput(f"s-{n}", None, ("pdp_similar",), "product", None, (), None, None)
        pick = _pick(slot, data, False, "nonce")
        assert pick.propensity == measures[pick.arm_id] / TICKS
        assert pick.propensity == Arm.objects.get(pk=pick.arm_id).weight
