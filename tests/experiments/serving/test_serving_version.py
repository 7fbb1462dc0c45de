"""A web process sees every change that matters to serving within SERVING_REFRESH_S, made anywhere.

The embedded default's cache lives in each process, so these tests pin it to ``LocMemCache`` (also
in the services pass) and play "another process" by leaving this process's cache at the old version.
"""

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_api_key.models import APIKey

from experiments.models import ProgramSettings, Slot, Variant
from experiments.services.program_settings import holdout_share_set
from experiments.services.storefront_keys import storefront_key_create
from experiments.serving import state as serving_state
from experiments.serving.state import SERVING_VERSION_KEY
from tests.experiments.storefront_helpers import decisions_for

LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "TIMEOUT": None}}


@pytest.fixture
def embedded_cache(settings):
    settings.CACHES = LOCAL_CACHE
    cache.clear()


@pytest.fixture
def admin_client(storefront) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="pw-correct-horse-42"))
    return client


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def _status(key: str) -> int:
    return _client(key).post("/api/v1/assignments", {"session_id": "s"}, format="json").status_code


def _elsewhere(change) -> None:
    """Run ``change`` as another process would: this process's own cache never hears of it."""
    version = cache.get(SERVING_VERSION_KEY)
    change()
    cache.set(SERVING_VERSION_KEY, version)


@pytest.mark.django_db
def test_it_accepts_a_key_made_by_another_process(embedded_cache, api, storefront):
    decisions_for(api, session_id="warm")
    made = []
    _elsewhere(lambda: made.append(storefront_key_create(name="made-elsewhere")[1]))
    assert _status(made[0]) == 200


@pytest.mark.django_db
def test_it_serves_a_holdout_changed_by_another_process(embedded_cache, api, storefront):
    decisions_for(api, session_id="warm")
    _elsewhere(lambda: holdout_share_set(share=0.5))
    decisions = [d for n in range(200) for d in decisions_for(api, session_id=f"h{n}", slots=["pdp_similar"])]
    assert sum(d["experiment"] is None for d in decisions) > 60  # 5% would give ~10, 50% gives ~100


@pytest.mark.django_db
def test_it_reads_the_version_at_most_once_per_refresh_interval(
    embedded_cache, settings, api, storefront, monkeypatch, django_assert_num_queries
):
    settings.SERVING_REFRESH_S = 60.0
    now = [1_000.0]
    monkeypatch.setattr(serving_state.time, "monotonic", lambda: now[0])
    decisions_for(api, session_id="warm")
    now[0] += 59.0
    with django_assert_num_queries(0):
        for n in range(5):
            decisions_for(api, session_id=f"hot-{n}")
    now[0] += 2.0
    with django_assert_num_queries(1):  # the version row, unchanged: no reload
        decisions_for(api, session_id="after-interval")
    with django_assert_num_queries(0):
        decisions_for(api, session_id="hot-again")


@pytest.mark.django_db
def test_a_key_revoked_or_deleted_in_the_admin_is_refused(embedded_cache, admin_client):
    _, revoked = storefront_key_create(name="to-revoke")
    _, deleted = storefront_key_create(name="to-delete")
    assert (_status(revoked), _status(deleted)) == (200, 200)
    key = APIKey.objects.get(name="to-revoke")
    url = f"/admin/rest_framework_api_key/apikey/{key.pk}/change/"
    response = admin_client.post(url, {"name": "to-revoke", "revoked": "on", "expiry_date": ""})
    assert response.status_code == 302
    assert APIKey.objects.get(pk=key.pk).revoked
    gone = APIKey.objects.get(name="to-delete")
    response = admin_client.post(f"/admin/rest_framework_api_key/apikey/{gone.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert (_status(revoked), _status(deleted)) == (401, 401)


@pytest.mark.django_db
def test_a_key_made_in_the_admin_is_accepted(embedded_cache, admin_client):
    _status(storefront_key_create(name="warm")[1])
    response = admin_client.post("/admin/rest_framework_api_key/apikey/add/", {"name": "shop-admin"})
    assert response.status_code == 302
    message = next(str(m) for m in response.wsgi_request._messages)
    key = message.split(" is: ")[1].split(". ")[0]
    assert _status(key) == 200


@pytest.mark.django_db
def test_a_slot_deleted_in_the_admin_is_no_longer_served(embedded_cache, admin_client, api):
    slot = Slot.objects.create(key="pdp_extra", name="Extra", page="product", position=99)
    variant = Variant.objects.create(key="pdp_extra-popular", slot=slot, algorithm="popularity")
    Slot.objects.filter(pk=slot.pk).update(baseline_variant=variant)
    holdout_share_set(share=0.05)  # publishes the new slot
    assert "pdp_extra" in {d["slot"] for d in decisions_for(api, session_id="before")}
    Slot.objects.filter(pk=slot.pk).update(baseline_variant=None)
    response = admin_client.post(f"/admin/experiments/slot/{slot.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert "pdp_extra" not in {d["slot"] for d in decisions_for(api, session_id="after")}


@pytest.mark.django_db
def test_a_program_settings_revert_keeps_the_serving_and_catalog_versions(embedded_cache, admin_client):
    program = ProgramSettings.load()
    url = f"/admin/experiments/programsettings/{program.pk}/change/"
    assert admin_client.post(url, {"holdout_share": "0.1"}).status_code == 302
    old = ProgramSettings.history.filter(holdout_share=0.1).latest("history_date")
    ProgramSettings.objects.filter(pk=1).update(catalog_version="catalog-newer")  # an import since
    holdout_share_set(share=0.2)
    before = ProgramSettings.load()
    revert = f"/admin/experiments/programsettings/{program.pk}/history/{old.history_id}/"
    assert admin_client.post(revert, {"holdout_share": "0.1"}).status_code == 302
    after = ProgramSettings.load()
    assert after.holdout_share == pytest.approx(0.1)
    assert after.catalog_version == "catalog-newer"
    assert after.serving_version == before.serving_version + 1
