"""The OpenAPI schema and its offline docs, and Schemathesis fuzzing every operation of the REST API.

Schemathesis runs in ``make test`` with a fixed seed and a bounded number of examples per operation; the checks are
"no 5xx" and "every response matches the documented schema and content type". The schema is generated from the code
(drf-spectacular), so an endpoint is fuzzed as soon as it is routed.
"""

import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from cases.models import ApiKey
from cases.services.api_keys import api_key_create

EXAMPLES_PER_OPERATION = 20
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _schema_dict() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


schema = schemathesis.openapi.from_dict(_schema_dict())
schema.app = get_wsgi_application()
HAS_OPERATIONS = bool(schema.raw_schema.get("paths"))


@pytest.fixture
def full_access_key(db):
    _, raw = api_key_create(name="fuzzer", scopes=list(ApiKey.Scope.values))
    return raw


@pytest.fixture
def wsgi_in_test_transaction():
    """Like Django's test client: the WSGI handler must not close the test's DB connection after each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_schema_is_served_and_every_operation_has_an_id(client, agent):
    client.force_login(agent)
    response = client.get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    body = response.json()
    assert body["info"]["title"] == "Resolution Hub API"
    ids = [op["operationId"] for path in body.get("paths", {}).values() for op in path.values() if isinstance(op, dict)]
    assert len(ids) == len(set(ids))


@pytest.mark.django_db
def test_interactive_docs_work_offline_with_no_cdn_and_no_inline_script(client, agent):
    client.force_login(agent)
    page = client.get(reverse("api-docs"))
    assert page.status_code == 200
    html = page.content.decode()
    external = re.findall(r"""(?:src|href)=["'](https?:)?//""", html)
    assert external == [], "the docs page must load nothing from another host"
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    init = client.get(reverse("api-docs") + "?script=")
    assert init.status_code == 200
    assert "cdn" not in init.content.decode().lower()


if HAS_OPERATIONS:

    @schema.parametrize()
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @pytest.mark.django_db
    def test_api_fuzz_no_server_errors_and_responses_match_the_schema(case, full_access_key, wsgi_in_test_transaction):
        response = case.call(headers={"Authorization": f"Bearer {full_access_key}"})
        case.validate_response(response, checks=CHECKS)

else:

    def test_api_fuzz_has_nothing_to_fuzz_yet():
        assert schema.raw_schema.get("paths", {}) == {}
