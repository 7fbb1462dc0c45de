import pytest

from experiments.models import PosteriorSnapshot, ProgramSettings
from experiments.selectors.experiment_overview import experiment_overview
from tests.experiments.overview_helpers import READY, experiment_with_snapshot, snapshot_arm
from tests.factories import ArmFactory, ExperimentFactory


def rows_by_key(**kwargs) -> dict[str, dict]:
    return {row["key"]: row for row in experiment_overview(**kwargs)}


@pytest.mark.django_db
def test_a_row_holds_the_latest_snapshot_s_leader_uplift_share_decisions_and_state():
    experiment = experiment_with_snapshot("sim")
    PosteriorSnapshot.objects.create(
        experiment=experiment,
        allocation_version=2,
        arms=[
            snapshot_arm("A", "sim-a", trials=3000, prob_best=0.3, weight=0.4),
            snapshot_arm("B", "sim-b", trials=4000, prob_best=0.7, weight=0.6, uplift=0.08),
        ],
        stopping={"stop": False, "reason": "continue", "winner": None, "inconclusive": False},
    )
    holdout = ProgramSettings.load().holdout_share
    row = rows_by_key()["sim"]
    assert (row["leader"], row["leader_arm"], row["prob_best"]) == ("sim-b", "B", 0.7)
    assert (row["uplift"], row["uplift_ci_low"], row["uplift_ci_high"]) == (0.08, 0.08 - 0.05, 0.08 + 0.05)
    assert row["traffic_share"] == pytest.approx(0.6 * (1 - holdout))
    assert row["decisions"] == 7000
    assert (row["state"], row["stopping_state"]) == ("keep_going", "keep going: needs 95%, has 70.0%")
    assert row["slot"] == experiment.slot.key


@pytest.mark.django_db
def test_experiments_that_are_not_running_get_no_traffic_share():
    experiment_with_snapshot("paused", status="paused")
    experiment_with_snapshot("done", status="concluded")
    rows = rows_by_key()
    assert rows["paused"]["traffic_share"] == 0.0
    assert rows["done"]["traffic_share"] == 0.0
    assert rows["done"]["stopping_state"] == "concluded without a winner"
    assert rows["paused"]["leader"] == "paused-b"  # its figures stay readable


@pytest.mark.django_db
def test_an_experiment_before_its_first_allocation_has_an_empty_row():
    experiment = ExperimentFactory(key="fresh", status="draft")
    ArmFactory(experiment=experiment, key="A", is_control=True)
    row = rows_by_key()["fresh"]
    assert (row["leader"], row["prob_best"], row["uplift"], row["decisions"]) == (None, None, None, 0)
    assert (row["state"], row["traffic_share"]) == ("draft", 0.0)


@pytest.mark.django_db
def test_a_fixed_split_off_its_intended_shares_is_a_sample_ratio_mismatch_like_in_the_report():
    experiment_with_snapshot(
        "skewed", policy="fixed", trials=(5000, 4500), prob_best=(0.99, 0.01), stopping=READY
    )
    experiment_with_snapshot("even", policy="fixed", trials=(5000, 5010))
    experiment_with_snapshot("bandit", trials=(5000, 4000))
    rows = rows_by_key()
    assert (rows["skewed"]["srm_mismatch"], rows["skewed"]["state"]) == (True, "srm")
    assert (rows["even"]["srm_mismatch"], rows["bandit"]["srm_mismatch"]) == (False, False)


@pytest.mark.django_db
def test_a_breached_arm_is_named_by_its_variant_and_metric():
    experiment_with_snapshot("guarded", breached="B")
    row = rows_by_key()["guarded"]
    assert row["guardrail_breaches"] == ["guarded-b on click"]
    assert (row["state"], row["stopping_state"]) == (
        "guardrail_breached",
        "guardrail breached: guarded-b on click",
    )


@pytest.mark.django_db
def test_the_list_filters_by_state():
    experiment_with_snapshot("ready", stopping=READY, prob_best=(0.01, 0.99))
    experiment_with_snapshot("going")
    assert [r["key"] for r in experiment_overview(state="ready")] == ["ready"]
    assert [r["key"] for r in experiment_overview(state="keep_going")] == ["going"]


@pytest.mark.django_db
def test_the_list_reads_all_experiments_in_a_fixed_number_of_queries(django_assert_num_queries):
    for n in range(3):
        experiment_with_snapshot(f"few-{n}")
    ProgramSettings.load()
    with django_assert_num_queries(3):  # experiments with their snapshots, arms with variants, holdout
        assert len(experiment_overview()) == 3
    for n in range(5):
        experiment_with_snapshot(f"more-{n}")
    with django_assert_num_queries(3):
        assert len(experiment_overview()) == 8


@pytest.mark.django_db
def test_a_running_experiment_without_decisions_names_no_leader_from_its_prior():
    experiment_with_snapshot("quiet", trials=(0, 0), prob_best=(0.49, 0.51))
    row = rows_by_key()["quiet"]
    assert (row["leader"], row["prob_best"], row["uplift"], row["traffic_share"]) == (None, None, None, None)
    assert row["stopping_state"] == "keep going: no decisions yet"
