"""The report agrees with itself: decision figures from the allocation that set the weights, a headline
that prints the table's numbers, labels with units, and states, links and epochs that tell the truth."""

import csv
import io
import re

import pytest
from django.urls import reverse

from experiments.domain.arm_summary import ARM_FIELDS
from experiments.models import Experiment, PosteriorEpoch, PosteriorSnapshot
from experiments.services.allocations import allocations_recompute
from experiments.services.experiments import experiment_conclude, experiment_pause
from tests.experiments.roles import posteriors_set, role_client

NBSP = "\u00a0"


@pytest.fixture
def analyst(storefront):
    return role_client("ana", "analyst")


@pytest.fixture
def close_race(storefront):
    """B leads but not surely; 1,000 impressions per arm arrive after the allocation."""
    experiment = Experiment.objects.get(key="pdp-similar-test")
    posteriors_set(experiment, {"A": (4000, 160), "B": (4000, 180)})
    allocations_recompute(experiment_ids=[experiment.id])
    experiment.refresh_from_db()
    posteriors_set(experiment, {"A": (5000, 200), "B": (5000, 226)})
    return experiment


def _cells(page: str, arm: str) -> dict[str, str]:
    row = re.search(rf'<tr data-arm="{arm}">(.*?)</tr>', page, re.S).group(1)
    return {
        name: re.sub(r"<[^>]+>", "", text).strip()
        for name, text in re.findall(r'<td class="([\w -]+)">(.*?)</td>', row, re.S)
    }


@pytest.mark.django_db
def test_p_best_loss_and_uplift_are_the_snapshots_that_set_the_weights_with_the_counts_since(
    analyst, close_race
):
    snapshot = PosteriorSnapshot.objects.filter(experiment=close_race).latest("allocation_version")
    report = analyst.get("/api/v1/experiments/pdp-similar-test/report").json()
    for row in report["arms"]:
        stored = next(r for r in snapshot.arms if r["arm"] == row["arm"])
        for key in ("prob_best", "expected_loss", "uplift", "uplift_ci_low", "prob_beats_control", "weight"):
            assert row[key] == stored[key], key
        assert (row["trials"], row["trials_at_snapshot"]) == (5000, 4000)
        assert row["observed_mean"] == row["successes"] / row["trials"]
        assert {f.key for f in ARM_FIELDS if not f.optional} <= set(row)
    as_of = report["figures_as_of"]
    assert (as_of["source"], as_of["allocation_version"], as_of["impressions_since"]) == (
        "snapshot",
        snapshot.allocation_version,
        2000,
    )
    page = analyst.get("/reports/experiments/pdp-similar-test/").content.decode()
    assert f"as of allocation version {snapshot.allocation_version} at" in page
    assert "2,000 impressions since" in page


@pytest.mark.django_db
def test_the_headline_prints_the_tables_figures(analyst, close_race):
    page = analyst.get("/reports/experiments/pdp-similar-test/").content.decode()
    report = analyst.get("/api/v1/experiments/pdp-similar-test/report").json()
    leader = report["stopping"]["leader"]
    headline = re.search(r'<p class="stopping[^"]*" id="stopping">(.*?)</p>', page, re.S).group(1)
    cells = _cells(page, leader)
    assert headline.startswith("Keep going: pdp_similar-")
    assert f"leads with {cells['prob-best']} probability of being best" in headline
    assert f"an expected loss of {cells['expected-loss']}" in headline
    assert cells["expected-loss"].endswith(f"{NBSP}pp")
    assert re.fullmatch(r"\d+\.\d%", cells["prob-best"])


@pytest.mark.django_db
def test_columns_say_what_they_are_and_intervals_stay_on_one_line(analyst, close_race):
    page = analyst.get("/reports/experiments/pdp-similar-test/").content.decode()
    assert (
        "<th>Observed rate (clicks / impressions)</th><th>Posterior mean rate (95% credible interval)</th>"
        in page
    )
    assert "<th>Expected loss (pp)</th>" in page
    cells = _cells(page, "B")
    assert cells["observed-mean"] == "4.5%"  # 226 / 5000
    assert cells["trials"] == "5,000"
    assert re.fullmatch(rf"\d\.\d% \(\d\.\d%{NBSP}…{NBSP}\d\.\d%\)", cells["posterior"])
    assert re.fullmatch(rf"[+-]\d+\.\d% \([+-]\d+\.\d%{NBSP}…{NBSP}[+-]\d+\.\d%\)", cells["uplift"])


@pytest.mark.django_db
def test_a_snapshot_written_before_this_report_still_renders(analyst, storefront):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    posteriors_set(experiment, {"A": (300, 12), "B": (300, 15)})
    PosteriorSnapshot.objects.create(
        experiment=experiment,
        allocation_version=experiment.allocation_version + 1,
        arms=[
            {
                "arm": "A",
                "trials": 200,
                "successes": 8,
                "prob_best": 0.3,
                "expected_loss": 0.004,
                "weight": 0.4,
            },
            {
                "arm": "B",
                "trials": 200,
                "successes": 10,
                "prob_best": 0.7,
                "expected_loss": 0.001,
                "weight": 0.6,
            },
        ],
        stopping={
            "stop": False,
            "reason": "continue",
            "winner": None,
            "inconclusive": False,
            "summary": "old",
        },
    )
    response = analyst.get("/reports/experiments/pdp-similar-test/")
    assert response.status_code == 200
    report = analyst.get("/api/v1/experiments/pdp-similar-test/report").json()
    assert report["stopping"]["leader"] == "B"
    assert [a["prob_best"] for a in report["arms"]] == [0.3, 0.7]
    assert report["arms"][1]["uplift"] is None
    assert "200 impressions since" in response.content.decode()


@pytest.mark.django_db
def test_before_the_first_allocation_the_figures_are_drawn_now_and_the_report_says_so(analyst, storefront):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    posteriors_set(experiment, {"A": (300, 12), "B": (300, 15)})
    report = analyst.get("/api/v1/experiments/pdp-similar-test/report").json()
    assert report["figures_as_of"]["source"] == "now"
    assert report["figures_as_of"]["text"].startswith("No allocation has run yet")
    assert sum(a["prob_best"] for a in report["arms"]) == pytest.approx(1.0)


@pytest.mark.django_db
def test_a_paused_report_shows_no_live_shares_and_no_call_to_action(analyst, close_race):
    experiment_pause(experiment=close_race)
    page = analyst.get("/reports/experiments/pdp-similar-test/").content.decode()
    assert _cells(page, "A")["traffic-share"] == "not serving"
    assert "Paused: serving no traffic." in page
    assert "Keep going" not in page
    assert "Ready to conclude" not in page
    assert (
        analyst.get("/api/v1/experiments/pdp-similar-test/report").json()["arms"][0]["traffic_share"] is None
    )


@pytest.mark.django_db
def test_a_concluded_report_names_its_winner_by_variant(analyst, close_race):
    winner = close_race.arms.get(key="B")
    experiment_conclude(experiment=close_race, winner=winner)
    page = analyst.get("/reports/experiments/pdp-similar-test/").content.decode()
    headline = re.search(r'id="stopping">(.*?)</p>', page, re.S).group(1)
    assert headline.startswith("Concluded on ")
    assert f"the winner is {winner.variant.key} (arm B)" in headline
    assert "Keep going" not in page
    assert "Ready to conclude" not in page
    assert "conclude-link" not in page
    assert _cells(page, "B")["traffic-share"] == "not serving"


@pytest.mark.django_db
def test_the_report_links_to_its_experiment_and_offers_conclude_only_to_who_may_change_it(
    analyst, close_race
):
    change = reverse("admin:experiments_experiment_change", args=[close_race.pk])
    conclude = reverse("admin:experiments_experiment_lifecycle", args=[close_race.pk, "conclude"])
    page = analyst.get("/reports/experiments/pdp-similar-test/").content.decode()
    assert f'href="{change}"' in page
    assert conclude not in page
    merchandiser = role_client("mia", "merchandiser")
    page = merchandiser.get("/reports/experiments/pdp-similar-test/").content.decode()
    assert f'href="{conclude}"' in page


def _epochs(experiment, rows):
    arms = {a.key: a for a in experiment.arms.all()}
    for key, version, trials, clicks in rows:
        PosteriorEpoch.objects.create(arm=arms[key], allocation_version=version, trials=trials, clicks=clicks)


@pytest.mark.django_db
def test_epochs_agree_only_when_each_uplift_lies_in_the_others_interval(analyst, storefront):
    experiment = Experiment.objects.get(key="pdp-top-in-category-test")
    _epochs(experiment, [("A", 1, 5000, 250), ("B", 1, 5000, 300), ("A", 2, 5000, 250), ("B", 2, 5000, 300)])
    epochs = analyst.get(f"/api/v1/experiments/{experiment.key}/report").json()["epochs"]
    assert epochs["disagree"] is False
    assert "agree" in epochs["note"]
    b = epochs["arms"][1]
    assert b["pooled_uplift_ci_low"] <= b["stratified_uplift"] <= b["pooled_uplift_ci_high"]


@pytest.mark.django_db
def test_epochs_that_differ_say_how_in_one_sentence(analyst, storefront):
    experiment = Experiment.objects.get(key="pdp-top-in-category-test")
    _epochs(experiment, [("A", 1, 9000, 900), ("B", 1, 1000, 120), ("A", 2, 1000, 20), ("B", 2, 9000, 216)])
    epochs = analyst.get(f"/api/v1/experiments/{experiment.key}/report").json()["epochs"]
    assert epochs["disagree"] is True
    assert "agree" not in epochs["note"]
    assert epochs["note"].count(". ") == 0
    assert "pooled -" in epochs["note"]
    assert "stratified +20.0%" in epochs["note"]


@pytest.mark.django_db
def test_an_arm_without_data_shows_a_dash_for_uplift_ips_and_snips(analyst, storefront):
    experiment = Experiment.objects.get(key="pdp-top-in-category-test")
    posteriors_set(experiment, {"A": (2000, 100), "B": (0, 0)})
    allocations_recompute(experiment_ids=[experiment.id])
    report = analyst.get(f"/api/v1/experiments/{experiment.key}/report").json()
    b = report["arms"][1]
    assert (b["uplift"], b["prob_beats_control"]) == (None, None)
    off = report["off_policy"]["arms"][1]
    assert (off["ips"], off["snips"]) == (None, None)
    epoch_b = report["epochs"]["arms"][1] if report["epochs"]["available"] else None
    assert epoch_b is None or epoch_b["stratified_uplift"] is None
    page = analyst.get(f"/reports/experiments/{experiment.key}/").content.decode()
    assert _cells(page, "B")["uplift"] == "–"


@pytest.mark.django_db
def test_the_csv_has_the_arm_summary_columns(analyst, close_race):
    text = analyst.get("/reports/experiments/pdp-similar-test/?format=csv").content.decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {"observed_mean", "trials_at_snapshot", "figures_as_of_allocation_version"} <= set(rows[0])
    assert rows[1]["trials_at_snapshot"] == "4000"
