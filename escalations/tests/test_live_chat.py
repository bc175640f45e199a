"""The customer's live chat page: messages both ways, the assistant goes quiet once a human joins."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, Message
from cases.services.cases import case_create
from cases.services.messages import message_post
from cases.tests.factories import DepartmentFactory
from customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat_case(customer, department):
    return case_create(customer=customer, channel="chat", department=department, subject="Parcel missing")


def test_customer_sends_a_message_and_the_assistant_holds_until_a_human_joins(client, customer, chat_case, agent):
    # given the customer on their live chat page, nobody has joined yet
    client.force_login(customer.user)
    url = reverse("escalations:live_chat", kwargs={"reference": chat_case.reference})
    assert client.get(url).status_code == 200
    # when they write
    response = client.post(url, {"body": "Hello, anyone there?"}, headers={"HX-Request": "true"})
    # then it is stored as theirs, the poller is told to refresh, and the assistant acknowledges once
    assert response.status_code == 200 and response["HX-Trigger"] == "chat-refresh"
    kinds = list(chat_case.messages.values_list("kind", flat=True))
    assert kinds == [Message.Kind.CUSTOMER, Message.Kind.ASSISTANT]
    # with the promise in the department's time zone, as the status line gives it
    holding = chat_case.messages.get(kind=Message.Kind.ASSISTANT).body
    assert re.search(r"shortly\. We will reply by [^.]*\((EST|EDT)\)\.$", holding), holding
    # when an associate has joined (holds the case) and the customer writes again
    Case.objects.filter(pk=chat_case.pk).update(status=Case.Status.ASSIGNED, assignee=agent)
    client.post(url, {"body": "Still there?"}, headers={"HX-Request": "true"})
    # then the assistant stays silent
    assert chat_case.messages.filter(kind=Message.Kind.ASSISTANT).count() == 1
    assert chat_case.messages.last().body == "Still there?"


def test_poll_returns_only_new_public_messages(client, customer, chat_case, agent):
    client.force_login(customer.user)
    Case.objects.filter(pk=chat_case.pk).update(status=Case.Status.ASSIGNED, assignee=agent)
    first = message_post(case_id=chat_case.pk, kind="agent", body="Hi, I am Alice.", author=agent)
    message_post(case_id=chat_case.pk, kind="note", body="internal: check GPS", author=agent)
    second = message_post(case_id=chat_case.pk, kind="agent", body="Checking the photo now.", author=agent)
    url = reverse("escalations:live_chat_poll", kwargs={"reference": chat_case.reference})
    html = client.get(url, {"after": first.pk}, headers={"HX-Request": "true"}).content.decode()
    assert "Checking the photo now." in html and "Hi, I am Alice." not in html
    assert "internal: check GPS" not in html
    assert f"after={second.pk}" in html
    assert "An associate has joined" in html


def test_blank_message_is_refused_with_a_message_and_nothing_stored(client, customer, chat_case):
    client.force_login(customer.user)
    url = reverse("escalations:live_chat", kwargs={"reference": chat_case.reference})
    response = client.post(url, {"body": "   "}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Write a message first." in response.content.decode()
    assert chat_case.messages.count() == 0


def test_another_customer_cannot_open_or_post_to_the_chat(client, chat_case):
    other = CustomerFactory(user__username="mallory")
    client.force_login(other.user)
    url = reverse("escalations:live_chat", kwargs={"reference": chat_case.reference})
    assert client.get(url).status_code == 404
    assert client.post(url, {"body": "hi"}).status_code == 404
    assert chat_case.messages.count() == 0


def test_nul_bytes_are_dropped_not_a_server_error(client, customer, chat_case):
    client.force_login(customer.user)
    url = reverse("escalations:live_chat", kwargs={"reference": chat_case.reference})
    response = client.post(url, {"body": "hel\x00lo"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert chat_case.messages.filter(kind="customer").get().body == "hello"


def _chat_opened(customer, now):
    """A live chat case opened at ``now`` in a New York department (the factory's zone)."""
    return case_create(
        customer=customer,
        channel="chat",
        department=DepartmentFactory(),
        subject="Parcel missing",
        first_message="Where is my parcel?",
        now=now,
    )


def test_a_message_shows_its_day_and_zone_as_the_promise_does(client, customer):
    """A case opened days ago keeps its conversation: each message says which day it was written, in the department's
    time zone as the status line's promise, with the zone's name."""
    at = datetime(2026, 11, 21, 9, 5, tzinfo=UTC)
    case = _chat_opened(customer, at)
    client.force_login(customer.user)
    with time_machine.travel(at + timedelta(minutes=1), tick=False):  # before the chat's first reply is due
        html = client.get(reverse("escalations:live_chat", kwargs={"reference": case.reference})).content.decode()
    assert '<time datetime="2026-11-21T04:05:00-05:00">Nov 21, 04:05 EST</time>' in html  # New York, the factory's
    assert re.search(r"we aim to reply by Nov 21, 04:\d\d EST", html)


def test_once_the_promised_time_has_passed_the_chat_says_sorry_not_a_time_in_the_past(client, customer):
    """A chat waiting longer than promised: the status line and the assistant's holding reply apologise; neither
    repeats a reply time that has already gone by."""
    case = case_create(
        customer=customer,
        channel="chat",
        department=DepartmentFactory(),
        subject="Parcel missing",
        first_message="Where is my parcel?",
        now=timezone.now() - timedelta(hours=1),  # a chat's first reply is due within minutes
    )
    client.force_login(customer.user)
    url = reverse("escalations:live_chat", kwargs={"reference": case.reference})
    page = client.get(url).content.decode()
    assert "sorry for the wait, an associate will be with you as soon as they can" in page
    assert "we aim to reply by" not in page
    client.post(url, {"body": "Hello?"}, headers={"HX-Request": "true"})
    holding = case.messages.get(kind=Message.Kind.ASSISTANT).body
    assert holding.endswith("Sorry for the wait: an associate will join this chat as soon as they can.")
    assert "reply by" not in holding
