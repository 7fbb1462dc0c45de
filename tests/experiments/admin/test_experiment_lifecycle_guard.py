"""The admin's History revert, Delete and change form cannot move an experiment's lifecycle."""

import pytest
from django.contrib.messages import get_messages

from experiments.admin.experiments import ExperimentAdmin
from experiments.models import Arm, Experiment, Slot
from experiments.models.experiments import Status
from experiments.services.allocations import allocations_recompute
from experiments.services.experiments import (
    ArmSpec,
    ExperimentError,
    experiment_conclude,
    experiment_create,
    experiment_pause,
    experiment_settings_update,
)
from tests.experiments.roles import role_client
from tests.experiments.storefront_helpers import decisions_for

BASE = "/admin/experiments/experiment"
LIFECYCLE = ("status", "allocation_version", "winner_id", "started_at", "concluded_at", "salt")


@pytest.fixture
def merchandiser(storefront):
    return role_client("mia", "merchandiser")


def _lifecycle_of(experiment: Experiment) -> dict:
    experiment.refresh_from_db()
    return {name: getattr(experiment, name) for name in LIFECYCLE}


def _post_data(form) -> dict:
    """What a browser posts for ``form`` as rendered: each field's shown value, under its prefix."""
    data = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, bool):
            if value:
                data[form.add_prefix(name)] = "on"
            continue
        data[form.add_prefix(name)] = "" if value is None else value
    return data


def _page_data(page) -> dict:
    """The change page's whole form as posted: the experiment's fields and the arms inline."""
    data = _post_data(page.context["adminform"].form)
    for inline in page.context.get("inline_admin_formsets", []):
        formset = inline.formset
        data |= _post_data(formset.management_form)
        for form in formset.forms:
            data |= _post_data(form)
    return data


def _live_edit(client, experiment: Experiment, **changes) -> None:
    page = client.get(f"{BASE}/{experiment.pk}/change/")
    data = _page_data(page) | changes
    response = client.post(f"{BASE}/{experiment.pk}/change/", data)
    assert response.status_code == 302, response.context["errors"] if response.context else response


def _forged(experiment: Experiment) -> dict:
    """Lifecycle fields a hand-made POST could carry, set to values that would corrupt the experiment."""
    arm = experiment.arms.get(key="A")
    return {
        "status": "running",
        "allocation_version": "1",
        "winner": "",
        "started_at_0": "2020-01-01",
        "started_at_1": "00:00:00",
        "concluded_at_0": "",
        "concluded_at_1": "",
        "salt": "0000",
        "arms-TOTAL_FORMS": "1",
        "arms-INITIAL_FORMS": "1",
        "arms-0-id": arm.pk,
        "arms-0-experiment": experiment.pk,
        "arms-0-key": "Z",
        "arms-0-fixed_weight": "0.9",
        "arms-0-DELETE": "on",
    }


@pytest.mark.django_db
def test_it_reverts_only_the_editable_fields_of_a_paused_experiment(merchandiser, api):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    _live_edit(merchandiser, experiment, max_samples="5000")
    running_version = experiment.history.first()
    _live_edit(merchandiser, experiment, max_samples="9000")
    experiment_pause(experiment=experiment)
    before = _lifecycle_of(experiment)

    url = f"{BASE}/{experiment.pk}/history/{running_version.history_id}/"
    page = merchandiser.get(url)
    response = merchandiser.post(url, _post_data(page.context["adminform"].form) | _forged(experiment))
    assert response.status_code == 302

    assert _lifecycle_of(experiment) == before
    assert "restores only the fields it can still edit" in page.content.decode()
    assert page.context["adminform"].form.instance.status == Status.PAUSED
    assert experiment.max_samples == 5000
    assert Arm.objects.get(pk=experiment.arms.get(key="A").pk).fixed_weight is None
    assert experiment.history.first().history_change_reason.startswith("Reverted by mia")
    # The storefront agrees with the admin: the slot's default, outside any experiment.
    similar = next(d for d in decisions_for(api, session_id="after-revert") if d["slot"] == "pdp_similar")
    assert similar["experiment"] is None


@pytest.mark.django_db
def test_it_does_not_revert_a_running_experiment_to_its_draft_version(merchandiser):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    draft_version = experiment.history.filter(status=Status.DRAFT).earliest("history_date")
    before = _lifecycle_of(experiment)
    url = f"{BASE}/{experiment.pk}/history/{draft_version.history_id}/"
    page = merchandiser.get(url)
    form = page.context["adminform"].form
    response = merchandiser.post(url, _post_data(form) | {"policy": "fixed", "burn_in": "7"})
    assert response.status_code == 302
    assert _lifecycle_of(experiment) == before
    assert "policy" not in form.fields  # frozen at start, so not revertible either
    assert (experiment.policy, experiment.burn_in) == ("thompson", 0)


@pytest.mark.django_db
def test_a_draft_still_reverts_its_whole_configuration(merchandiser):
    slot = Slot.objects.get(key="pdp_similar")
    legacy, challenger = slot.variants.order_by("key")
    draft = experiment_create(
        key="draft-one",
        slot=slot,
        burn_in=100,
        arms=[ArmSpec("A", legacy, is_control=True), ArmSpec("B", challenger)],
    )
    _live_edit(merchandiser, draft, burn_in="300")
    first = draft.history.earliest("history_date")
    url = f"{BASE}/{draft.pk}/history/{first.history_id}/"
    page = merchandiser.get(url)
    response = merchandiser.post(url, _post_data(page.context["adminform"].form))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.burn_in, draft.status, draft.allocation_version) == (100, Status.DRAFT, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Status.RUNNING, Status.PAUSED, Status.CONCLUDED])
def test_it_offers_no_delete_for_a_started_experiment_and_refuses_a_forged_one(merchandiser, status):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    Experiment.objects.filter(pk=experiment.pk).update(status=status)
    page = merchandiser.get(f"{BASE}/{experiment.pk}/change/")
    assert f"{BASE}/{experiment.pk}/delete/" not in page.content.decode()

    response = merchandiser.post(f"{BASE}/{experiment.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert Experiment.objects.filter(pk=experiment.pk).exists()
    message = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert f"is {status}, so it cannot be deleted" in message


@pytest.mark.django_db
def test_the_bulk_delete_refuses_a_selection_holding_a_started_experiment(merchandiser):
    running = Experiment.objects.get(key="pdp-similar-test")
    slot = running.slot
    legacy, challenger = slot.variants.order_by("key")
    draft = experiment_create(
        key="draft-two", slot=slot, arms=[ArmSpec("A", legacy, is_control=True), ArmSpec("B", challenger)]
    )
    data = {"action": "delete_selected", "_selected_action": [running.pk, draft.pk], "post": "yes"}
    response = merchandiser.post(f"{BASE}/", data)
    assert Experiment.objects.filter(pk__in=[running.pk, draft.pk]).count() == 2
    message = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "Nothing was deleted" in message
    assert "pdp-similar-test (running)" in message

    merchandiser.post(
        f"{BASE}/", {"action": "delete_selected", "_selected_action": [draft.pk], "post": "yes"}
    )
    assert not Experiment.objects.filter(pk=draft.pk).exists()


@pytest.mark.django_db
def test_a_change_post_with_forged_lifecycle_fields_changes_none_of_them(merchandiser):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    experiment_pause(experiment=experiment)
    before = _lifecycle_of(experiment)
    arms_before = list(Arm.objects.filter(experiment=experiment).values())
    page = merchandiser.get(f"{BASE}/{experiment.pk}/change/")
    data = _page_data(page) | _forged(experiment) | {"max_samples": "777"}
    response = merchandiser.post(f"{BASE}/{experiment.pk}/change/", data)
    assert response.status_code == 302
    assert _lifecycle_of(experiment) == before
    assert experiment.max_samples == 777
    assert list(Arm.objects.filter(experiment=experiment).values()) == arms_before


@pytest.mark.django_db
def test_an_edit_saved_while_a_recompute_runs_keeps_the_new_allocation_version(merchandiser, monkeypatch):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    save_form = ExperimentAdmin.save_form

    def recompute_meanwhile(self, request, form, change):
        allocations_recompute(experiment_ids=[experiment.pk])  # the beat, between load and save
        return save_form(self, request, form, change)

    monkeypatch.setattr(ExperimentAdmin, "save_form", recompute_meanwhile)
    version = experiment.allocation_version
    _live_edit(merchandiser, experiment, max_samples="4242")
    experiment.refresh_from_db()
    assert (experiment.allocation_version, experiment.max_samples) == (version + 1, 4242)


@pytest.mark.django_db
def test_an_edit_saved_while_the_experiment_concludes_does_not_bring_it_back(merchandiser, monkeypatch):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    save_form = ExperimentAdmin.save_form

    def conclude_meanwhile(self, request, form, change):
        experiment_conclude(experiment=experiment, winner=None)  # e.g. auto-conclude, between load and save
        return save_form(self, request, form, change)

    monkeypatch.setattr(ExperimentAdmin, "save_form", conclude_meanwhile)
    page = merchandiser.get(f"{BASE}/{experiment.pk}/change/")
    data = _page_data(page) | {"max_samples": "4242"}
    response = merchandiser.post(f"{BASE}/{experiment.pk}/change/", data)
    experiment.refresh_from_db()
    assert experiment.status == Status.CONCLUDED
    assert experiment.max_samples is None
    message = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "became concluded while it was being edited" in message


@pytest.mark.django_db
def test_arms_have_no_history_page_to_revert_from(merchandiser):
    arm = Experiment.objects.get(key="pdp-similar-test").arms.get(key="B")
    record = arm.history.first()
    assert (
        merchandiser.get(f"/admin/experiments/arm/{arm.pk}/history/{record.history_id}/").status_code == 404
    )


@pytest.mark.django_db
def test_an_analyst_cannot_revert_by_posting_the_history_form(storefront):
    analyst = role_client("ana", "analyst")
    experiment = Experiment.objects.get(key="pdp-similar-test")
    record = experiment.history.first()
    url = f"{BASE}/{experiment.pk}/history/{record.history_id}/"
    assert analyst.get(url).status_code == 200  # analysts read the history
    data = {"max_samples": "5", "prob_best_threshold": "0.95", "expected_loss_epsilon": "0.001"}
    assert analyst.post(url, data | {"guardrails": "[]"}).status_code == 403
    experiment.refresh_from_db()
    assert experiment.max_samples is None

    variant = Slot.objects.get(key="pdp_similar").variants.get(key="pdp_similar-legacy")
    url = f"/admin/experiments/variant/{variant.pk}/history/{variant.history.first().history_id}/"
    data = {"key": "renamed", "slot": variant.slot_id, "algorithm": "popularity", "params": "{}"}
    assert analyst.post(url, data).status_code == 403
    variant.refresh_from_db()
    assert variant.key == "pdp_similar-legacy"


@pytest.mark.django_db
def test_the_settings_update_service_refuses_lifecycle_fields(storefront):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    experiment.status = Status.DRAFT
    with pytest.raises(ExperimentError, match="change only through the lifecycle steps"):
        experiment_settings_update(experiment=experiment, fields=["status"], status=Status.RUNNING)
    assert Experiment.objects.get(pk=experiment.pk).status == Status.RUNNING


@pytest.mark.django_db
def test_a_concluded_experiment_is_a_read_only_record(merchandiser):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    first_version = experiment.history.earliest("history_date")
    experiment_conclude(experiment=experiment, winner=experiment.arms.get(key="B"))
    before = _lifecycle_of(experiment)
    page = merchandiser.get(f"{BASE}/{experiment.pk}/change/")
    html = page.content.decode()
    assert "View experiment" in html  # Django's view-only page: no inputs, no Save
    for field in ("max_samples", "prob_best_threshold", "expected_loss_epsilon", "auto_conclude"):
        assert f'name="{field}"' not in html, field
    assert 'name="_save"' not in html

    edit = merchandiser.post(f"{BASE}/{experiment.pk}/change/", {"max_samples": "777"})
    assert edit.status_code == 403
    revert_url = f"{BASE}/{experiment.pk}/history/{first_version.history_id}/"
    assert 'name="_save"' not in merchandiser.get(revert_url).content.decode()  # no Revert button
    assert merchandiser.post(revert_url, {"max_samples": "777"}).status_code == 403
    assert _lifecycle_of(experiment) == before
    assert experiment.max_samples is None
