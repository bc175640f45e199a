"""The help flow pages without a browser: chat, call back, transfer, phishing report, bad input."""

import pytest

from cases.models import Callback, Case, Message, Priority
from customers.tests.factories import CustomerFactory
from escalations.models import Conversation, ConversationMessage

pytestmark = pytest.mark.django_db
CARD = "5500-0000-0000-0004"


@pytest.fixture
def chat(client, customer, departments):
    client.force_login(customer.user)
    return client.post("/help/something-else/")["Location"]


def test_the_chat_reminds_customers_nobody_asks_for_passwords(client, chat):
    page = client.get(chat).content.decode()

    assert "Nobody will ever ask for your password or full card number" in page


def test_request_a_phone_call_offers_the_form_and_call_me_now_opens_a_callback(client, chat, customer):
    offered = client.post(chat, {"text": "Request a phone call"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="call-me-now"' in offered

    response = client.post(chat + "callback/", {"phone": "+1 415 555 0142"})

    assert response.status_code == 302
    case = Case.objects.get()
    assert case.channel == "callback" and case.customer == customer
    assert Callback.objects.get(case=case).phone == "+14155550142"
    assert "Request a phone call" in case.messages.filter(kind="customer").values_list("body", flat=True)
    assert "60 seconds" in client.get(response["Location"]).content.decode()


def test_a_bad_phone_number_is_a_message_on_the_page(client, chat):
    client.post(chat, {"text": "Request a phone call"})

    response = client.post(chat + "callback/", {"phone": "12345"})

    assert response.status_code == 400
    assert "valid phone number" in response.content.decode()
    assert Case.objects.count() == 0


def test_repeated_representative_offers_the_transfer_and_hands_over_the_transcript(client, chat, customer):
    once = client.post(chat, {"text": "Talk to a representative"}, HTTP_HX_REQUEST="true").content.decode()
    twice = client.post(chat, {"text": "Talk to a representative"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="transfer"' not in once and 'id="transfer"' in twice

    response = client.post(chat + "transfer/")
    again = client.post(chat + "transfer/")

    assert response.status_code == 302 and again.status_code == 302
    case = Case.objects.get()
    assert case.channel == "chat" and case.department.slug == "general" and case.status == "new"
    assert case.escalation_reasons[0]["trigger"] == "repeated_representative"
    kinds = list(case.messages.order_by("id").values_list("kind", flat=True))
    assert kinds == ["assistant", "customer", "assistant", "customer", "assistant"]
    assert Conversation.objects.get().status == "handed_over"
    assert case.events.filter(type="triage").exists()


def test_transfer_without_an_escalation_is_refused(client, chat):
    response = client.post(chat + "transfer/")

    assert response.status_code == 400
    assert Case.objects.count() == 0


def test_security_goes_to_the_fraud_queue_urgently(client, chat):
    client.post(chat, {"text": "someone hacked my account"})

    client.post(chat + "transfer/")

    case = Case.objects.get()
    assert case.department.slug == "fraud" and case.priority == Priority.URGENT


def test_card_numbers_typed_into_the_chat_are_never_stored(client, chat):
    client.post(chat, {"text": f"my card {CARD} password: hunter22"})

    bodies = " ".join(ConversationMessage.objects.values_list("body", flat=True))
    assert "0004" not in bodies and "hunter22" not in bodies


@pytest.mark.parametrize("text", ["", "   ", "x" * 5001])
def test_empty_or_oversize_messages_are_refused_on_the_page(client, chat, text):
    response = client.post(chat, {"text": text}, HTTP_HX_REQUEST="true")

    assert response.status_code == 400
    assert ConversationMessage.objects.filter(role="customer").count() == 0


def test_someone_elses_chat_is_not_found(client, chat):
    other = CustomerFactory()
    client.force_login(other.user)

    assert client.get(chat).status_code == 404
    assert client.post(chat, {"text": "hi"}).status_code == 404


def test_phishing_report_opens_an_urgent_fraud_case_once(client, customer, departments):
    client.force_login(customer.user)
    page = client.get("/help/report-phishing/").content.decode()
    token = page.split('name="token" value="')[1].split('"')[0]
    data = {
        "kind": "phishing",
        "text": f"a text asked for my card {CARD}",
        "url": "http://amaz0n.example",
        "token": token,
    }

    first = client.post("/help/report-phishing/", data)
    second = client.post("/help/report-phishing/", data)

    assert first.status_code == 200 and second.status_code == 200
    case = Case.objects.get()
    assert case.department.slug == "fraud" and case.priority == Priority.URGENT
    assert case.intent == "phishing_report"
    assert "0004" not in Message.objects.get(case=case).body


def test_phishing_report_without_text_shows_the_error(client, customer, departments):
    client.force_login(customer.user)

    response = client.post("/help/report-phishing/", {"kind": "phishing", "text": "", "token": "t"})

    assert response.status_code == 400 and Case.objects.count() == 0


def test_staff_are_not_customers(client, agent, departments):
    client.force_login(agent)

    assert client.get("/help/").status_code == 403


def test_anonymous_visitors_are_sent_to_the_customer_sign_in(client):
    assert client.get("/help/")["Location"].startswith("/signin/")


def test_a_closed_department_tells_the_customer_when_it_opens(client, chat, departments):
    from datetime import UTC, datetime, time

    import time_machine

    from cases.models import BusinessHours

    BusinessHours.objects.create(department=departments["ereader"], weekday=0, opens=time(9), closes=time(17))
    # Sunday 2026-11-22 15:00 UTC: closed; opens Monday 09:00 in New York.
    with time_machine.travel(datetime(2026, 11, 22, 15, 0, tzinfo=UTC), tick=False):
        page = client.post(chat, {"text": "my kindle is broken and this is ridiculous!!"}, HTTP_HX_REQUEST="true")

    text = page.content.decode()
    assert "Ereader is closed right now and opens Mon Nov 23, 09:00 (America/New_York)" in text
