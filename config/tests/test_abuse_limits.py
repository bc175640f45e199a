"""Rate limits on intake and money endpoints (429 + Retry-After) and the request size cap (413)."""

import json

import pytest
from django.test import override_settings

from cases.services.api_keys import api_key_create

pytestmark = [pytest.mark.urls("config.tests.urls_probe"), pytest.mark.django_db]


@override_settings(RH_THROTTLE_RATES={"intake": "3/min", "money": "2/min"})
def test_intake_is_rate_limited_per_api_key_with_429_and_retry_after(api_client):
    # given two integrations with their own keys
    _, bot = api_key_create(name="assistant", scopes=["intake"])
    _, social = api_key_create(name="social", scopes=["intake"])
    # when the assistant sends more than 3 requests in a minute
    codes = [
        api_client.post("/probe/intake/", {}, format="json", HTTP_AUTHORIZATION=f"Bearer {bot}").status_code
        for _ in range(4)
    ]
    # then the fourth is refused with 429 and told when to retry
    assert codes == [201, 201, 201, 429]
    refused = api_client.post("/probe/intake/", {}, format="json", HTTP_AUTHORIZATION=f"Bearer {bot}")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 61
    # and the other integration is not affected
    assert (
        api_client.post("/probe/intake/", {}, format="json", HTTP_AUTHORIZATION=f"Bearer {social}").status_code == 201
    )


@override_settings(RH_THROTTLE_RATES={"intake": "3/min", "money": "2/min"})
def test_money_endpoints_have_their_own_tighter_limit(api_client):
    codes = [api_client.post("/probe/money/", {}, format="json").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


@pytest.mark.parametrize("path", ["/probe/intake/", "/login/"])
def test_request_bodies_over_one_mebibyte_are_refused_with_413(client, path, settings):
    big = json.dumps({"text": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})
    response = client.post(path, big, content_type="application/json")
    assert response.status_code == 413


def test_a_normal_sized_body_passes_the_size_cap(api_client):
    _, raw = api_key_create(name="assistant", scopes=["intake"])
    body = {"text": "x" * 10_000}
    assert api_client.post("/probe/intake/", body, format="json", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 201
