"""Fuzz the storefront and analyst endpoints against their OpenAPI schema (schemathesis, in-process WSGI).

The schema is read from ``/api/schema/`` of the real WSGI app; each operation runs the
examples, coverage and fuzzing phases (at most 50 generated examples) against a small storefront.
Checks: no 5xx, only documented status codes and content types, response bodies match the
documented schema, and requests valid by the schema are accepted (the documented request schema
is no looser than the plain-Python validators).
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

from experiments.services.storefront_keys import storefront_key_create
from tests.experiments.conftest import storefront_build
from tests.experiments.roles import role_user

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
analyst_ops = schema.include(path_regex=r"^/api/v1/experiments/$", method="GET")


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
def analyst_headers(db) -> dict[str, str]:
    storefront_build()
    client = Client()
    client.force_login(role_user("fuzz-analyst", "analyst"))
    return {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}


@storefront_ops.parametrize()
@FUZZ
def test_storefront_endpoints_fuzzed(case, storefront_headers):
    case.call_and_validate(headers=storefront_headers, checks=CHECKS)


@analyst_ops.parametrize()
@FUZZ
def test_experiment_list_fuzzed(case, analyst_headers):
    case.call_and_validate(headers=analyst_headers, checks=CHECKS)
