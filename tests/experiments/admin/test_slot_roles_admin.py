"""The slot's three variant roles in the admin: baseline read-only and changed on its own page."""

import html

import pytest
from django.contrib.messages import get_messages

from experiments.models import Experiment, ProgramSettings, Slot, Variant
from experiments.services.slots import SlotError, slot_baseline_change
from tests.experiments.roles import role_client

SLOT_FIELDS = ("key", "name", "page", "position", "default_k")


@pytest.fixture
def merchandiser(storefront):
    return role_client("mia", "merchandiser")


def _similar():
    slot = Slot.objects.get(key="pdp_similar")
    return (
        slot,
        Variant.objects.get(key="pdp_similar-legacy"),
        Variant.objects.get(key="pdp_similar-category"),
    )


def _form_data(slot: Slot, **roles) -> dict:
    data = {name: getattr(slot, name) for name in SLOT_FIELDS} | {"active": "on"}
    return data | {k: v.pk if v else "" for k, v in roles.items()}


def _baseline_url(slot: Slot) -> str:
    return f"/admin/experiments/slot/{slot.pk}/baseline/"


@pytest.mark.django_db
def test_the_slot_list_shows_each_slots_baseline_default_and_fallback(merchandiser):
    slot, legacy, challenger = _similar()
    Slot.objects.filter(pk=slot.pk).update(default_variant=challenger)
    page = merchandiser.get("/admin/experiments/slot/").content.decode()
    for header in ("Baseline (holdout)", "Default", "Fallback"):
        assert header in page
    row = page[page.index(">pdp_similar<") :][:2000]
    assert "pdp_similar-legacy" in row
    assert "pdp_similar-category" in row
    assert "= baseline" in row  # the blank fallback


@pytest.mark.django_db
def test_the_change_form_shows_the_baseline_read_only_and_limits_the_other_roles_to_the_slots_variants(
    merchandiser,
):
    slot, legacy, _ = _similar()
    page = html.unescape(merchandiser.get(f"/admin/experiments/slot/{slot.pk}/change/").content.decode())
    assert 'name="baseline_variant"' not in page
    assert f'href="{_baseline_url(slot)}"' in page
    assert "Change baseline…" in page
    assert 'name="default_variant"' in page
    assert 'name="fallback_variant"' in page
    assert "promoting an experiment's winner sets it" in page
    assert "Served when the chosen variant fails" in page
    other = Variant.objects.get(key="pdp_for_you-legacy")
    assert f'value="{other.pk}"' not in page


@pytest.mark.django_db
def test_a_forged_baseline_in_the_change_form_post_does_not_change_it(merchandiser):
    slot, legacy, challenger = _similar()
    data = _form_data(slot, default_variant=challenger, fallback_variant=None) | {
        "baseline_variant": challenger.pk
    }
    assert merchandiser.post(f"/admin/experiments/slot/{slot.pk}/change/", data).status_code == 302
    slot.refresh_from_db()
    assert slot.default_variant == challenger  # the editable role did change
    assert slot.baseline_variant == legacy


@pytest.mark.django_db
def test_reverting_a_slot_from_its_history_keeps_todays_baseline(merchandiser):
    slot, legacy, challenger = _similar()
    old_version = slot.history.latest().history_id  # baseline = legacy, default_k = 10
    slot_baseline_change(slot=slot, variant=challenger, user=None, reason="legacy retired")
    Slot.objects.filter(pk=slot.pk).update(default_k=4)
    url = f"/admin/experiments/slot/{slot.pk}/history/{old_version}/"
    page = merchandiser.get(url).content.decode()
    assert 'name="baseline_variant"' not in page
    response = merchandiser.post(url, _form_data(Slot.history.get(history_id=old_version).instance))
    assert response.status_code == 302
    slot.refresh_from_db()
    assert slot.default_k == 10  # the editable fields were reverted
    assert slot.baseline_variant == challenger
    assert any(
        "The baseline stays pdp_similar-category" in str(m) for m in get_messages(response.wsgi_request)
    )


@pytest.mark.django_db
def test_changing_the_baseline_is_confirmed_explained_and_audited(merchandiser):
    slot, legacy, challenger = _similar()
    version = ProgramSettings.load().serving_version
    page = merchandiser.get(_baseline_url(slot), {"variant": challenger.pk}).content.decode()
    assert 'id="current-baseline">pdp_similar-legacy<' in page
    assert 'id="new-baseline">pdp_similar-category<' in page
    assert "the global holdout (5% of shoppers) is served pdp_similar-category on slot pdp_similar" in page
    assert "program uplift on this slot compares against pdp_similar-category" in page
    assert "read the most recent 500,000 exposures, so they mix until 500,000 exposures" in page
    assert "shoppers outside the holdout also get pdp_similar-category" in page  # the default is blank

    refused = merchandiser.post(
        _baseline_url(slot), {"variant": challenger.pk, "reason": " ", "confirm": "1"}
    )
    assert refused.status_code == 200
    assert "Write why the baseline changes." in refused.content.decode()
    slot.refresh_from_db()
    assert slot.baseline_variant == legacy

    data = {"variant": challenger.pk, "reason": "legacy bestsellers retired", "confirm": "1"}
    assert merchandiser.post(_baseline_url(slot), data).status_code == 302
    slot.refresh_from_db()
    assert slot.baseline_variant == challenger
    record = slot.history.latest()
    assert (record.history_user.username, record.history_change_reason) == (
        "mia",
        "legacy bestsellers retired",
    )
    assert record.prev_record.baseline_variant_id == legacy.pk
    assert ProgramSettings.load().serving_version > version


@pytest.mark.django_db
def test_only_users_who_may_change_slots_can_change_a_baseline(storefront):
    slot, legacy, challenger = _similar()
    analyst = role_client("ana", "analyst")
    data = {"variant": challenger.pk, "reason": "because", "confirm": "1"}
    assert analyst.get(_baseline_url(slot)).status_code == 403
    assert analyst.post(_baseline_url(slot), data).status_code == 403
    slot.refresh_from_db()
    assert slot.baseline_variant == legacy


@pytest.mark.django_db
def test_a_baseline_must_be_one_of_the_slots_own_variants(merchandiser):
    slot, legacy, _ = _similar()
    other = Variant.objects.get(key="pdp_for_you-category")
    with pytest.raises(SlotError) as refused:
        slot_baseline_change(slot=slot, variant=other, user=None, reason="mistake")
    assert refused.value.code == "variant_slot_mismatch"
    data = {"variant": other.pk, "reason": "mistake", "confirm": "1"}
    response = merchandiser.post(_baseline_url(slot), data)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    slot.refresh_from_db()
    assert slot.baseline_variant == legacy


@pytest.mark.django_db
def test_a_new_slot_gets_a_baseline_and_default_out_of_the_box(merchandiser):
    page = merchandiser.get("/admin/experiments/slot/add/").content.decode()
    assert 'name="baseline_variant"' in page
    data = {"key": "cart_upsell", "name": "Cart upsell", "page": "cart", "position": 0, "default_k": 6}
    assert merchandiser.post("/admin/experiments/slot/add/", data | {"active": "on"}).status_code == 302
    slot = Slot.objects.get(key="cart_upsell")
    assert (slot.baseline_variant.key, slot.default_variant.key) == (
        "cart_upsell-baseline",
        "cart_upsell-hybrid",
    )


@pytest.mark.django_db
def test_a_slot_without_a_baseline_sets_it_once_and_is_warned_while_it_has_none(merchandiser):
    page = merchandiser.get("/admin/experiments/slot/add/").content.decode()
    assert "A slot without a baseline cannot serve its holdout" in page
    slot = Slot.objects.create(key="cart_upsell", name="Cart upsell", page="cart")
    variant = Variant.objects.create(key="cart-legacy", slot=slot, algorithm="popularity")
    response = merchandiser.get(f"/admin/experiments/slot/{slot.pk}/change/")
    assert any("has no baseline" in str(m) for m in get_messages(response.wsgi_request))
    assert 'name="baseline_variant"' in response.content.decode()
    change = f"/admin/experiments/slot/{slot.pk}/change/"
    assert merchandiser.post(change, _form_data(slot, baseline_variant=variant)).status_code == 302
    slot.refresh_from_db()
    assert slot.baseline_variant == variant
    assert 'name="baseline_variant"' not in merchandiser.get(change).content.decode()


@pytest.mark.django_db
def test_the_conclude_page_says_promote_changes_the_default_and_leaves_baseline_and_fallback(merchandiser):
    slot, legacy, challenger = _similar()
    Slot.objects.filter(pk=slot.pk).update(fallback_variant=challenger)
    experiment = Experiment.objects.get(key="pdp-similar-test")
    url = f"/admin/experiments/experiment/{experiment.pk}/lifecycle/conclude/"
    page = html.unescape(merchandiser.get(url).content.decode())
    assert (
        "default variant changes from pdp_similar-legacy (blank: the baseline) to the winner's variant"
        in page
    )
    assert (
        "Promote does not change the baseline pdp_similar-legacy (what the 5% global holdout is served and "
        "what program uplift compares against) nor the fallback pdp_similar-category." in page
    )
    assert "The slot's baseline (what the holdout is served" in page  # the promote checkbox's help
    pause = merchandiser.get(
        f"/admin/experiments/experiment/{experiment.pk}/lifecycle/pause/"
    ).content.decode()
    assert "The 5% global holdout keeps being served the baseline pdp_similar-legacy." in pause
