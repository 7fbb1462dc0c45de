"""The program report names what the holdout sees (each slot's baseline) and when a baseline changed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from experiments.models import Experiment, Exposure, Slot, Variant
from experiments.services.slots import slot_baseline_change
from tests.experiments.roles import exposures_log, role_client


@pytest.fixture
def analyst(storefront):
    return role_client("ana", "analyst")


def _log_some_exposures() -> None:
    experiment = Experiment.objects.get(key="pdp-similar-test")
    exposures_log(experiment, [("A", 1.0, False)] * 5, holdout=True)
    exposures_log(experiment, [("B", 0.5, True)] * 5)


def _retire_the_legacy_baseline() -> None:
    slot = Slot.objects.get(key="pdp_similar")
    new = Variant.objects.get(key="pdp_similar-category")
    slot_baseline_change(slot=slot, variant=new, user=None, reason="legacy retired")


@pytest.mark.django_db
def test_the_program_report_names_each_slots_baseline_as_what_the_holdout_sees(analyst):
    _log_some_exposures()
    report = analyst.get("/api/v1/program/report").json()
    assert {"slot": "pdp_similar", "variant": "pdp_similar-legacy"} in report["baselines"]
    assert len(report["baselines"]) == Slot.objects.count()
    assert report["baseline_changes"] == []
    page = analyst.get("/reports/program/").content.decode()
    assert "always sees each slot's baseline, whatever has been promoted since" in page
    assert "<tr><td>pdp_similar</td><td>pdp_similar-legacy</td></tr>" in page
    assert "legacy baseline" not in page
    assert 'id="baseline-changes"' not in page


@pytest.mark.django_db
def test_the_program_report_says_when_a_baseline_changed_within_its_data(analyst):
    _log_some_exposures()
    _retire_the_legacy_baseline()
    report = analyst.get("/api/v1/program/report").json()
    assert {"slot": "pdp_similar", "variant": "pdp_similar-category"} in report["baselines"]
    (change,) = report["baseline_changes"]
    today = timezone.now().date().isoformat()
    assert change["slot"] == "pdp_similar"
    assert (change["from"], change["to"], change["reason"]) == (
        "pdp_similar-legacy",
        "pdp_similar-category",
        "legacy retired",
    )
    assert change["at"].startswith(today)
    page = analyst.get("/reports/program/").content.decode()
    assert 'id="baseline-changes"' in page
    assert f"{today}: pdp_similar from pdp_similar-legacy to pdp_similar-category" in page


@pytest.mark.django_db
def test_a_baseline_change_older_than_the_reports_data_is_not_listed(analyst):
    _retire_the_legacy_baseline()
    _log_some_exposures()
    Exposure.objects.update(served_at=timezone.now() + timedelta(minutes=1))
    assert analyst.get("/api/v1/program/report").json()["baseline_changes"] == []
