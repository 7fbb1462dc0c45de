"""The experiment admin's pages say what is true now: busy slots, the slot's variants, paused and
concluded states, and who (or what) changed an experiment."""

import re
from html import unescape

import pytest
from django.contrib.messages import get_messages

from experiments.models import Experiment, Slot, Variant
from experiments.services.allocations import allocations_recompute
from experiments.services.experiments import (
    ArmSpec,
    ExperimentError,
    experiment_conclude,
    experiment_create,
    experiment_pause,
    experiment_validate_arms,
)
from tests.experiments.roles import posteriors_set, role_client

BASE = "/admin/experiments/experiment"


@pytest.fixture
def merchandiser(storefront):
    return role_client("mia", "merchandiser")


def _draft(key: str = "pdp-similar-next", slot_key: str = "pdp_similar") -> Experiment:
    slot = Slot.objects.get(key=slot_key)
    legacy, challenger = slot.variants.order_by("key")
    return experiment_create(
        key=key, slot=slot, arms=[ArmSpec("A", challenger, is_control=True), ArmSpec("B", legacy)]
    )


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).replace("\xa0", " ")


@pytest.mark.django_db
def test_the_start_page_says_the_slot_already_runs_an_experiment_and_offers_no_start(merchandiser):
    running = Experiment.objects.get(key="pdp-similar-test")
    draft = _draft()
    html = merchandiser.get(f"{BASE}/{draft.pk}/lifecycle/start/").content.decode()
    text = _text(html)
    assert "Slot pdp_similar already runs experiment pdp-similar-test" in text
    assert "so pdp-similar-next cannot start while it runs" in text
    assert "Nothing is stopped for you: pdp-similar-test keeps serving its arms" in text
    assert "Pause or conclude pdp-similar-test first" in text
    assert f'href="{BASE}/{running.pk}/change/"' in html
    assert 'name="confirm"' not in html  # nothing to confirm: the service would refuse
    assert "Once the slot is free, start will change:" in text

    experiment_pause(experiment=running)
    html = merchandiser.get(f"{BASE}/{draft.pk}/lifecycle/start/").content.decode()
    assert 'name="confirm"' in html
    assert "already runs" not in html
    assert "cannot resume until pdp-similar-next is paused or concluded" in _text(html)


@pytest.mark.django_db
def test_the_resume_page_says_another_experiment_took_the_slot(merchandiser):
    running = Experiment.objects.get(key="pdp-similar-test")
    experiment_pause(experiment=running)
    merchandiser.post(f"{BASE}/{_draft().pk}/lifecycle/start/", {})
    html = merchandiser.get(f"{BASE}/{running.pk}/lifecycle/resume/").content.decode()
    assert "Slot pdp_similar already runs experiment pdp-similar-next" in _text(html)
    assert 'name="confirm"' not in html


def _variant_options(html: str, n: int = 0) -> str:
    select = re.search(rf'<select name="arms-{n}-variant".*?</select>', html, re.S)
    assert select, html
    return select.group(0)


@pytest.mark.django_db
def test_the_arms_offer_only_the_variants_of_the_experiments_slot(merchandiser):
    slot = Slot.objects.get(key="pdp_similar")
    chosen = _variant_options(merchandiser.get(f"{BASE}/add/?slot={slot.pk}").content.decode())
    assert "pdp_similar-legacy" in chosen
    assert "pdp_similar-category" in chosen
    assert "pdp_for_you" not in chosen

    draft = _draft()
    on_draft = _variant_options(merchandiser.get(f"{BASE}/{draft.pk}/change/").content.decode())
    assert "pdp_similar-category" in on_draft
    assert "pdp_for_you" not in on_draft

    # No slot chosen yet: every variant, grouped under its slot.
    fresh = _variant_options(merchandiser.get(f"{BASE}/add/").content.decode())
    assert '<optgroup label="pdp_for_you">' in fresh
    assert '<optgroup label="pdp_similar">' in fresh


@pytest.mark.django_db
def test_a_wrong_slots_variants_are_named_in_a_sentence(storefront):
    slot = Slot.objects.get(key="pdp_similar")
    legacy = Variant.objects.get(key="pdp_similar-legacy")
    foreign = [Variant.objects.get(key=k) for k in ("pdp_for_you-category", "pdp_for_you-legacy")]
    arms = [ArmSpec("A", legacy, is_control=True), ArmSpec("B", foreign[0]), ArmSpec("C", foreign[1])]
    with pytest.raises(ExperimentError) as refused:
        experiment_validate_arms(slot=slot, policy="thompson", arms=arms)
    assert refused.value.messages == [
        "Variants pdp_for_you-category and pdp_for_you-legacy do not belong to slot pdp_similar: "
        "each arm must serve one of the slot's variants."
    ]
    with pytest.raises(ExperimentError) as refused:
        experiment_validate_arms(slot=slot, policy="thompson", arms=arms[:2])
    assert refused.value.messages[0].startswith("Variant pdp_for_you-category does not belong to slot")


@pytest.mark.django_db
def test_a_paused_experiment_shows_no_live_traffic_and_no_conclude_banner(merchandiser):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    experiment_pause(experiment=experiment)
    response = merchandiser.get(f"{BASE}/{experiment.pk}/change/")
    text = _text(response.content.decode())
    assert "not serving (paused)" in text
    assert "Not serving: the experiment is paused; slot pdp_similar serves its default variant" in text
    assert "% of this slot's traffic" not in text
    banner = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "This experiment is paused" in banner
    assert "conclude it" not in banner


@pytest.mark.django_db
def test_a_concluded_experiment_shows_its_winner_and_no_live_traffic(merchandiser):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    experiment_conclude(experiment=experiment, winner=experiment.arms.get(key="B"), promote=True)
    response = merchandiser.get(f"{BASE}/{experiment.pk}/change/")
    text = _text(response.content.decode())
    assert "not serving (concluded)" in text
    assert "Not serving: the experiment is concluded" in text
    assert "Winner: B: pdp_similar-category" in text
    assert "% of this slot's traffic" not in text
    banner = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "with winner B: pdp_similar-category" in banner
    assert "conclude it" not in banner


@pytest.mark.django_db
def test_the_history_names_system_changes_and_the_winner_by_its_variant(merchandiser):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    posteriors_set(experiment, {"A": (1000, 40), "B": (1000, 80)})
    allocations_recompute(experiment_ids=[experiment.pk])
    merchandiser.post(
        f"{BASE}/{experiment.pk}/lifecycle/conclude/",
        {"winner": experiment.arms.get(key="B").pk, "promote": "on"},
    )
    html = merchandiser.get(f"{BASE}/{experiment.pk}/history/").content.decode()
    text = _text(html)
    assert "System: allocation recompute" in text
    assert "Allocation recompute: version 2" in text
    assert "Winner: – → B: pdp_similar-category" in text
    assert re.search(r"Concluded at: – → [A-Z][a-z]+\.? \d{1,2}, \d{4}, ", text)  # as the admin dates
    assert "Deleted arm" not in text
    assert "None" not in text
    assert "mia" in text  # the conclude, by its user


@pytest.mark.django_db
def test_a_paused_experiment_names_the_experiment_that_took_its_slot(merchandiser):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    experiment_pause(experiment=experiment)
    merchandiser.post(f"{BASE}/{_draft().pk}/lifecycle/start/", {})
    response = merchandiser.get(f"{BASE}/{experiment.pk}/change/")
    assert "slot pdp_similar runs experiment pdp-similar-next now" in _text(response.content.decode())
    banner = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "This experiment is paused: slot pdp_similar runs experiment pdp-similar-next now." in banner


@pytest.mark.django_db
def test_an_edit_says_in_the_history_what_it_changed_guardrails_included(merchandiser):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    data = {
        "prob_best_threshold": "0.95",
        "expected_loss_epsilon": "0.001",
        "revenue_loss_epsilon": "0.01",
        "max_samples": "5000",
        "arms-TOTAL_FORMS": "0",
        "arms-INITIAL_FORMS": "0",
        "guardrail_rules-TOTAL_FORMS": "1",
        "guardrail_rules-INITIAL_FORMS": "0",
        "guardrail_rules-0-metric": "click",
        "guardrail_rules-0-tolerance": "0.05",
        "guardrail_rules-0-breach_probability": "0.95",
    }
    response = merchandiser.post(f"{BASE}/{experiment.pk}/change/", data)
    assert response.status_code == 302
    reason = experiment.history.first().history_change_reason
    assert reason.startswith("Changed Max samples. Added guardrail")
