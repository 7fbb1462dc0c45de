import numpy as np
import pytest

from experiments.models import Arm, Experiment, Posterior, PosteriorSnapshot
from experiments.services.allocations import allocations_recompute


def _set(experiment: Experiment, stats: dict[str, tuple[int, int]]) -> None:
    for arm in experiment.arms.all():
        trials, clicks = stats[arm.key]
        Posterior.objects.filter(arm=arm).update(trials=trials, clicks=clicks)


@pytest.mark.django_db
def test_allocation_moves_traffic_to_the_winner_keeps_the_floor_and_bumps_the_version(storefront):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    _set(experiment, {"A": (5000, 90), "B": (5000, 250)})
    version = experiment.allocation_version
    assert allocations_recompute(experiment_ids=[experiment.id]) == 1
    experiment.refresh_from_db()
    weights = dict(Arm.objects.filter(experiment=experiment).values_list("key", "weight"))
    assert experiment.allocation_version == version + 1
    assert weights["B"] > 0.9
    assert weights["A"] >= experiment.exploration_floor / 2 - 1e-9
    assert sum(weights.values()) == pytest.approx(1.0)
    snapshot = PosteriorSnapshot.objects.get(experiment=experiment, allocation_version=version + 1)
    assert [a["arm"] for a in snapshot.arms] == ["A", "B"]
    assert snapshot.arms[1]["prob_best"] > 0.99
    assert snapshot.arms[0]["uplift"] is None
    assert snapshot.arms[1]["uplift_ci_low"] < snapshot.arms[1]["uplift"] < snapshot.arms[1]["uplift_ci_high"]
    assert snapshot.arms[1]["uplift"] == pytest.approx(250 / 90 - 1, rel=0.1)
    assert snapshot.arms[1]["prob_beats_control"] > 0.99
    assert snapshot.stopping["winner"] == "B"


@pytest.mark.django_db
def test_burn_in_keeps_an_even_split(storefront):
    experiment = Experiment.objects.get(key="pdp-for-you-test")
    Experiment.objects.filter(pk=experiment.pk).update(burn_in=1000)
    _set(experiment, {"A": (500, 5), "B": (500, 50)})
    allocations_recompute(experiment_ids=[experiment.id])
    weights = np.array(
        list(Arm.objects.filter(experiment=experiment).order_by("key").values_list("weight", flat=True))
    )
    assert weights == pytest.approx([0.5, 0.5])


@pytest.mark.django_db
def test_web_processes_pick_up_new_weights_without_restart(
    api, storefront, django_capture_on_commit_callbacks
):
    from experiments.serving.runtime import serving_state

    experiment = Experiment.objects.get(key="pdp-similar-test")
    before = serving_state().slots["pdp_similar"].experiment
    _set(experiment, {"A": (5000, 90), "B": (5000, 250)})
    with django_capture_on_commit_callbacks(execute=True):
        allocations_recompute(experiment_ids=[experiment.id])
    after = serving_state().slots["pdp_similar"].experiment
    assert after.allocation_version == before.allocation_version + 1
    assert after.arms[1].weight > 0.9


@pytest.mark.django_db
def test_discounting_lets_the_bandit_follow_a_rate_that_reversed(storefront):
    from experiments.models import PosteriorEpoch

    experiment = Experiment.objects.get(key="pdp-for-you-test")
    arms = {a.key: a for a in experiment.arms.all()}
    # Long ago B was far better; in the three latest epochs A is clearly better.
    for version in range(1, 21):
        recent = version > 17
        for key, rate in (("A", 0.08 if recent else 0.01), ("B", 0.01 if recent else 0.08)):
            PosteriorEpoch.objects.create(
                arm=arms[key], allocation_version=version, trials=1000, clicks=int(1000 * rate)
            )
    for key in arms:
        epochs = PosteriorEpoch.objects.filter(arm=arms[key])
        Posterior.objects.filter(arm=arms[key]).update(
            trials=sum(e.trials for e in epochs), clicks=sum(e.clicks for e in epochs)
        )
    Experiment.objects.filter(pk=experiment.pk).update(burn_in=0)
    allocations_recompute(experiment_ids=[experiment.id])
    pooled = dict(Arm.objects.filter(experiment=experiment).values_list("key", "weight"))
    assert pooled["B"] > 0.9  # pooled counts still favour the old winner
    Experiment.objects.filter(pk=experiment.pk).update(discount_half_life_epochs=1.0)
    allocations_recompute(experiment_ids=[experiment.id])
    discounted = dict(Arm.objects.filter(experiment=experiment).values_list("key", "weight"))
    assert discounted["A"] > 0.9
    # The snapshot keeps the cumulative counts (history and sequential tests read them as such)
    # beside the faded counts the weights were decided on: 1000 * (1 + 1/2 + ... + 1/2**19).
    snapshot = experiment.snapshots.order_by("allocation_version").last()
    a = next(row for row in snapshot.arms if row["arm"] == "A")
    assert (a["trials"], a["successes"]) == (20_000, 17 * 10 + 3 * 80)
    assert a["effective_trials"] == pytest.approx(1000 * (2 - 2**-19))
    assert a["effective_successes"] == pytest.approx(80 * 1.75 + 10 * (2 - 2**-19 - 1.75))
    assert "effective_trials" not in experiment.snapshots.order_by("allocation_version").first().arms[0]


@pytest.mark.django_db
def test_a_revenue_experiment_allocates_on_revenue_per_impression(storefront):
    experiment = Experiment.objects.get(key="pdp-accessories-test")
    Experiment.objects.filter(pk=experiment.pk).update(reward_metric="revenue", burn_in=0)
    experiment.refresh_from_db()
    import math

    # A buys more often but cheaply; B buys a little less often but four times the basket.
    for arm, (purchases, value) in zip(
        experiment.arms.order_by("key"), ((200, 10.0), (150, 40.0)), strict=True
    ):
        Posterior.objects.filter(arm=arm).update(
            trials=10_000,
            purchases=purchases,
            revenue_sum=purchases * value,
            log_revenue_sum=purchases * math.log(value),
            log_revenue_sq_sum=purchases * math.log(value) ** 2 + 1.0,
        )
    allocations_recompute(experiment_ids=[experiment.id])
    weights = dict(Arm.objects.filter(experiment=experiment).values_list("key", "weight"))
    assert weights["B"] > 0.9
