"""An analyst reads the program report in a real browser, 1,400 px wide: the figures on the page
are the program JSON's, the warnings say what cannot be measured, and the charts draw."""

import json

import numpy as np
import pytest

from experiments.models import Experiment
from tests.experiments.conftest import storefront_build
from tests.experiments.roles import PASSWORD, exposures_log, role_user


def _login(page, base: str, next_url: str) -> None:
    page.goto(f"{base}/admin/login/?next={next_url}")
    page.fill("#id_username", "ana")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_analyst_sees_the_program_jsons_figures_and_what_cannot_be_measured(
    browser, live_server, screenshots
):
    storefront_build()
    role_user("ana", "analyst")
    experiment = Experiment.objects.get(key="pdp-similar-test")
    rng = np.random.default_rng(3)
    exposures_log(experiment, [("A", 0.5, bool(rng.random() < 0.018)) for _ in range(3000)], holdout=True)
    exposures_log(experiment, [("B", 0.5, bool(rng.random() < 0.03)) for _ in range(12000)])
    base = live_server.url

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    _login(page, base, "/reports/program/")
    page.wait_for_selector("#chart-program-uplift .main-svg", timeout=20_000)
    report = json.loads(page.evaluate("fetch('/api/v1/program/report').then(r => r.text())"))

    ctr = report["metrics"]["ctr"]
    row = page.locator("#metric-ctr td")
    assert row.nth(0).inner_text() == ctr["label"]
    assert row.nth(1).inner_text() == f"{ctr['holdout'] * 100:.1f}%"
    assert row.nth(2).inner_text() == f"{ctr['program'] * 100:.1f}%"
    assert row.nth(3).inner_text() == f"{ctr['uplift'] * 100:+.1f}%"
    assert row.nth(4).inner_text() == f"{ctr['ci_low'] * 100:+.1f}% … {ctr['ci_high'] * 100:+.1f}%"
    assert page.locator("#decisions-holdout").inner_text() == f"{report['decisions']['holdout']:,}"
    assert page.locator("#sessions-holdout").inner_text() == f"{report['sessions']['holdout']:,}"
    # No purchases at all: the three order metrics cannot be measured, and the page says so.
    warnings = page.locator("#program-warnings li")
    assert warnings.count() == len(report["warnings"]) == 3
    for n, warning in enumerate(report["warnings"]):
        assert warnings.nth(n).inner_text() == warning["message"]
        assert warning["code"] == "holdout_too_small"
    assert "too few to measure" in page.locator("#metric-conversion td.uplift").inner_text()
    for chart in ("chart-program-ctr-time", "chart-program-slots"):
        assert page.locator(f"#{chart} .main-svg").count() > 0, chart
    assert page.locator("#chart-program-ctr-time .xtitle").text_content() == "time (UTC)"
    screenshots(page, "program-report-1400px")
    page.locator("#chart-program-slots").scroll_into_view_if_needed()
    screenshots(page, "program-charts-1400px")
