"""Fuzz the storefront and analyst endpoints against their OpenAPI schema (schemathesis, in-process WSGI).

The schema is read from ``/api/schema/`` of the real WSGI app; each operation runs the
examples, coverage and fuzzing phases (at most 50 generated examples) against a small storefront.
Checks: no 5xx, only documented status codes and content types, response bodies match the
documented schema, and requests valid by the schema are accepted (the documented request schema
is no looser than the plain-Python validators). Random experiment keys mostly get 404, so the
reports are also requested once with data that fills every section.
"""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from experiments.models import Experiment, Guardrail
from experiments.services.allocations import allocations_recompute
from experiments.services.experiments import ArmSpec, experiment_create, experiment_start
from experiments.services.storefront_keys import storefront_key_create
from tests.experiments.conftest import storefront_build
from tests.experiments.roles import exposures_log, posteriors_set, role_user

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    positive_data_acceptance,
]
FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)

storefront_ops = schema.include(path_regex=r"^/api/v1/(assignments|events)$", method="POST")
analyst_ops = schema.include(
    path_regex=r"^/api/v1/(experiments/|experiments/\{key\}/report|program/report)$", method="GET"
)
EXPERIMENT_REPORT = "/api/v1/experiments/{key}/report"


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Like Django's test client: a request must not close the connection that holds the test's
    transaction (on PostgreSQL that closes it for real and every later query fails)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def storefront_headers(db, settings) -> dict[str, str]:
    settings.STOREFRONT_RATE_PER_S = 0  # the fuzzer's burst must not be answered 429
    storefront_build()
    return {"Authorization": f"Api-Key {storefront_key_create(name='fuzz')[1]}"}


@pytest.fixture
def analyst_cookies(db) -> dict[str, str]:
    """The session as a cookie: the WSGI test client replaces a ``Cookie`` header with its own jar."""
    storefront_build()
    client = Client()
    client.force_login(role_user("fuzz-analyst", "analyst"))
    return {"sessionid": client.cookies["sessionid"].value}


@storefront_ops.parametrize()
@FUZZ
def test_storefront_endpoints_fuzzed(case, storefront_headers):
    case.call_and_validate(headers=storefront_headers, checks=CHECKS)


@analyst_ops.parametrize()
@FUZZ
def test_analyst_endpoints_fuzzed(case, analyst_cookies):
    case.call_and_validate(cookies=analyst_cookies, checks=CHECKS)


def _bandit_with_history() -> str:
    """A Thompson experiment with a snapshot, an epoch, logged decisions and a known and unknown guardrail."""
    experiment = Experiment.objects.get(key="pdp-similar-test")
    Guardrail.objects.create(experiment=experiment, metric="click", tolerance=0.05)
    Guardrail.objects.create(experiment=experiment, metric="dwell", tolerance=0.1)  # unchecked: unknown
    posteriors_set(experiment, {"A": (4000, 200), "B": (4000, 120)})
    allocations_recompute(experiment_ids=[experiment.id])
    experiment.refresh_from_db()
    posteriors_set(experiment, {"A": (5000, 250), "B": (5000, 150)})
    exposures_log(experiment, [("A", 0.5, n % 20 == 0) for n in range(300)])
    exposures_log(experiment, [("B", 0.5, n % 30 == 0) for n in range(300)])
    exposures_log(experiment, [("A", 1.0, n % 25 == 0) for n in range(300)], holdout=True)
    return experiment.key


def _fixed_split() -> str:
    slot = Experiment.objects.get(key="pdp-accessories-test").slot
    Experiment.objects.filter(key="pdp-accessories-test").update(status="concluded")
    legacy, challenger = slot.variants.order_by("key")
    experiment = experiment_create(
        key="pdp-accessories-fixed",
        slot=slot,
        policy="fixed",
        arms=[
            ArmSpec("A", challenger, is_control=True, fixed_weight=0.5),
            ArmSpec("B", legacy, fixed_weight=0.5),
        ],
    )
    experiment_start(experiment=experiment)
    posteriors_set(experiment, {"A": (6000, 300), "B": (4000, 260)})
    return experiment.key


def test_full_reports_match_the_documented_schema(analyst_cookies):
    bandit, fixed = _bandit_with_history(), _fixed_split()
    reports = {}
    for key in (bandit, fixed):
        case = schema[EXPERIMENT_REPORT]["GET"].Case(path_parameters={"key": key})
        response = case.call_and_validate(cookies=analyst_cookies, checks=CHECKS)
        assert response.status_code == 200
        reports[key] = response.json()
    program = schema["/api/v1/program/report"]["GET"].Case()
    program_report = program.call_and_validate(cookies=analyst_cookies, checks=CHECKS).json()

    report = reports[bandit]
    assert [arm["arm"] for arm in report["arms"]] == ["A", "B"]
    assert report["arms"][1]["uplift"] is not None
    assert report["stopping"]["reason"] in {"confident", "max_samples", "continue"}
    assert [g["metric"] for g in report["guardrails"]] == ["click", "dwell"]
    assert report["epochs"]["available"] is True
    assert report["fixed_split"] is None
    assert report["off_policy"]["arms"][1]["snips"] is not None
    assert report["history"]["series"]["allocation_version"]
    assert report["densities"]["arms"]
    assert reports[fixed]["fixed_split"]["srm"]["mismatch"] is True
    assert reports[fixed]["fixed_split"]["sequential"]
    assert program_report["metrics"]["ctr"]["uplift"] is not None
