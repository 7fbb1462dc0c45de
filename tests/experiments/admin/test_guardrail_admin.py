import pytest
from django.contrib.messages import get_messages

from experiments.models import Experiment, Guardrail, Slot
from experiments.models.experiments import Status
from experiments.services.allocations import allocations_recompute
from tests.experiments.guardrail_helpers import (
    CLICKS_UP_REVENUE_DOWN,
    revenue_guardrail_add,
    revenue_stats_set,
)
from tests.experiments.roles import role_client

LIST_URL = "/admin/experiments/experiment/"


@pytest.fixture
def merchandiser(storefront):
    return role_client("mia", "merchandiser")


@pytest.fixture
def breached(storefront):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    revenue_guardrail_add(experiment)
    revenue_stats_set(experiment, CLICKS_UP_REVENUE_DOWN)
    allocations_recompute(experiment_ids=[experiment.id])
    return experiment


def _change_url(experiment) -> str:
    return f"{LIST_URL}{experiment.pk}/change/"


def _conclude_url(experiment) -> str:
    return f"{LIST_URL}{experiment.pk}/lifecycle/conclude/"


def _live_edit(experiment, rows: list[tuple[str, str, str]]) -> dict:
    """A change-form POST of a started experiment: its live fields and the guardrail rows."""
    existing = list(experiment.guardrail_rules.order_by("metric"))
    data = {"auto_conclude": "", "prob_best_threshold": "0.95", "expected_loss_epsilon": "0.001"}
    data |= {"arms-TOTAL_FORMS": "0", "arms-INITIAL_FORMS": "0"}
    data |= {
        "guardrail_rules-TOTAL_FORMS": str(len(rows)),
        "guardrail_rules-INITIAL_FORMS": str(len(existing)),
        "guardrail_rules-MIN_NUM_FORMS": "0",
        "guardrail_rules-MAX_NUM_FORMS": "1000",
    }
    for n, (metric, tolerance, threshold) in enumerate(rows):
        if n < len(existing):
            data[f"guardrail_rules-{n}-id"] = existing[n].pk
        data[f"guardrail_rules-{n}-experiment"] = experiment.pk
        data[f"guardrail_rules-{n}-metric"] = metric
        data[f"guardrail_rules-{n}-tolerance"] = tolerance
        data[f"guardrail_rules-{n}-breach_probability"] = threshold
    return data


@pytest.mark.django_db
def test_the_experiment_list_flags_an_arm_that_breached_a_guardrail(merchandiser, breached):
    page = merchandiser.get(LIST_URL).content.decode()
    assert "Guardrail breached" in page
    assert '<strong class="guardrail-breached">B on revenue</strong>' in page
    assert page.count('class="guardrail-breached"') == 1


@pytest.mark.django_db
def test_guardrails_are_form_rows_edited_live_while_running(merchandiser, storefront):
    running = Experiment.objects.get(key="pdp-similar-test")
    page = merchandiser.get(_change_url(running)).content.decode()
    assert 'name="guardrail_rules-TOTAL_FORMS"' in page
    assert 'name="guardrails"' not in page  # no JSON textarea any more
    response = merchandiser.post(_change_url(running), _live_edit(running, [("revenue", "0.1", "0.9")]))
    assert response.status_code == 302, response.context["errors"] if response.context else response
    rule = Guardrail.objects.get(experiment=running)
    assert (rule.metric, rule.tolerance, rule.breach_probability) == ("revenue", 0.1, 0.9)
    response = merchandiser.post(_change_url(running), _live_edit(running, [("revenue", "1.2", "0.9")]))
    assert response.status_code == 200
    assert (
        "A tolerance is a relative drop below 1 (at most 0.99), e.g. 0.05 for 5%."
        in response.content.decode()
    )


@pytest.mark.django_db
def test_a_new_row_gets_the_documented_defaults_and_help_text(merchandiser, storefront):
    page = merchandiser.get("/admin/experiments/experiment/add/").content.decode()
    assert 'name="guardrail_rules-__prefix__-tolerance" value="0.05"' in page
    assert 'name="guardrail_rules-__prefix__-breach_probability" value="0.95"' in page
    assert "Revenue per impression" in page
    assert "Relative drop vs control that counts as worse" in page


@pytest.mark.django_db
def test_the_guardrails_of_a_concluded_experiment_are_read_only(merchandiser, breached):
    Experiment.objects.filter(pk=breached.pk).update(status=Status.CONCLUDED)
    page = merchandiser.get(_change_url(breached)).content.decode()
    assert 'name="guardrail_rules-0-tolerance"' not in page
    assert "Revenue per impression" in page  # still shown, as text


@pytest.mark.django_db
def test_the_conclude_page_offers_the_override_only_for_a_breached_winner(merchandiser, breached, storefront):
    clean = Experiment.objects.get(key="pdp-for-you-test")
    assert "guardrail_override" not in merchandiser.get(_conclude_url(clean)).content.decode()
    page = merchandiser.get(_conclude_url(breached)).content.decode()
    assert "Guardrail breached: B breached the revenue guardrail" in page
    assert 'name="guardrail_override"' in page
    assert 'name="guardrail_override_reason"' in page


@pytest.mark.django_db
def test_the_conclude_page_refuses_to_promote_a_breached_winner_without_override(merchandiser, breached):
    b = breached.arms.get(key="B")
    response = merchandiser.post(_conclude_url(breached), {"winner": b.pk, "promote": "on"})
    assert response.status_code == 200
    assert "tick the override and give a reason to promote it anyway, or untick promote." in (
        response.content.decode()
    )
    response = merchandiser.post(
        _conclude_url(breached), {"winner": b.pk, "promote": "on", "guardrail_override": "on"}
    )
    assert "Give the reason for promoting past the breached guardrail." in response.content.decode()
    breached.refresh_from_db()
    assert breached.status == Status.RUNNING


@pytest.mark.django_db
def test_the_conclude_page_promotes_a_breached_winner_with_a_recorded_reason(merchandiser, breached):
    b = breached.arms.get(key="B")
    data = {"winner": b.pk, "promote": "on", "guardrail_override": "on"}
    data["guardrail_override_reason"] = "Checkout outage skewed revenue"
    response = merchandiser.post(_conclude_url(breached), data)
    assert response.status_code == 302
    assert any("conclude done" in str(m) for m in get_messages(response.wsgi_request))
    breached.refresh_from_db()
    assert breached.status == Status.CONCLUDED
    assert Slot.objects.get(pk=breached.slot_id).default_variant == b.variant
    reason = breached.history.first().history_change_reason
    assert reason == "Guardrail override by mia: Checkout outage skewed revenue"


@pytest.mark.django_db
def test_the_experiment_list_filters_experiments_by_guardrail_state(merchandiser, breached):
    flagged = merchandiser.get(LIST_URL, {"guardrail": "breached"}).content.decode()
    assert flagged.count('class="guardrail-breached"') == 1
    assert "1 experiment" in flagged
    holding = merchandiser.get(LIST_URL, {"guardrail": "holding"}).content.decode()
    assert 'class="guardrail-breached"' not in holding
