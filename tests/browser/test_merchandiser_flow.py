"""A merchandiser's whole experiment in a real browser, on a slot that already runs one: create, meet
the busy-slot warning, start, tighten a guardrail, conclude with promote, read the record.

Screenshots of each step land in test-artifacts/merch-*.png.
"""

import re

import pytest

from experiments.models import Experiment, Guardrail, Slot
from experiments.models.experiments import Status
from experiments.services.allocations import allocations_recompute
from tests.experiments.conftest import storefront_build
from tests.experiments.roles import PASSWORD, posteriors_set, role_user

KEY = "pdp-similar-q1"
RUNNING_KEY = "pdp-similar-test"  # storefront_build starts one experiment on every product-page slot
VIEWPORT = {"width": 1400, "height": 1000}


def _login(page, base: str) -> None:
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", "mia")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def _messages(page) -> str:
    return " ".join(page.locator("ul.messagelist li").all_inner_texts())


def _create(page, base: str, screenshots) -> None:
    page.goto(f"{base}/admin/experiments/experiment/add/")
    page.fill("#id_key", KEY)
    page.select_option("#id_slot", label="pdp_similar")
    # The arms offer only pdp_similar's variants once the slot is chosen.
    visible = page.eval_on_selector_all(
        "#id_arms-0-variant optgroup:not([hidden])", "groups => groups.map(g => g.label)"
    )
    assert visible == ["pdp_similar"]
    page.fill("#id_arms-0-key", "A")
    page.select_option("#id_arms-0-variant", label="pdp_similar-legacy")
    page.check("#id_arms-0-is_control")
    page.fill("#id_arms-1-key", "B")
    page.select_option("#id_arms-1-variant", label="pdp_similar-category")
    page.click("#guardrail_rules-group .add-row a")
    page.select_option("#id_guardrail_rules-0-metric", "add_to_cart")
    screenshots(page, "merch-01-create")
    page.click("input[name=_continue]")
    page.wait_for_selector("a.lifecycle-start")
    assert Experiment.objects.get(key=KEY).status == Status.DRAFT


def _meet_the_busy_slot(page, base: str, screenshots) -> None:
    page.click("a.lifecycle-start")
    warning = page.locator("ul.slot-busy li").inner_text()
    assert f"Slot pdp_similar already runs experiment {RUNNING_KEY}" in warning
    assert f"Pause or conclude {RUNNING_KEY} first" in warning
    assert page.locator("input[name=confirm]").count() == 0  # the service would refuse the start
    assert "Once the slot is free, start will change:" in page.locator("#lifecycle-confirm").inner_text()
    screenshots(page, "merch-02-start-warning")

    # The warning's link leads to the running experiment; pausing it frees the slot.
    page.click(f"ul.slot-busy a:text('{RUNNING_KEY}')")
    page.click("a.lifecycle-pause")
    page.click("input[name=confirm]")
    page.wait_for_selector("text=pause done")
    shares = page.locator(".field-traffic_share").all_inner_texts()
    assert shares
    assert all(s.strip() == "not serving (paused)" for s in shares), shares
    assert "This experiment is paused" in _messages(page)
    assert "conclude it" not in _messages(page)
    serving = page.locator(".field-traffic_after_holdout").inner_text()
    assert "Not serving: the experiment is paused; slot pdp_similar serves its default variant" in serving
    screenshots(page, "merch-03-running-one-paused")


def _start(page, base: str, screenshots) -> None:
    experiment = Experiment.objects.get(key=KEY)
    page.goto(f"{base}/admin/experiments/experiment/{experiment.pk}/lifecycle/start/")
    assert page.locator("ul.slot-busy").count() == 0
    assert (
        f"{RUNNING_KEY} cannot resume until {KEY} is paused or concluded"
        in page.locator("ul.slot-paused").inner_text()
    )
    assert "47.5% of all shoppers after the 5% global holdout" in page.content()
    screenshots(page, "merch-04-start-confirm")
    page.click("input[name=confirm]")
    page.wait_for_selector("text=start done")
    assert Experiment.objects.get(key=KEY).status == Status.RUNNING
    assert page.locator(".field-traffic_share").all_inner_texts() == ["50.0%", "50.0%"]


def _edit_guardrail(page, screenshots) -> None:
    page.fill("#id_guardrail_rules-0-tolerance", "0.02")
    screenshots(page, "merch-05-guardrail-edit")
    page.click("input[name=_continue]")
    page.wait_for_selector("text=was changed successfully")
    rule = Guardrail.objects.get(experiment__key=KEY)
    assert (rule.metric, rule.tolerance) == ("add_to_cart", 0.02)


def _conclude_with_promote(page, screenshots) -> None:
    experiment = Experiment.objects.get(key=KEY)
    posteriors_set(experiment, {"A": (4000, 160), "B": (4000, 240)})
    allocations_recompute(experiment_ids=[experiment.pk])  # the beat: a system change in the history
    page.reload()
    page.click("a.lifecycle-conclude")
    assert page.locator("#id_winner option:checked").inner_text() == "B: pdp_similar-category"
    page.check("#id_promote")
    screenshots(page, "merch-06-conclude")
    page.click("input[name=confirm]")
    page.wait_for_selector("text=conclude done")
    assert Slot.objects.get(key="pdp_similar").default_variant.key == "pdp_similar-category"


def _read_the_record(page, screenshots) -> None:
    assert page.locator("h1").inner_text().startswith("View experiment")
    assert "with winner B: pdp_similar-category" in _messages(page)
    assert "conclude it" not in _messages(page)
    assert page.locator("input[name=max_samples], input[name=prob_best_threshold]").count() == 0
    assert page.locator("input[name=_save]").count() == 0
    shares = page.locator(".field-traffic_share").all_inner_texts()
    assert shares == ["not serving (concluded)"] * 2
    assert page.locator(".field-winner_arm .readonly").inner_text() == "B: pdp_similar-category"
    holdout = page.locator(".field-traffic_after_holdout").inner_text()
    assert "serves its default variant pdp_similar-category" in holdout
    screenshots(page, "merch-07-concluded")

    page.click("a.historylink")
    history = page.locator("#change-history").inner_text()
    assert "System: allocation recompute" in history
    assert re.search(r"Winner:\s+–\s+→\s+B: pdp_similar-category", history), history
    assert "Deleted arm" not in history
    assert "None" not in history
    assert "Conclude by mia in the admin" in history
    assert "Changed tolerance for guardrail" in history, history
    screenshots(page, "merch-08-history")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_merchandiser_runs_an_experiment_on_a_busy_slot_from_create_to_promote(
    browser, live_server, screenshots
):
    storefront_build()
    role_user("mia", "merchandiser")
    page = browser.new_page(viewport=VIEWPORT)
    _login(page, live_server.url)
    _create(page, live_server.url, screenshots)
    _meet_the_busy_slot(page, live_server.url, screenshots)
    _start(page, live_server.url, screenshots)
    _edit_guardrail(page, screenshots)
    _conclude_with_promote(page, screenshots)
    _read_the_record(page, screenshots)
