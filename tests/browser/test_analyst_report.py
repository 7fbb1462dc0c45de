"""An analyst reads an experiment report at 1,400 px: nothing is cut off, and every figure shown is
the report JSON's, formatted."""

import pytest

from experiments.domain import report_numbers
from experiments.models import Experiment
from experiments.services.allocations import allocations_recompute
from tests.experiments.conftest import storefront_build
from tests.experiments.roles import PASSWORD, posteriors_set, role_user

WIDTH = 1400
# How many lines an element's text takes: one client rect per line box.
LINES_OF_TEXT = (
    "el => { const r = document.createRange(); r.selectNodeContents(el); return r.getClientRects().length; }"
)


def _login(page, base: str, next_url: str) -> None:
    page.goto(f"{base}/admin/login/?next={next_url}")
    page.fill("#id_username", "ana")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_analyst_sees_the_report_jsons_figures_and_nothing_cut_off(browser, live_server, screenshots):
    storefront_build()
    experiment = Experiment.objects.get(key="pdp-similar-test")
    for a, b in [((1000, 40), (1000, 48)), ((3000, 120), (3000, 150)), ((6000, 240), (6000, 300))]:
        posteriors_set(experiment, {"A": a, "B": b})
        allocations_recompute(experiment_ids=[experiment.id])
        experiment.refresh_from_db()
    posteriors_set(experiment, {"A": (6500, 260), "B": (6700, 335)})
    role_user("ana", "analyst")
    url = f"/reports/experiments/{experiment.key}/"

    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    _login(page, live_server.url, url)
    page.wait_for_selector("#chart-rates .main-svg", timeout=20_000)
    page.wait_for_timeout(500)
    report = page.request.get(f"{live_server.url}/api/v1/experiments/{experiment.key}/report").json()

    for arm in report["arms"]:
        row = page.locator(f'#arms tr[data-arm="{arm["arm"]}"]')
        shown = {
            name: row.locator(f".{name}").inner_text().strip()
            for name in ("trials", "successes", "observed-mean", "prob-best", "expected-loss")
        }
        assert shown == {
            "trials": report_numbers.count(arm["trials"]),
            "successes": report_numbers.count(arm["successes"]),
            "observed-mean": report_numbers.percent(arm["observed_mean"]),
            "prob-best": report_numbers.probability(arm["prob_best"]),
            "expected-loss": report_numbers.expected_loss(
                arm["expected_loss"], reward_metric="click", currency="USD"
            ),
        }
        assert row.locator(".mean").inner_text().strip() == report_numbers.percent(arm["mean"])
        ci = row.locator(".ci")
        assert ci.inner_text().strip() == "({})".format(
            report_numbers.interval(
                report_numbers.percent(arm["ci_low"]), report_numbers.percent(arm["ci_high"])
            )
        )
        assert ci.evaluate(LINES_OF_TEXT) == 1, "an interval wraps"
    assert page.locator("#stopping").inner_text().strip() == report["stopping"]["summary"]
    assert "1,200 impressions since" in page.locator("#figures-as-of").inner_text()

    screenshots(page, "analyst-report-1400")
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    for chart in page.locator(".chart").all():
        box, svg = chart.bounding_box(), chart.locator(".main-svg").first.bounding_box()
        assert box["x"] + box["width"] <= WIDTH
        assert svg["width"] <= box["width"] + 1, "a chart is wider than its cell"
    legend = [text.text_content() for text in page.locator("#chart-allocation .legendtext").all()]
    assert any(name.startswith("pdp_similar-") for name in legend)
    assert "Time (UTC)" in page.locator("#chart-allocation .xtitle").text_content()
