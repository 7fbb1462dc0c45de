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
