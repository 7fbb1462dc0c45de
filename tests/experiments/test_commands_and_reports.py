import io
import re

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db.models import Sum
from rest_framework.test import APIClient

from experiments.models import Posterior
from experiments.services.posteriors import posteriors_update
from experiments.serving.state import cache_shared


@pytest.mark.django_db
def test_create_storefront_key_prints_a_working_key_on_its_last_line(storefront):
    out = io.StringIO()
    call_command("create_storefront_key", "shop-eu", stdout=out, stderr=io.StringIO())
    key = out.getvalue().strip().splitlines()[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert client.post("/api/v1/assignments", {"session_id": "s"}, format="json").status_code == 200


def test_healthz_needs_no_database(client):
    # No django_db mark: any database access here raises.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_assignments_run_no_sql_once_the_state_is_loaded(
    api, storefront, settings, django_assert_num_queries
):
    if not cache_shared():  # the embedded default reads the version row once per refresh interval
        settings.SERVING_REFRESH_S = 60.0
    api.post("/api/v1/assignments", {"session_id": "warm"}, format="json")
    with django_assert_num_queries(0):
        response = api.post("/api/v1/assignments", {"session_id": "hot"}, format="json")
    assert response.status_code == 200


@pytest.fixture
def analyst_client(storefront):
    user = User.objects.create_user("ana", password="pw-123456789")
    user.groups.add(Group.objects.get(name="analyst"))
    client = APIClient()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_report_has_every_arms_core_figures(analyst_client, api, storefront):
    listing = analyst_client.get("/api/v1/experiments/").json()
    assert {e["slot"] for e in listing} >= {"pdp_similar", "pdp_accessories"}
    report = analyst_client.get("/api/v1/experiments/pdp-similar-test/report").json()
    assert report["experiment"] == "pdp-similar-test"
    assert report["slot"] == "pdp_similar"
    assert [a["arm"] for a in report["arms"]] == ["A", "B"]
    assert sum(a["prob_best"] for a in report["arms"]) == pytest.approx(1.0)
    for arm in report["arms"]:
        assert set(arm) >= {
            "trials",
            "successes",
            "mean",
            "ci_low",
            "ci_high",
            "prob_best",
            "expected_loss",
            "weight",
        }
        assert arm["ci_low"] <= arm["mean"] <= arm["ci_high"]


@pytest.mark.django_db
def test_storefront_keys_and_anonymous_users_cannot_read_reports(api, storefront):
    assert api.get("/api/v1/experiments/pdp-similar-test/report").status_code == 403
    assert APIClient().get("/api/v1/experiments/").status_code == 403


@pytest.mark.django_db
def test_seed_demo_then_simulate_traffic_finds_leaders(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    out = io.StringIO()
    call_command("seed_demo", "--items", "300", "--sessions", "200", stdout=out)
    assert "running experiments" in out.getvalue()
    out = io.StringIO()
    call_command(
        "simulate_traffic",
        "--sessions",
        "40",
        "--allocate-every",
        "20",
        "--port",
        "8031",
        stdout=out,
        stderr=io.StringIO(),
    )
    text = out.getvalue()
    assert "40 sessions" in text
    assert "Leading variant per slot:" in text
    table = text[text.index("Leading variant per slot:") :].splitlines()[1:]
    assert table[0].split()[:2] == ["slot", "leader"]
    rows = {line.split()[0]: line for line in table[2:-1]}
    assert {"pdp_similar", "email_recs", "cart_upsell", "post_purchase"} <= set(rows)
    assert "http://127.0.0.1:8031/reports/experiments/email-recs-demo-" in rows["email_recs"]
    assert table[-1].endswith("http://127.0.0.1:8031/reports/program/")
    emails = int(re.search(r"\((\d+) emails opened\)", text).group(1))
    assert emails > 0
    # The email slot gets traffic like the product pages. (Cart and post-purchase pages need a
    # cart or a purchase, which 40 sessions need not have.) With a broker and no worker here, do
    # the worker's job in-process.
    posteriors_update()
    for slot in ("email_recs", "pdp_similar"):
        trials = Posterior.objects.filter(arm__experiment__slot__key=slot).aggregate(Sum("trials"))
        assert trials["trials__sum"] > 0, slot


@pytest.mark.django_db
def test_train_models_publishes_new_versions_with_offline_metrics(storefront):
    from experiments.models import Variant
    from experiments.serving.model_store import registry

    before = Variant.objects.get(key="pdp_similar-legacy").model_version
    out = io.StringIO()
    call_command("train_models", "--algorithm", "popularity", stdout=out)
    after = Variant.objects.get(key="pdp_similar-legacy").model_version
    assert after != before
    assert "24 variants now serve new model versions" in out.getvalue()
    metrics = registry().manifest(after).metrics
    assert 0.0 <= metrics["ndcg@10"] <= 1.0
    assert metrics["eval_users"] > 0


@pytest.mark.django_db
def test_the_openapi_schema_documents_the_storefront_contract(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert {"/api/v1/assignments", "/api/v1/events"} <= set(schema["paths"])
    assert "StorefrontKey" in schema["components"]["securitySchemes"]
    event_fields = schema["components"]["schemas"]["Event"]["properties"]
    assert {
        "event_id",
        "type",
        "ts",
        "session_id",
        "decision_id",
        "item_id",
        "value",
        "dwell_ms",
        "items",
    } <= set(event_fields)


@pytest.mark.django_db
def test_demo_users_prints_the_admin_url_of_the_port_the_demo_serves_on():
    out = io.StringIO()
    call_command("demo_users", "--port", "8030", stdout=out)
    assert "http://127.0.0.1:8030/admin/" in out.getvalue()
