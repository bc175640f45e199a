"""The seed's use case end to end: a Prime member charged after cancelling types "Subscription refund" in the
assistant chat and gets the refund and a Message Center confirmation with no human involved — exactly once, even
when the message is sent twice (or from two chats at the same time)."""

import threading

import pytest
from django.db import connection

from cases.models import Case, Notification, Refund
from escalations.models import Conversation, TriageDecision
from escalations.services.assistant import conversation_reply, conversation_start


def _open_chat(client, customer):
    client.force_login(customer.user)
    assert client.get("/help/").status_code == 200
    assert client.get("/help/something-else/").status_code == 200
    response = client.post("/help/something-else/")
    assert response.status_code == 302
    return response["Location"]


@pytest.mark.django_db
def test_subscription_refund_is_instant_with_a_message_center_confirmation_and_no_human(
    client, customer, cancelled_prime, departments
):
    chat = _open_chat(client, customer)

    first = client.post(chat, {"text": "Subscription refund"}, HTTP_HX_REQUEST="true")
    second = client.post(chat, {"text": "Subscription refund"}, HTTP_HX_REQUEST="true")

    assert first.status_code == 200 and second.status_code == 200
    refund = Refund.objects.get()
    assert refund.status == Refund.Status.ISSUED
    assert refund.subscription_charge == cancelled_prime and refund.amount == cancelled_prime.amount
    assert refund.idempotency_key == f"subscription-charge:{cancelled_prime.pk}"
    assert refund.source == Refund.Source.ASSISTANT and refund.requested_by is None
    confirmation = Notification.objects.get(customer=customer, kind=Notification.Kind.REFUND)
    assert "16.99" in confirmation.title
    assert Case.objects.count() == 0  # no human involved
    assert "Done: $16.99 is refunded" in first.content.decode()
    assert "already been refunded" in second.content.decode()
    outcomes = list(TriageDecision.objects.order_by("id").values_list("outcome", flat=True))
    assert outcomes == ["resolve", "answer"]


@pytest.mark.django_db
def test_a_charge_before_cancellation_is_denied_and_disputing_it_offers_a_human(client, customer, departments):
    from datetime import timedelta

    from django.utils import timezone

    from customers.tests.factories import SubscriptionChargeFactory, SubscriptionFactory

    sub = SubscriptionFactory(customer=customer)
    SubscriptionChargeFactory(subscription=sub, charged_at=timezone.now() - timedelta(days=3))
    chat = _open_chat(client, customer)

    denied = client.post(chat, {"text": "Subscription refund"}, HTTP_HX_REQUEST="true")
    disputed = client.post(chat, {"text": "That's not right, I want my refund"}, HTTP_HX_REQUEST="true")

    assert "refund one automatically" in denied.content.decode()
    assert Refund.objects.count() == 0
    assert 'id="transfer"' in disputed.content.decode()
    assert TriageDecision.objects.order_by("-id").first().triggers == ["disputed_refund_denial"]


@pytest.mark.django_db(transaction=True)
def test_two_chats_asking_at_once_refund_the_charge_once(customer, cancelled_prime, departments):
    chats = [conversation_start(customer=customer).pk for _ in range(2)]
    barrier = threading.Barrier(2)
    errors = []

    def ask(conversation_id):
        try:
            barrier.wait()
            conversation_reply(conversation_id=conversation_id, customer=customer, text="Subscription refund")
        except Exception as exc:  # pragma: no cover - surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(pk,)) for pk in chats]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert Refund.objects.count() == 1
    assert Refund.objects.get().status == Refund.Status.ISSUED
    assert Notification.objects.filter(kind=Notification.Kind.REFUND).count() == 1
    assert Conversation.objects.count() == 2
