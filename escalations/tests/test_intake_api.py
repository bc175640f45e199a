"""Channel intake API: machine clients with an ``intake`` key open cases once per event id; bad input is a 4xx
with field errors and writes nothing."""

import hashlib
import hmac
import json

import pytest

from cases.auth import api_key_create
from cases.models import Callback, Case, Message, Priority
from customers.tests.factories import CustomerFactory
from escalations.models import IntakeEvent, SocialPost, TriageDecision

pytestmark = pytest.mark.django_db
BASE = "/api/v1/intake"
CARD = "4111 1111 1111 1111"


def counts():
    return (Case.objects.count(), IntakeEvent.objects.count(), Message.objects.count(), TriageDecision.objects.count())


def test_assistant_handover_creates_a_live_chat_case_with_the_transcript(intake_client, customer, departments):
    body = {
        "event_id": "conv-1",
        "customer_id": customer.pk,
        "transcript": [
            {"role": "customer", "text": "talk to a representative"},
            {"role": "assistant", "text": "Tell me more first"},
            {"role": "customer", "text": f"talk to a representative, my card {CARD} was charged twice"},
        ],
    }

    response = intake_client.post(f"{BASE}/assistant-handover/", body, format="json")

    assert response.status_code == 201, response.json()
    case = Case.objects.get(reference=response.json()["case"])
    assert case.channel == "chat" and case.department.slug == "general"
    assert [m.kind for m in case.messages.order_by("id")] == ["customer", "assistant", "customer"]
    assert "1111 1111" not in case.messages.last().body
    assert {r["trigger"] for r in case.escalation_reasons} >= {"repeated_representative", "assistant_handover"}
    assert case.triage_decisions.count() == 1
    assert "1111 1111" not in json.dumps(IntakeEvent.objects.get().payload)


def test_redelivery_returns_the_first_case_and_writes_nothing(intake_client, customer, departments):
    body = {"customer_id": customer.pk, "transcript": [{"role": "customer", "text": "where is my package"}]}
    first = intake_client.post(f"{BASE}/assistant-handover/", body, format="json", HTTP_IDEMPOTENCY_KEY="evt-9")
    before = counts()

    again = intake_client.post(f"{BASE}/assistant-handover/", body, format="json", HTTP_IDEMPOTENCY_KEY="evt-9")

    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["replayed"] is True and again.json()["case"] == first.json()["case"]
    assert counts() == before


def test_callback_request_normalises_the_phone_and_opens_a_callback(intake_client, customer, departments):
    response = intake_client.post(
        f"{BASE}/callbacks/",
        {"event_id": "cb-1", "customer_id": customer.pk, "phone": "(415) 555-0199", "reason": "my order is late"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    callback = Callback.objects.get(case__reference=response.json()["case"])
    assert callback.phone == "+14155550199"
    assert callback.case.channel == "callback" and callback.case.intent == "late_delivery"


@pytest.mark.parametrize("phone", ["12", "not a phone", "+1 555", "+999999999999999999"])
def test_malformed_phone_is_a_field_error_and_writes_nothing(intake_client, customer, departments, phone):
    before = counts()

    response = intake_client.post(
        f"{BASE}/callbacks/", {"event_id": "cb-x", "customer_id": customer.pk, "phone": phone}, format="json"
    )

    assert response.status_code == 400
    assert "phone" in response.json()["errors"]
    assert counts() == before


def test_social_mention_finds_the_customer_by_handle_and_queues_social_care(intake_client, departments):
    customer = CustomerFactory(social_handle="carol_buys")
    body = {"platform": "x", "post_id": "1789", "handle": "@carol_buys", "text": "@AmazonHelp my order is late again"}

    response = intake_client.post(f"{BASE}/social-mentions/", body, format="json")
    again = intake_client.post(f"{BASE}/social-mentions/", body, format="json")

    assert response.status_code == 201 and again.status_code == 200
    case = Case.objects.get(reference=response.json()["case"])
    assert case.customer == customer and case.channel == "social" and case.department.slug == "social"
    assert SocialPost.objects.get().case == case


def test_social_security_mention_goes_to_fraud_urgent(intake_client, departments):
    CustomerFactory(social_handle="dan")
    body = {"platform": "instagram", "post_id": "p1", "handle": "dan", "text": "someone hacked my account"}

    response = intake_client.post(f"{BASE}/social-mentions/", body, format="json")

    assert response.json()["department"] == "fraud" and response.json()["priority"] == Priority.URGENT


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"platform": "myspace", "post_id": "1", "handle": "x", "text": "hi"}, "platform"),
        ({"platform": "x", "post_id": "1", "handle": "nobody-here", "text": "hi"}, "handle"),
        ({"platform": "x", "post_id": "1", "handle": "x", "text": ""}, "text"),
        ({"platform": "x", "post_id": "1", "handle": "x", "text": "a" * 5001}, "text"),
    ],
)
def test_bad_social_input_is_a_field_error(intake_client, departments, body, field):
    CustomerFactory(social_handle="x")

    response = intake_client.post(f"{BASE}/social-mentions/", body, format="json")

    assert response.status_code == 400
    payload = response.json()
    assert field in payload.get("errors", payload)
    assert Case.objects.count() == 0 and IntakeEvent.objects.count() == 0


def test_phone_call_by_caller_number(intake_client, customer, departments):
    response = intake_client.post(
        f"{BASE}/phone-calls/",
        {"event_id": "call-1", "caller": customer.phone, "summary": "caller says the package is late"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["channel"] == "phone"


def test_unknown_customer_is_a_field_error(intake_client, departments):
    response = intake_client.post(
        f"{BASE}/phone-calls/", {"event_id": "call-2", "customer_id": 999999, "summary": "hello"}, format="json"
    )

    assert response.status_code == 400
    assert "customer_id" in response.json()["errors"]


def test_settlement_claim_email_goes_to_claims(intake_client, customer, departments):
    response = intake_client.post(
        f"{BASE}/settlement-claims/",
        {"event_id": "msg-1", "from_email": customer.email, "subject": "My claim", "body": "settlement claim 123"},
        format="json",
    )

    assert response.status_code == 201
    case = Case.objects.get(reference=response.json()["case"])
    assert case.department.slug == "claims" and case.intent == "settlement_claim" and case.channel == "email"


def test_fraud_report_is_urgent_in_the_fraud_queue(intake_client, customer, departments):
    response = intake_client.post(
        f"{BASE}/fraud-reports/",
        {"event_id": "f-1", "customer_id": customer.pk, "text": "an email asked for my password: hunter2"},
        format="json",
    )

    assert response.status_code == 201
    case = Case.objects.get(reference=response.json()["case"])
    assert case.department.slug == "fraud" and case.priority == Priority.URGENT
    assert "hunter2" not in case.messages.get().body


def test_missing_event_id_is_a_field_error(intake_client, customer, departments):
    response = intake_client.post(f"{BASE}/fraud-reports/", {"customer_id": customer.pk, "text": "scam"}, format="json")

    assert response.status_code == 400 and "event_id" in response.json()["errors"]


def test_no_key_bad_key_and_wrong_scope_are_refused(api_client, customer, departments):
    body = {"event_id": "f-2", "customer_id": customer.pk, "text": "scam"}
    assert api_client.post(f"{BASE}/fraud-reports/", body, format="json").status_code in (401, 403)
    api_client.credentials(HTTP_AUTHORIZATION="Bearer rh_nope_nope")
    assert api_client.post(f"{BASE}/fraud-reports/", body, format="json").status_code == 401
    _key, raw = api_key_create(name="carrier", scopes=["carrier"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api_client.post(f"{BASE}/fraud-reports/", body, format="json").status_code == 403
    assert Case.objects.count() == 0


def test_signed_webhooks_are_verified(intake_client, customer, departments):
    body = json.dumps({"event_id": "f-3", "customer_id": customer.pk, "text": "phishing email"}).encode()
    good = "sha256=" + hmac.new(intake_client.key.webhook_secret.encode(), body, hashlib.sha256).hexdigest()

    bad = intake_client.post(
        f"{BASE}/fraud-reports/", body, content_type="application/json", HTTP_X_RH_SIGNATURE="sha256=00"
    )
    ok = intake_client.post(f"{BASE}/fraud-reports/", body, content_type="application/json", HTTP_X_RH_SIGNATURE=good)

    assert bad.status_code == 401
    assert ok.status_code == 201


def test_malformed_json_is_a_400(intake_client, departments):
    response = intake_client.post(f"{BASE}/fraud-reports/", b"{not json", content_type="application/json")

    assert response.status_code == 400


def test_schema_documents_the_intake_endpoints(client, agent):
    client.force_login(agent)  # the schema is served to signed-in users and API keys only
    response = client.get("/api/schema/?format=json")

    paths = json.loads(response.content)["paths"]
    for name in (
        "assistant-handover",
        "callbacks",
        "social-mentions",
        "phone-calls",
        "settlement-claims",
        "fraud-reports",
    ):
        operation = paths[f"/api/v1/intake/{name}/"]["post"]
        assert {"201", "200", "400"} <= set(operation["responses"])


def test_an_oversize_body_is_a_4xx_not_a_500(intake_client, customer, departments):
    body = {"event_id": "big", "customer_id": customer.pk, "text": "x" * (2 * 1024 * 1024)}

    response = intake_client.post(f"{BASE}/fraud-reports/", body, format="json")

    assert 400 <= response.status_code < 500
    assert Case.objects.count() == 0
