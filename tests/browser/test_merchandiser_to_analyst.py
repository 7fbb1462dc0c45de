"""End to end in a real browser: a merchandiser starts an experiment, shoppers arrive, an analyst reads it."""

import pytest

from experiments.models import Experiment
from experiments.models.experiments import Status
from experiments.services.allocations import allocations_recompute
from experiments.services.experiments import experiment_conclude
from experiments.services.posteriors import posteriors_update
from experiments.services.storefront_keys import storefront_key_create
from experiments.traffic_simulation import StorefrontClient, traffic_simulate
from tests.experiments.conftest import storefront_build
from tests.experiments.roles import PASSWORD, role_user

EXPERIMENT_KEY = "pdp-similar-browser"


def _login(page, base: str, username: str, next_url: str) -> None:
    page.goto(f"{base}/admin/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def _create_and_start(page, base: str, screenshots) -> None:
    page.goto(f"{base}/admin/experiments/experiment/add/")
    page.fill("#id_key", EXPERIMENT_KEY)
    page.select_option("#id_slot", label="pdp_similar")
    page.fill("#id_burn_in", "20")
    page.fill("#id_arms-0-key", "A")
    page.select_option("#id_arms-0-variant", label="pdp_similar-legacy")
    page.check("#id_arms-0-is_control")
    page.fill("#id_arms-1-key", "B")
    page.select_option("#id_arms-1-variant", label="pdp_similar-category")
    screenshots(page, "01-merchandiser-creates-experiment")
    page.click("input[name=_continue]")
    page.click("a.lifecycle-start")
    assert "splits that traffic" in page.content()
    screenshots(page, "02-start-confirmation")
    page.click("input[name=confirm]")
    page.wait_for_selector("text=start done")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_merchandiser_starts_an_experiment_and_an_analyst_sees_its_charts(
    browser, live_server, screenshots
):
    world = storefront_build()
    running = Experiment.objects.get(key="pdp-similar-test")
    experiment_conclude(experiment=running, winner=None)
    role_user("mia", "merchandiser")
    role_user("ana", "analyst")
    base = live_server.url

    merchandiser = browser.new_page()
    _login(merchandiser, base, "mia", "/admin/")
    _create_and_start(merchandiser, base, screenshots)
    assert Experiment.objects.get(key=EXPERIMENT_KEY).status == Status.RUNNING

    client = StorefrontClient(storefront_key_create(name="browser")[1], base_url=base)

    def worker_and_beat(_stats=None) -> None:
        # In services mode no worker runs here: do the worker's and the beat's jobs in-process.
        posteriors_update()
        allocations_recompute()

    traffic_simulate(world=world, client=client, sessions=30, seed=7, every=10, on_every=worker_and_beat)
    worker_and_beat()

    analyst = browser.new_page()
    _login(analyst, base, "ana", f"/reports/experiments/{EXPERIMENT_KEY}/")
    analyst.wait_for_selector("#chart-rates .main-svg", timeout=20_000)
    for chart in ("chart-densities", "chart-allocation", "chart-prob-best", "chart-reward"):
        assert analyst.locator(f"#{chart} .main-svg").count() > 0, chart
    assert analyst.locator("#stopping").inner_text()
    assert int(analyst.locator("#arms tr:nth-child(2) td.trials").inner_text().replace(",", "")) > 0
    screenshots(analyst, "03-analyst-report")
    analyst.goto(f"{base}/reports/program/")
    analyst.wait_for_selector("#chart-program-ctr-time .main-svg")
    screenshots(analyst, "04-program-report")
