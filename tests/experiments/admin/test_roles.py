"""The access table: storefront key, analyst, merchandiser, anonymous against API, reports and admin."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework_api_key.models import APIKey

from experiments.models import Experiment, Slot
from tests.experiments.roles import role_client
from tests.experiments.storefront_helpers import decisions_for, event, events_post

REPORT_URLS = ("/reports/", "/reports/experiments/pdp-similar-test/", "/reports/program/")
API_REPORT_URLS = (
    "/api/v1/experiments/",
    "/api/v1/experiments/pdp-similar-test/report",
    "/api/v1/program/report",
)


@pytest.fixture
def analyst(storefront):
    return role_client("ana", "analyst")


@pytest.fixture
def merchandiser(storefront):
    return role_client("mia", "merchandiser")


@pytest.mark.django_db
def test_storefront_keys_reach_assignments_and_events_only(api, storefront):
    decisions = decisions_for(api, session_id="s-roles")
    assert (
        events_post(
            api, [event("impression", "s-roles", decision_id=decisions[0]["decision_id"])]
        ).status_code
        == 202
    )
    for url in API_REPORT_URLS:
        assert api.get(url).status_code == 403, url
    for url in (*REPORT_URLS, "/admin/"):
        response = api.get(url)
        assert response.status_code == 302, url
        assert "/admin/login/" in response["Location"], url


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_login(storefront):
    client = Client()
    for url in (*REPORT_URLS, "/admin/", "/admin/experiments/experiment/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/admin/login/" in response["Location"], url
    for url in API_REPORT_URLS:
        assert client.get(url).status_code == 403, url


@pytest.mark.django_db
def test_analysts_read_everything_and_change_nothing(analyst):
    for url in (*REPORT_URLS, *API_REPORT_URLS):
        assert analyst.get(url).status_code == 200, url
    experiment = Experiment.objects.get(key="pdp-similar-test")
    slot = Slot.objects.get(key="pdp_similar")
    for url in ("/admin/experiments/experiment/", "/admin/experiments/slot/", "/admin/experiments/variant/"):
        assert analyst.get(url).status_code == 200, url
    page = analyst.get(f"/admin/experiments/experiment/{experiment.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    assert "lifecycle-pause" not in page
    assert analyst.post(f"/admin/experiments/slot/{slot.pk}/change/", {"default_k": "3"}).status_code == 403
    assert analyst.get("/admin/experiments/experiment/add/").status_code == 403
    assert analyst.post(f"/admin/experiments/experiment/{experiment.pk}/lifecycle/pause/").status_code == 403
    experiment.refresh_from_db()
    assert experiment.status == "running"
    assert analyst.get("/admin/auth/user/").status_code == 403


@pytest.mark.django_db
def test_merchandisers_change_slots_variants_experiments_but_not_users_or_keys(merchandiser):
    slot = Slot.objects.get(key="pdp_similar")
    for url in ("/admin/experiments/experiment/add/", "/admin/experiments/variant/add/", "/reports/"):
        assert merchandiser.get(url).status_code == 200, url
    assert merchandiser.get(f"/admin/experiments/slot/{slot.pk}/change/").status_code == 200
    for url in ("/admin/auth/user/", "/admin/auth/group/", "/admin/rest_framework_api_key/apikey/"):
        assert merchandiser.get(url).status_code == 403, url
    assert merchandiser.post("/admin/auth/user/add/", {"username": "x"}).status_code == 403
    assert not User.objects.filter(username="x").exists()
    assert merchandiser.post("/admin/rest_framework_api_key/apikey/add/", {"name": "k"}).status_code == 403
    assert not APIKey.objects.filter(name="k").exists()
