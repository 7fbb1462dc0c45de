import csv
import io

import numpy as np
import pytest

from experiments.models import Experiment
from tests.experiments.roles import exposures_log, role_client


@pytest.mark.django_db
def test_the_program_report_compares_the_program_with_the_holdout(storefront):
    analyst = role_client("ana", "analyst")
    experiment = Experiment.objects.get(key="pdp-similar-test")
    rng = np.random.default_rng(0)
    exposures_log(experiment, [("A", 0.5, bool(rng.random() < 0.02)) for _ in range(3000)], holdout=True)
    exposures_log(experiment, [("B", 0.5, bool(rng.random() < 0.05)) for _ in range(3000)])
    report = analyst.get("/api/v1/program/report").json()
    assert report["decisions"] == {"holdout": 3000, "program": 3000}
    ctr = report["metrics"]["ctr"]
    assert ctr["uplift"] == pytest.approx(ctr["program"] / ctr["holdout"] - 1, rel=0.05)
    assert 0 < ctr["ci_low"] < ctr["uplift"] < ctr["ci_high"]
    assert set(report["metrics"]) == {"ctr", "conversion", "average_order_value", "revenue_per_session"}
    page = analyst.get("/reports/program/").content.decode()
    assert 'id="chart-program-uplift"' in page
    assert "ctr" in page


@pytest.mark.django_db
def test_a_holdout_too_small_to_measure_says_so_instead_of_an_uplift(storefront):
    analyst = role_client("ana", "analyst")
    experiment = Experiment.objects.get(key="pdp-similar-test")
    # 219 holdout decisions in 73 sessions with 4 clicks and no purchase: a "+982%" waiting to happen.
    exposures_log(experiment, [("A", 0.5, n < 4) for n in range(219)], holdout=True)
    exposures_log(experiment, [("B", 0.5, n % 10 == 0) for n in range(3000)])
    report = analyst.get("/api/v1/program/report").json()
    assert report["sessions"]["holdout"] == 73
    codes = {(w["code"], w["metric"]) for w in report["warnings"]}
    assert codes == {("holdout_too_small", m) for m in report["metrics"]}
    ctr_warning = next(w for w in report["warnings"] if w["metric"] == "ctr")
    assert ctr_warning["message"].startswith("73 holdout sessions with 4 clicks: too few to measure")
    assert report["metrics"]["ctr"]["measurable"] is False
    assert report["metrics"]["ctr"]["label"] == "Click-through rate (clicks per recommendation shown, %)"
    assert report["metrics"]["average_order_value"]["label"].endswith("$)")
    page = analyst.get("/reports/program/").content.decode()
    assert "73 holdout sessions with 4 clicks: too few to measure click-through rate" in page
    assert "too few to measure (4 in the holdout, 30 needed)" in page
    assert 'id="chart-program-uplift"' not in page  # no measurable uplift to draw


@pytest.mark.django_db
def test_a_measurable_metric_has_no_warning_and_its_figures_in_words(storefront):
    analyst = role_client("ana", "analyst")
    experiment = Experiment.objects.get(key="pdp-similar-test")
    exposures_log(experiment, [("A", 0.5, n % 50 == 0) for n in range(3000)], holdout=True)
    exposures_log(experiment, [("B", 0.5, n % 20 == 0) for n in range(3000)])
    report = analyst.get("/api/v1/program/report").json()
    assert report["metrics"]["ctr"]["measurable"] is True
    assert "ctr" not in {w["metric"] for w in report["warnings"]}
    page = analyst.get("/reports/program/").content.decode()
    assert '<td class="holdout">2.0%</td><td class="program">5.0%</td>' in page
    assert 'id="chart-program-ctr-time"' in page
    assert 'id="chart-program-slots"' in page
    assert "pdp_similar-legacy" in page


@pytest.mark.django_db
def test_the_program_csv_says_when_it_was_computed_what_it_read_and_the_baselines(storefront):
    analyst = role_client("ana", "analyst")
    experiment = Experiment.objects.get(key="pdp-similar-test")
    exposures_log(experiment, [("A", 0.5, False)] * 30, holdout=True)
    exposures_log(experiment, [("B", 0.5, True)] * 30)
    rows = list(csv.DictReader(io.StringIO(analyst.get("/reports/program/?format=csv").content.decode())))
    assert [r["metric"] for r in rows] == ["ctr", "conversion", "average_order_value", "revenue_per_session"]
    first = rows[0]
    for column in ("computed_at", "data_from", "data_to"):
        assert first[column], column
    assert first["measurable"] == "False"
    assert first["holdout_outcomes"] == "0"
    assert first["holdout_sessions"] == "10"
    assert "pdp_similar=pdp_similar-legacy" in first["baselines"]
