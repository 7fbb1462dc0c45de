import pytest
from django.contrib.messages import get_messages

from experiments.models import Arm, Experiment, Slot, Variant
from experiments.models.experiments import Status
from experiments.services.allocations import allocations_recompute
from tests.experiments.roles import posteriors_set, role_client

ADD_URL = "/admin/experiments/experiment/add/"
GUARDRAILS_NONE = {
    "guardrail_rules-TOTAL_FORMS": "0",
    "guardrail_rules-INITIAL_FORMS": "0",
    "guardrail_rules-MIN_NUM_FORMS": "0",
    "guardrail_rules-MAX_NUM_FORMS": "1000",
}


@pytest.fixture
def merchandiser(storefront):
    return role_client("mia", "merchandiser")


def _add_form(slot: Slot, arms: list[tuple[str, Variant, bool]], **overrides) -> dict:
    data = {
        "key": "pdp-similar-new",
        "slot": slot.pk,
        "policy": "thompson",
        "reward_metric": "click",
        "randomization_unit": "session",
        "exploration_floor": "0.1",
        "burn_in": "100",
        "prior_alpha": "1",
        "prior_beta": "1",
        "prob_best_threshold": "0.95",
        "expected_loss_epsilon": "0.001",
        "arms-TOTAL_FORMS": str(len(arms)),
        "arms-INITIAL_FORMS": "0",
        "arms-MIN_NUM_FORMS": "0",
        "arms-MAX_NUM_FORMS": "1000",
        **GUARDRAILS_NONE,
        **overrides,
    }
    for n, (key, variant, control) in enumerate(arms):
        data[f"arms-{n}-key"] = key
        data[f"arms-{n}-variant"] = variant.pk
        if control:
            data[f"arms-{n}-is_control"] = "on"
    return data


def _guardrail_rows(*rows: tuple[str, str, str]) -> dict:
    data = {**GUARDRAILS_NONE, "guardrail_rules-TOTAL_FORMS": str(len(rows))}
    for n, (metric, tolerance, threshold) in enumerate(rows):
        data[f"guardrail_rules-{n}-metric"] = metric
        data[f"guardrail_rules-{n}-tolerance"] = tolerance
        data[f"guardrail_rules-{n}-breach_probability"] = threshold
    return data


def _similar_variants() -> tuple[Slot, Variant, Variant]:
    slot = Slot.objects.get(key="pdp_similar")
    return (
        slot,
        Variant.objects.get(key="pdp_similar-legacy"),
        Variant.objects.get(key="pdp_similar-category"),
    )


@pytest.mark.django_db
def test_a_merchandiser_creates_a_draft_experiment_with_its_arms(merchandiser):
    slot, legacy, challenger = _similar_variants()
    response = merchandiser.post(ADD_URL, _add_form(slot, [("A", legacy, True), ("B", challenger, False)]))
    assert response.status_code == 302, response.context["errors"] if response.context else response
    experiment = Experiment.objects.get(key="pdp-similar-new")
    assert experiment.status == Status.DRAFT
    assert sorted(experiment.arms.values_list("key", "is_control")) == [("A", True), ("B", False)]
    assert experiment.history.first().history_user.username == "mia"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("arms", "overrides", "error"),
    [
        ("one", {}, "at least two arms"),
        ("no_control", {}, "Exactly one arm must be the control"),
        ("foreign", {}, "That variant does not belong to slot pdp_similar: pick one of its variants."),
        ("ok", {"exploration_floor": "1.5"}, "less than or equal to 1"),
        ("ok", {"prob_best_threshold": "0.2"}, "greater than or equal to 0.5"),
        ("ok", _guardrail_rows(("bounce", "0.1", "0.95")), "Pick a metric from the list."),
        ("ok", _guardrail_rows(("click", "1.5", "0.95")), "relative drop below 1 (at most 0.99)"),
        ("ok", _guardrail_rows(("click", "-0.1", "0.95")), "A tolerance is a relative drop of at least 0"),
        ("ok", _guardrail_rows(("click", "five", "0.95")), "A tolerance is a number, e.g. 0.05 for 5%."),
        ("ok", _guardrail_rows(("click", "0.05", "0.3")), "A breach probability is at least 0.5"),
        ("ok", _guardrail_rows(("click", "0.05", "0.9"), ("click", "0.1", "0.9")), "Each metric takes one"),
    ],
)
def test_creating_an_invalid_experiment_is_refused_with_the_reason(merchandiser, arms, overrides, error):
    slot, legacy, challenger = _similar_variants()
    foreign = Variant.objects.get(key="pdp_for_you-category")
    arm_sets = {
        "one": [("A", legacy, True)],
        "no_control": [("A", legacy, False), ("B", challenger, False)],
        "foreign": [("A", legacy, True), ("B", foreign, False)],
        "ok": [("A", legacy, True), ("B", challenger, False)],
    }
    response = merchandiser.post(ADD_URL, _add_form(slot, arm_sets[arms], **overrides))
    assert response.status_code == 200
    assert error in response.content.decode()
    assert "[&#x27;" not in response.content.decode()  # a sentence, not a Python list
    assert not Experiment.objects.filter(key="pdp-similar-new").exists()


def _lifecycle(client, experiment, step, data=None):
    url = f"/admin/experiments/experiment/{experiment.pk}/lifecycle/{step}/"
    return client.get(url), client.post(url, data or {})


@pytest.mark.django_db
def test_the_lifecycle_runs_from_the_admin_with_a_confirmation_that_says_what_changes(merchandiser):
    running = Experiment.objects.get(key="pdp-similar-test")
    page, done = _lifecycle(merchandiser, running, "pause")
    assert "serves its default variant pdp_similar-legacy" in page.content.decode()
    assert done.status_code == 302
    running.refresh_from_db()
    assert running.status == Status.PAUSED
    assert running.history.first().history_change_reason.startswith("Pause by mia")

    _, done = _lifecycle(merchandiser, running, "resume")
    running.refresh_from_db()
    assert running.status == Status.RUNNING

    winner = running.arms.get(key="B")
    page, done = _lifecycle(merchandiser, running, "conclude", {"winner": winner.pk, "promote": "on"})
    assert "default variant changes from pdp_similar-legacy" in page.content.decode()
    running.refresh_from_db()
    slot = Slot.objects.get(key="pdp_similar")
    assert running.status == Status.CONCLUDED
    assert running.winner == winner
    assert slot.default_variant.key == "pdp_similar-category"
    record = slot.history.first()
    assert record.history_user.username == "mia"
    assert record.prev_record.default_variant_id != record.default_variant_id


@pytest.mark.django_db
def test_starting_a_second_experiment_on_a_busy_slot_is_refused(merchandiser):
    slot, legacy, challenger = _similar_variants()
    merchandiser.post(ADD_URL, _add_form(slot, [("A", legacy, True), ("B", challenger, False)]))
    draft = Experiment.objects.get(key="pdp-similar-new")
    page, done = _lifecycle(merchandiser, draft, "start")
    assert "47.5% of all shoppers after the 5% global holdout" in page.content.decode()
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    assert any("already runs" in str(m) for m in get_messages(done.wsgi_request))


@pytest.mark.django_db
def test_editing_the_arms_of_a_running_experiment_is_refused_with_a_clear_message(merchandiser):
    running = Experiment.objects.get(key="pdp-similar-test")
    page = merchandiser.get(f"/admin/experiments/experiment/{running.pk}/change/")
    assert "arms cannot be edited" in page.content.decode()
    assert b'name="arms-0-variant"' not in page.content
    arm = running.arms.get(key="B")
    data = {"auto_conclude": "on", "prob_best_threshold": "0.95", **GUARDRAILS_NONE}
    data |= {"expected_loss_epsilon": "0.001", "arms-TOTAL_FORMS": "1", "arms-INITIAL_FORMS": "1"}
    data |= {"arms-0-id": arm.pk, "arms-0-key": "Z", "arms-0-experiment": running.pk}
    response = merchandiser.post(f"/admin/experiments/experiment/{running.pk}/change/", data)
    assert response.status_code == 302
    assert Arm.objects.get(pk=arm.pk).key == "B"
    running.refresh_from_db()
    assert running.auto_conclude is True


@pytest.mark.django_db
def test_an_auto_conclude_experiment_concludes_and_promotes_its_winner_by_itself(storefront):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    Experiment.objects.filter(pk=experiment.pk).update(auto_conclude=True)
    posteriors_set(experiment, {"A": (20_000, 200), "B": (20_000, 800)})
    allocations_recompute(experiment_ids=[experiment.id])
    experiment.refresh_from_db()
    assert experiment.status == Status.CONCLUDED
    assert experiment.winner.key == "B"
    assert experiment.slot.default_variant.key == "pdp_similar-category"
    assert experiment.history.first().history_change_reason.startswith("Auto-concluded: stopping rule met")


@pytest.mark.django_db
def test_without_auto_conclude_the_experiment_keeps_running(storefront):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    posteriors_set(experiment, {"A": (20_000, 200), "B": (20_000, 800)})
    allocations_recompute(experiment_ids=[experiment.id])
    experiment.refresh_from_db()
    assert experiment.status == Status.RUNNING


@pytest.mark.django_db
def test_experiment_pages_show_the_traffic_left_after_the_holdout(merchandiser):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    page = merchandiser.get(f"/admin/experiments/experiment/{experiment.pk}/change/").content.decode()
    assert "keeps 5% of shoppers on the slot's baseline pdp_similar-legacy; the experiment gets 95%" in page
    assert "50.0% of this slot's traffic → 47.5% of all shoppers" in page


@pytest.mark.django_db
def test_saving_a_running_experiment_does_not_warn_about_arms_nobody_changed(merchandiser):
    running = Experiment.objects.get(key="pdp-similar-test")
    data = {"auto_conclude": "on", "prob_best_threshold": "0.95", **GUARDRAILS_NONE}
    data |= {"expected_loss_epsilon": "0.001", "arms-TOTAL_FORMS": "2", "arms-INITIAL_FORMS": "2"}
    # What the browser posts back for the frozen arms inline: the rows' ids, nothing else.
    for n, arm in enumerate(running.arms.order_by("key")):
        data |= {f"arms-{n}-id": arm.pk, f"arms-{n}-experiment": running.pk}
    response = merchandiser.post(f"/admin/experiments/experiment/{running.pk}/change/", data)
    assert response.status_code == 302
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert not any("arms cannot be edited" in m for m in shown), shown


@pytest.mark.django_db
def test_the_add_page_says_when_a_bandit_shortens_a_test_and_asks_for_the_mde(merchandiser):
    page = merchandiser.get(ADD_URL).content.decode()
    assert "With 3 or more arms a bandit" in page
    assert "With 2 arms it decides no sooner" in page
    assert "(regret)" in page
    assert 'name="minimum_detectable_effect"' in page
    assert 'value="0.004"' in page


@pytest.mark.django_db
def test_a_form_without_the_mde_keeps_its_default_and_a_set_one_is_kept(merchandiser):
    slot, legacy, challenger = _similar_variants()
    arms = [("A", legacy, True), ("B", challenger, False)]
    assert merchandiser.post(ADD_URL, _add_form(slot, arms)).status_code == 302
    assert Experiment.objects.get(key="pdp-similar-new").minimum_detectable_effect == 0.004
    form = _add_form(slot, arms, key="pdp-similar-mde", minimum_detectable_effect="0.01")
    assert merchandiser.post(ADD_URL, form).status_code == 302
    assert Experiment.objects.get(key="pdp-similar-mde").minimum_detectable_effect == 0.01
