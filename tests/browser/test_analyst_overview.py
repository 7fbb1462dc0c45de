"""An analyst at 1,400 px reads the experiment list and the admin's "Needs attention" panel: the figures
on the page are the JSON's, nothing is cut off, and no request fails."""

import pytest

from experiments.domain import report_numbers
from experiments.models import Experiment
from experiments.services.allocations import allocations_recompute
from tests.experiments.conftest import storefront_build
from tests.experiments.overview_helpers import experiment_with_snapshot
from tests.experiments.roles import PASSWORD, posteriors_set, role_user

WIDTH_PX = 1400


def _login(page, base: str, next_url: str) -> None:
    page.goto(f"{base}/admin/login/?next={next_url}")
    page.fill("#id_username", "ana")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def _pct(value, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value * 100:+.1f}%" if signed else f"{value * 100:.1f}%"


def _shop() -> None:
    """The 12 product-page experiments with real allocations (one ready, one close), plus a fixed split
    with a sample-ratio mismatch and an experiment with a guardrail breach."""
    storefront_build()
    figures = {
        "pdp-similar-test": {"A": (6000, 240), "B": (6000, 330)},
        "pdp-for-you-test": {"A": (2400, 96), "B": (2400, 110)},
        "pdp-bought-together-test": {"A": (900, 40), "B": (900, 38)},
    }
    for key, stats in figures.items():
        posteriors_set(Experiment.objects.get(key=key), stats)
    allocations_recompute()
    experiment_with_snapshot("cart-upsell-split", policy="fixed", trials=(5000, 4500))
    experiment_with_snapshot("email-recs-guarded", breached="B", trials=(3100, 2900))


def _no_horizontal_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH_PX, f"the page is {width} px wide at a {WIDTH_PX} px window"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_analyst_reads_the_experiment_list_and_what_needs_attention(browser, live_server, screenshots):
    _shop()
    role_user("ana", "analyst")
    base = live_server.url
    page = browser.new_page(viewport={"width": WIDTH_PX, "height": 900})
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
    )
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    _login(page, base, "/reports/")

    page.wait_for_selector("#experiments")
    data = {row["key"]: row for row in page.request.get(f"{base}/api/v1/experiments/").json()}
    shown = page.eval_on_selector_all(
        "#experiments tbody tr[data-key]",
        "rows => rows.map(r => [r.dataset.key, ...Array.from(r.children, c => c.innerText.trim())])",
    )
    assert [row[0] for row in shown] == list(data)
    for key, experiment, status, state, leader, prob, uplift, interval, traffic, decisions in shown:
        row = data[key]
        assert (experiment, status) == (f"{key}\n{row['slot']} · {row['reward_metric']}", row["status"])
        assert state.startswith(row["stopping_state"]), key
        assert leader.startswith(row["leader"] or "–"), key
        assert prob == report_numbers.probability(row["prob_best"]), key
        assert uplift == _pct(row["uplift"], signed=True), key
        if row["uplift"] is not None:
            low, high = (report_numbers.signed_percent(row[f"uplift_ci_{end}"]) for end in ("low", "high"))
            assert interval.replace("\N{NO-BREAK SPACE}", " ") == f"{low} … {high}", key
        assert traffic == _pct(row["traffic_share"]), key
        assert decisions == f"{row['decisions']:,}", key
    assert data["pdp-similar-test"]["state"] == "ready"
    assert data["pdp-for-you-test"]["stopping_state"].startswith("keep going: needs 95%, has ")
    assert data["cart-upsell-split"]["state"] == "srm"
    assert data["email-recs-guarded"]["state"] == "guardrail_breached"
    screenshots(page, "overview-reports")
    _no_horizontal_overflow(page)

    page.click("#experiments th:nth-child(5) button")  # P(best), ascending
    page.click("#experiments th:nth-child(5) button")  # then descending
    keys = page.eval_on_selector_all(
        "#experiments tbody tr[data-key]", "rows => rows.map(r => r.dataset.key)"
    )
    prob = [data[k]["prob_best"] for k in keys if data[k]["prob_best"] is not None]
    assert prob == sorted(prob, reverse=True)

    page.click("#state-filter >> text=Ready to conclude")
    keys = page.eval_on_selector_all(
        "#experiments tbody tr[data-key]", "rows => rows.map(r => r.dataset.key)"
    )
    assert keys == [k for k, row in data.items() if row["state"] == "ready"]
    screenshots(page, "overview-reports-ready")
    page.click("#experiments tbody a")
    assert page.url == f"{base}/reports/experiments/{keys[0]}/"

    page.goto(f"{base}/admin/")
    attention = page.eval_on_selector_all(
        "#needs-attention tr.attention-row", "rows => rows.map(r => [r.dataset.state, r.dataset.key])"
    )
    expected = [("srm", k) for k, r in data.items() if r["srm_mismatch"] and r["status"] == "running"]
    expected += [("guardrail_breached", k) for k, r in data.items() if r["guardrail_breaches"]]
    expected += [("ready", k) for k, r in data.items() if r["state"] == "ready"]
    assert [tuple(row) for row in attention] == expected
    assert page.locator("#report-links a[href='/reports/']").count() == 1
    assert page.locator("#report-links a[href='/reports/program/']").count() == 1
    screenshots(page, "overview-admin-index")
    _no_horizontal_overflow(page)

    page.goto(f"{base}/admin/experiments/experiment/")
    page.wait_for_selector("#result_list")
    screenshots(page, "overview-admin-changelist")
    _no_horizontal_overflow(page)
    results = page.eval_on_selector("#changelist .results", "el => [el.scrollWidth, el.clientWidth]")
    assert results[0] <= results[1], f"the experiment table is {results[0]} px wide in a {results[1]} px box"
    page.goto(f"{base}/admin/experiments/experiment/?state=keep_going")
    assert page.locator("#result_list tbody tr").count() == sum(
        r["state"] == "keep_going" for r in data.values()
    )

    page.goto(f"{base}/reports/program/")
    page.goto(f"{base}/")
    assert page.url == f"{base}/admin/"
    assert problems == []
