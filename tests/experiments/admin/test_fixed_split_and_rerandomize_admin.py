"""The admin: fixed weights checked in the arm formset, a fixed start's split, and the re-randomize step."""

import pytest

from experiments.models import Experiment, Slot, Variant
from experiments.services.experiments import experiment_conclude
from tests.experiments.admin.test_experiment_admin import GUARDRAILS_NONE
from tests.experiments.roles import role_client

ADD_URL = "/admin/experiments/experiment/add/"


@pytest.fixture
def merchandiser(storefront):
    return role_client("mia", "merchandiser")


def _add_form(policy: str, fixed: tuple[str, str]) -> dict:
    slot = Slot.objects.get(key="pdp_similar")
    variants = [Variant.objects.get(key=f"pdp_similar-{name}") for name in ("legacy", "category")]
    data = {
        "key": "pdp-similar-split",
        "slot": slot.pk,
        "policy": policy,
        "reward_metric": "click",
        "randomization_unit": "session",
        "exploration_floor": "0.1",
        "burn_in": "100",
        "prior_alpha": "1",
        "prior_beta": "1",
        "prob_best_threshold": "0.95",
        "expected_loss_epsilon": "0.001",
        **GUARDRAILS_NONE,
        "arms-TOTAL_FORMS": "2",
        "arms-INITIAL_FORMS": "0",
        "arms-MIN_NUM_FORMS": "0",
        "arms-MAX_NUM_FORMS": "1000",
    }
    for n, (key, variant, weight) in enumerate(zip("AB", variants, fixed, strict=True)):
        data |= {f"arms-{n}-key": key, f"arms-{n}-variant": variant.pk, f"arms-{n}-fixed_weight": weight}
    data["arms-0-is_control"] = "on"
    return data


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("policy", "fixed", "message"),
    [
        ("fixed", ("0.9", ""), "Give every arm a fixed weight, or none for an even split."),
        ("fixed", ("0.9", "0.2"), "Fixed weights must add up to 1; these add up to 1.1."),
        ("thompson", ("0.9", "0.1"), "Fixed weights apply only to the fixed-split policy"),
    ],
)
def test_the_arm_formset_refuses_fixed_weights_that_do_not_make_a_split(merchandiser, policy, fixed, message):
    response = merchandiser.post(ADD_URL, _add_form(policy, fixed))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Experiment.objects.filter(key="pdp-similar-split").exists()


@pytest.mark.django_db
def test_starting_a_fixed_split_from_the_admin_says_and_serves_the_split(merchandiser):
    running = Experiment.objects.get(key="pdp-similar-test")
    experiment_conclude(experiment=running, winner=None)
    response = merchandiser.post(ADD_URL, _add_form("fixed", ("0.9", "0.1")))
    assert response.status_code == 302
    draft = Experiment.objects.get(key="pdp-similar-split")
    change_page = merchandiser.get(f"/admin/experiments/experiment/{draft.pk}/change/").content.decode()
    assert "A (pdp_similar-legacy): 90.0% of this slot" in change_page  # the split it will start with
    url = f"/admin/experiments/experiment/{draft.pk}/lifecycle/start/"
    page = merchandiser.get(url).content.decode()
    assert "Arm A (pdp_similar-legacy) gets 90.0% of the experiment&#x27;s traffic" in page
    assert "Arm B (pdp_similar-category) gets 10.0%" in page
    done = merchandiser.post(url, {}, follow=True)
    assert "Experiment pdp-similar-split: start done." in [str(m) for m in done.context["messages"]]
    weights = draft.arms.order_by("key").values_list("weight", flat=True)
    assert list(weights) == pytest.approx([0.9, 0.1], abs=1e-9)


@pytest.mark.django_db
def test_re_randomizing_from_the_admin_says_what_it_does_then_draws_again(merchandiser):
    running = Experiment.objects.get(key="pdp-similar-test")
    salt = running.salt
    url = f"/admin/experiments/experiment/{running.pk}/lifecycle/rerandomize/"
    change_page = merchandiser.get(f"/admin/experiments/experiment/{running.pk}/change/").content.decode()
    assert url in change_page
    page = merchandiser.get(url).content.decode()
    assert "Every session unit is drawn again with a new salt" in page
    assert "change arm" in page
    assert "Reports then mix exposures from before and after" in page
    running.refresh_from_db()
    assert running.salt == salt  # the page alone changes nothing
    assert merchandiser.post(url, {}).status_code == 302
    running.refresh_from_db()
    assert running.salt != salt
    record = running.history.first()
    assert record.history_user.username == "mia"
    assert record.history_change_reason.startswith("Re-randomized by mia")


@pytest.mark.django_db
def test_a_draft_cannot_be_re_randomized(merchandiser):
    running = Experiment.objects.get(key="pdp-similar-test")
    experiment_conclude(experiment=running, winner=None)
    merchandiser.post(ADD_URL, _add_form("thompson", ("", "")))
    draft = Experiment.objects.get(key="pdp-similar-split")
    response = merchandiser.post(f"/admin/experiments/experiment/{draft.pk}/lifecycle/rerandomize/", {})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.history.count() == 1
