import pytest

from experiments.models import Arm, Experiment, PosteriorSnapshot, Slot
from experiments.models.experiments import Status
from experiments.services.allocations import allocations_recompute
from experiments.services.experiments import (
    ArmSpec,
    ExperimentError,
    experiment_conclude,
    experiment_create,
    experiment_start,
)
from tests.experiments.guardrail_helpers import (
    CLICKS_UP_REVENUE_DOWN,
    REVENUE_EVEN,
    revenue_guardrail_add,
    revenue_stats_set,
)


def _weights(experiment) -> dict[str, float]:
    return dict(Arm.objects.filter(experiment=experiment).values_list("key", "weight"))


@pytest.fixture
def similar(storefront):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    revenue_guardrail_add(experiment)
    revenue_stats_set(experiment, CLICKS_UP_REVENUE_DOWN)
    return experiment


@pytest.mark.django_db
def test_it_holds_an_arm_that_breaches_a_guardrail_at_the_exploration_floor(similar):
    version = similar.allocation_version
    allocations_recompute(experiment_ids=[similar.id])
    weights = _weights(similar)
    # B clicks far more, so Thompson alone would give it over 90%; the hold keeps it at floor / arms.
    assert weights["B"] == pytest.approx(similar.exploration_floor / 2)
    assert weights["A"] == pytest.approx(1 - similar.exploration_floor / 2)
    b = Arm.objects.get(experiment=similar, key="B")
    assert b.guardrail_breached_at is not None
    assert b.guardrail_breach["metric"] == "revenue"
    assert b.guardrail_breach["allocation_version"] == version + 1
    assert b.guardrail_breach["prob_worse"] >= 0.95
    assert b.guardrail_breach["threshold"] == 0.95
    assert Arm.objects.get(experiment=similar, key="A").guardrail_breached_at is None
    snapshot = PosteriorSnapshot.objects.get(experiment=similar, allocation_version=version + 1)
    assert snapshot.arms[1]["weight"] == pytest.approx(0.05)
    assert b.history.first().history_change_reason.startswith("Guardrail breached: B breached the revenue")
    assert similar.history.first().history_change_reason.startswith("Guardrail breached: B on revenue")


@pytest.mark.django_db
def test_without_a_guardrail_the_same_data_moves_traffic_to_the_arm_that_clicks_more(storefront):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    revenue_stats_set(experiment, CLICKS_UP_REVENUE_DOWN)
    allocations_recompute(experiment_ids=[experiment.id])
    assert _weights(experiment)["B"] > 0.9
    assert Arm.objects.get(experiment=experiment, key="B").guardrail_breached_at is None


@pytest.mark.django_db
def test_it_keeps_a_breach_once_the_data_no_longer_shows_it(similar):
    allocations_recompute(experiment_ids=[similar.id])
    first = Arm.objects.get(experiment=similar, key="B")
    revenue_stats_set(similar, REVENUE_EVEN)
    for _ in range(3):
        allocations_recompute(experiment_ids=[similar.id])
    b = Arm.objects.get(experiment=similar, key="B")
    assert b.guardrail_breached_at == first.guardrail_breached_at
    assert b.guardrail_breach == first.guardrail_breach
    assert _weights(similar)["B"] == pytest.approx(0.05)
    assert b.history.count() == first.history.count()  # one audit entry, at the breach


@pytest.mark.django_db
def test_a_fixed_split_keeps_its_weights_and_still_flags_the_breach(storefront):
    slot = Slot.objects.get(key="pdp_accessories")
    Experiment.objects.filter(slot=slot).update(status=Status.CONCLUDED)
    legacy, challenger = slot.variants.order_by("key")
    experiment = experiment_create(
        key="pdp-accessories-fixed",
        slot=slot,
        policy="fixed",
        burn_in=0,
        arms=[
            ArmSpec("A", legacy, is_control=True, fixed_weight=0.5),
            ArmSpec("B", challenger, fixed_weight=0.5),
        ],
    )
    experiment_start(experiment=experiment)
    revenue_guardrail_add(experiment)
    before = _weights(experiment)
    revenue_stats_set(experiment, CLICKS_UP_REVENUE_DOWN)
    allocations_recompute(experiment_ids=[experiment.id])
    assert _weights(experiment) == pytest.approx(before) == {"A": 0.5, "B": 0.5}
    assert Arm.objects.get(experiment=experiment, key="B").guardrail_breach["metric"] == "revenue"


@pytest.mark.django_db
def test_auto_conclude_does_not_promote_a_winner_that_breached_a_guardrail(similar):
    Experiment.objects.filter(pk=similar.pk).update(auto_conclude=True)
    default = similar.slot.serving_default
    allocations_recompute(experiment_ids=[similar.id])
    similar.refresh_from_db()
    assert similar.status == Status.RUNNING
    assert similar.winner is None
    assert Slot.objects.get(pk=similar.slot_id).serving_default == default
    snapshot = similar.snapshots.order_by("allocation_version").last()
    assert snapshot.stopping["stop"] is True
    assert snapshot.stopping["winner"] == "B"
    assert snapshot.stopping["guardrail_breached"] is True
    assert "Guardrail breached: B is worse than control on revenue" in snapshot.stopping["summary"]


@pytest.mark.django_db
def test_a_manual_promote_of_a_breached_arm_needs_an_override_reason(similar):
    allocations_recompute(experiment_ids=[similar.id])
    b = Arm.objects.get(experiment=similar, key="B")
    for reason in ("", "   "):
        with pytest.raises(ExperimentError) as refused:
            experiment_conclude(experiment=similar, winner=b, promote=True, guardrail_override_reason=reason)
        assert refused.value.code == "guardrail_breached"
        assert "breached its revenue guardrail" in refused.value.messages[0]
    similar.refresh_from_db()
    assert similar.status == Status.RUNNING

    experiment_conclude(
        experiment=similar, winner=b, promote=True, guardrail_override_reason="Revenue dip is a pricing bug"
    )
    similar.refresh_from_db()
    slot = Slot.objects.get(pk=similar.slot_id)
    assert similar.status == Status.CONCLUDED
    assert slot.default_variant == b.variant
    reason = "Guardrail override: Revenue dip is a pricing bug"
    assert similar.history.first().history_change_reason == reason
    assert b.history.first().history_change_reason == reason
    assert slot.history.first().history_change_reason == reason


@pytest.mark.django_db
def test_concluding_a_breached_arm_without_promote_needs_no_override(similar):
    allocations_recompute(experiment_ids=[similar.id])
    b = Arm.objects.get(experiment=similar, key="B")
    experiment_conclude(experiment=similar, winner=b, promote=False)
    similar.refresh_from_db()
    assert similar.status == Status.CONCLUDED
