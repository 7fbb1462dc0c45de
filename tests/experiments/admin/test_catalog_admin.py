import pytest

from experiments.models import Experiment, ProgramSettings, Slot, Variant
from tests.experiments.roles import exposures_log, role_client


@pytest.fixture
def merchandiser(storefront):
    return role_client("mia", "merchandiser")


@pytest.mark.django_db
def test_the_slot_list_shows_the_running_experiment_leader_and_todays_ctr(merchandiser):
    experiment = Experiment.objects.get(key="pdp-similar-test")
    exposures_log(experiment, [("A", 0.5, True), ("B", 0.5, False), ("B", 0.5, False), ("A", 0.5, False)])
    page = merchandiser.get("/admin/experiments/slot/").content.decode()
    assert "pdp-similar-test" in page
    assert "25.00%" in page


@pytest.mark.django_db
def test_a_merchandiser_edits_a_slots_item_count_and_fallback_and_it_is_audited(merchandiser):
    slot = Slot.objects.get(key="pdp_similar")
    challenger = Variant.objects.get(key="pdp_similar-category")
    data = {"key": slot.key, "name": slot.name, "page": slot.page, "position": slot.position}
    data |= {"default_k": "6", "fallback_variant": challenger.pk, "active": "on"}
    assert merchandiser.post(f"/admin/experiments/slot/{slot.pk}/change/", data).status_code == 302
    slot.refresh_from_db()
    assert (slot.default_k, slot.fallback_variant) == (6, challenger)
    latest = slot.history.first()
    delta = latest.diff_against(latest.prev_record)
    assert {c.field for c in delta.changes} == {"default_k", "fallback_variant"}
    assert latest.history_user.username == "mia"
    history = merchandiser.get(f"/admin/experiments/slot/{slot.pk}/history/").content.decode()
    assert "mia" in history


@pytest.mark.django_db
def test_variants_pick_their_model_version_from_the_trained_artifacts(merchandiser):
    variant = Variant.objects.get(key="pdp_similar-category")
    page = merchandiser.get(f"/admin/experiments/variant/{variant.pk}/change/").content.decode()
    assert f'<option value="{variant.model_version}" selected' in page
    assert "Offline metrics of the trained versions" in page
    # Each metric in its own labelled column, with its unit; never a raw dump of the manifest.
    assert "<th>recall@10</th>" in page
    assert "<th>peak memory</th>" in page
    assert "fit_total_s=" not in page
    assert "recall@10=" not in page
    data = {"key": variant.key, "slot": variant.slot_id, "algorithm": "popularity", "params": "{}"}
    response = merchandiser.post(
        f"/admin/experiments/variant/{variant.pk}/change/",
        data | {"model_version": "als-20260101T000000-abcd"},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.django_db
def test_the_holdout_share_is_set_in_one_place(merchandiser):
    response = merchandiser.get("/admin/experiments/programsettings/")
    assert response.status_code == 302
    assert merchandiser.post(response["Location"], {"holdout_share": "0.1"}).status_code == 302
    program = ProgramSettings.load()
    assert program.holdout_share == 0.1
    assert program.history.first().history_user.username == "mia"
    assert merchandiser.get("/admin/experiments/programsettings/add/").status_code == 403
