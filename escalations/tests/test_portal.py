"""The customer's side: their cases only, the public timeline, replies, reopen, Message Center, Call Me Now."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cases.models import Callback, Case, CaseEvent, Message, Notification
from cases.services.cases import case_create, case_transition
from cases.services.customer import notification_email_copy
from cases.services.messages import message_post
from cases.services.notifications import notification_send
from customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(customer, department):
    return case_create(
        customer=customer,
        channel="chat",
        department=department,
        subject="Where is my package?",
        first_message="My parcel says delivered but it is not here",
    )


@pytest.fixture
def carol_client(client, customer):
    client.force_login(customer.user)
    return client


def _resolve(case, actor, *, when=None):
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        locked.assignee = actor
        case_transition(case=locked, new_status=Case.Status.ASSIGNED, actor=actor)
        case_transition(case=locked, new_status=Case.Status.RESOLVED, actor=actor, now=when)
    case.refresh_from_db()
    return case


def test_customer_sees_own_case_with_public_timeline_but_never_internal_notes(carol_client, case, agent):
    Case.objects.filter(pk=case.pk).update(assignee=agent, status=Case.Status.ASSIGNED)
    message_post(case_id=case.pk, kind=Message.Kind.NOTE, body="INTERNAL: customer has 3 prior claims", author=agent)
    message_post(case_id=case.pk, kind=Message.Kind.AGENT, body="I am checking the GPS scan now.", author=agent)

    page = carol_client.get(reverse("escalations:case_detail", args=[case.reference]))

    body = page.content.decode()
    assert page.status_code == 200
    assert "My parcel says delivered" in body and "I am checking the GPS scan now." in body
    assert "INTERNAL" not in body and "prior claims" not in body
    assert "We received your request." in body


def test_another_customers_case_is_the_same_404_as_a_case_that_does_not_exist(client, case):
    mallory = CustomerFactory(user__username="mallory")
    client.force_login(mallory.user)
    urls = [
        reverse("escalations:case_detail", args=[case.reference]),
        reverse("escalations:case_detail", args=["CS-2026-999999"]),
        reverse("escalations:case_detail", args=[str(case.pk)]),
    ]
    responses = [client.get(u) for u in urls]
    assert [r.status_code for r in responses] == [404, 404, 404]
    assert len({r.content for r in responses}) == 1  # nothing tells "exists but not yours" from "no such case"
    for name in ("case_reply", "case_reopen"):
        r = client.post(reverse(f"escalations:{name}", args=[case.reference]), {"body": "hi", "reason": "x"})
        assert r.status_code == 404
    assert not Message.objects.filter(case=case, kind=Message.Kind.CUSTOMER, body="hi").exists()
    assert case.reference not in client.get(reverse("escalations:my_cases")).content.decode()


def test_customer_cannot_reach_staff_pages_or_admin(carol_client):
    assert carol_client.get(reverse("cases:queues")).status_code == 403
    admin = carol_client.get("/admin/")
    assert admin.status_code == 302 and "/admin/login/" in admin["Location"]


def test_staff_session_cannot_use_customer_pages(client, agent, case):
    client.force_login(agent)
    assert client.get(reverse("escalations:my_cases")).status_code == 403
    assert client.get(reverse("escalations:message_center")).status_code == 403


def test_staff_account_is_refused_by_the_customer_sign_in(client, agent, customer):
    refused = client.post(reverse("escalations:signin"), {"username": "alice", "password": "pass-word-123"})
    assert refused.status_code == 200 and "_auth_user_id" not in client.session
    accepted = client.post(reverse("escalations:signin"), {"username": "carol", "password": "pass-word-123"})
    assert accepted.status_code == 302 and accepted["Location"] == reverse("escalations:my_cases")


def test_anonymous_is_sent_to_the_customer_sign_in(client, case):
    r = client.get(reverse("escalations:case_detail", args=[case.reference]))
    assert r.status_code == 302 and r["Location"].startswith(reverse("escalations:signin"))


def test_reply_is_stored_redacted_and_shown(carol_client, case):
    r = carol_client.post(
        reverse("escalations:case_reply", args=[case.reference]),
        {"body": "My card is 4111 1111 1111 1111 and my password is hunter2"},
    )
    assert r.status_code == 302
    stored = Message.objects.filter(case=case, kind=Message.Kind.CUSTOMER).last().body
    assert "4111" not in stored and "hunter2" not in stored
    assert "[card number removed]" in carol_client.get(r["Location"]).content.decode()


def test_empty_and_oversize_replies_get_a_message_and_store_nothing(carol_client, case):
    before = Message.objects.filter(case=case).count()
    for body in ("   ", "x" * 6000):
        r = carol_client.post(reverse("escalations:case_reply", args=[case.reference]), {"body": body})
        assert r.status_code == 200
        assert 'role="alert"' in r.content.decode()
    assert Message.objects.filter(case=case).count() == before


def test_reply_while_waiting_on_customer_puts_the_case_back_with_the_associate(carol_client, case, agent):
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        locked.assignee = agent
        case_transition(case=locked, new_status=Case.Status.ASSIGNED, actor=agent)
        case_transition(case=locked, new_status=Case.Status.WAITING_CUSTOMER, actor=agent)
    carol_client.post(reverse("escalations:case_reply", args=[case.reference]), {"body": "Here is the photo"})
    case.refresh_from_db()
    assert case.status == Case.Status.ASSIGNED and case.assignee == agent


def test_resolved_case_has_no_reply_box_and_refuses_replies(carol_client, case, agent):
    _resolve(case, agent)
    page = carol_client.get(reverse("escalations:case_detail", args=[case.reference])).content.decode()
    assert "Send reply" not in page and "Reopen this case" in page
    r = carol_client.post(reverse("escalations:case_reply", args=[case.reference]), {"body": "hello?"})
    assert "closed" in r.content.decode()
    assert not Message.objects.filter(case=case, body="hello?").exists()


def test_reopen_within_window_returns_case_to_queue(carol_client, case, agent):
    _resolve(case, agent)
    carol_client.post(reverse("escalations:case_reopen", args=[case.reference]), {"reason": "still missing"})
    case.refresh_from_db()
    assert case.status == Case.Status.NEW and case.assignee is None
    assert case.events.filter(type=CaseEvent.Type.REOPENED, is_public=True).exists()


def test_reopen_after_window_is_refused_with_a_message(carol_client, case, agent, settings):
    settings.RH = {**settings.RH, "REOPEN_WINDOW_DAYS": 7}
    _resolve(case, agent, when=timezone.now() - timedelta(days=8))
    r = carol_client.post(reverse("escalations:case_reopen", args=[case.reference]), {"reason": "x"}, follow=True)
    assert "can no longer be reopened" in r.content.decode()
    case.refresh_from_db()
    assert case.status == Case.Status.RESOLVED


def test_message_center_shows_unread_count_then_marks_read(carol_client, customer, case):
    notification_send(
        customer=customer,
        case=case,
        kind=Notification.Kind.REFUND,
        title="Your refund of $14.99 has been issued",
        body="Refunded.",
    )
    notification_send(customer=customer, kind=Notification.Kind.CREDIT, title="A $10.00 credit", body="Sorry.")
    other = CustomerFactory(user__username="dave")
    notification_send(customer=other, kind=Notification.Kind.CREDIT, title="Dave's secret credit", body="x")

    cases_page = carol_client.get(reverse("escalations:my_cases")).content.decode()
    assert 'aria-label="2 unread"' in cases_page
    inbox = carol_client.get(reverse("escalations:message_center")).content.decode()
    assert "Your refund of $14.99 has been issued" in inbox and "Dave" not in inbox
    assert Notification.objects.filter(customer=customer, read_at__isnull=True).count() == 0
    assert 'aria-label="2 unread"' not in carol_client.get(reverse("escalations:my_cases")).content.decode()


def test_message_center_query_count_does_not_grow_with_messages(
    carol_client, customer, case, django_assert_num_queries
):
    url = reverse("escalations:message_center")
    for total in (10, 100):
        while Notification.objects.filter(customer=customer).count() < total:
            notification_send(customer=customer, case=case, kind="case", title="update", body="b")
        # session, user (its agent profile joined: none), customer, notifications (+case), unread count, mark read
        with django_assert_num_queries(6):
            carol_client.get(url)


def test_email_copy_is_sent_once_when_enabled(customer, settings, django_capture_on_commit_callbacks):
    settings.RH = {**settings.RH, "EMAIL_COPIES": True}
    with django_capture_on_commit_callbacks() as callbacks:
        note = notification_send(customer=customer, kind="refund", title="Refund issued", body="We refunded $5.")
    assert len(callbacks) == 1
    assert notification_email_copy(notification_id=note.pk) is True
    assert notification_email_copy(notification_id=note.pk) is False
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [customer.email]
    assert "never ask for your password" in mail.outbox[0].body


def test_callback_request_validates_phone_and_shows_ring_time(carol_client, customer, department):
    page = carol_client.get(reverse("escalations:callback_new")).content.decode()
    assert "ring within 60 seconds" in page
    bad = carol_client.post(reverse("escalations:callback_new"), {"phone": "12345"})
    assert bad.status_code == 200 and "valid phone number" in bad.content.decode()
    assert not Callback.objects.exists() and not Case.objects.filter(channel="callback").exists()
    ok = carol_client.post(reverse("escalations:callback_new"), {"phone": "(206) 555-0100", "topic": "refund"})
    callback = Callback.objects.get()
    assert callback.phone == "+12065550100" and callback.case.customer == customer
    assert ok["Location"] == reverse("escalations:case_detail", args=[callback.case.reference])
    assert Notification.objects.filter(customer=customer, kind="callback").exists()


def test_money_page_lists_only_this_customers_refunds(carol_client, customer):
    from decimal import Decimal

    from cases.services.refunds import refund_process, refund_request
    from customers.tests.factories import OrderItemFactory

    item = OrderItemFactory(order__customer=customer, title="Kindle Paperwhite", unit_price=Decimal("139.99"))
    other_item = OrderItemFactory(title="Someone else's blender")
    for it, key in ((item, "a"), (other_item, "b")):
        r = refund_request(
            idempotency_key=key,
            customer=it.order.customer,
            amount=it.unit_price,
            reason="damaged",
            source="agent",
            order_item=it,
        )
        refund_process(refund_id=r.pk)
    page = carol_client.get(reverse("escalations:money")).content.decode()
    assert "Kindle Paperwhite" in page and "$139.99" in page and "Issued" in page
    assert "blender" not in page


def _claim_post(client, token="tok-1", **overrides):
    data = {
        "token": token,
        "claim_number": "PRM-2026-12345",
        "membership_email": "carol@example.com",
        "period_start": "2026-01-01",
        "period_end": "2026-03-31",
        "details": "Charged the new Prime rate after I cancelled in December.",
    }
    data.update(overrides)
    return client.post(reverse("escalations:claim_new"), data)


def test_settlement_claim_opens_one_claims_case_even_if_submitted_twice(carol_client, customer):
    from cases.tests.factories import DepartmentFactory

    DepartmentFactory(slug="claims", name="Settlement claims", is_24_7=False)
    page = carol_client.get(reverse("escalations:claim_new")).content.decode()
    assert "settlement-claims@support.example.com" in page and "password" in page

    first = _claim_post(carol_client)
    second = _claim_post(carol_client)  # double click / browser resubmit: same hidden token

    claims = Case.objects.filter(customer=customer, intent="settlement_claim")
    assert claims.count() == 1
    case = claims.get()
    assert (case.department.slug, case.channel) == ("claims", "email")
    assert "PRM-2026-12345" in case.subject
    assert first["Location"] == second["Location"] == reverse("escalations:case_detail", args=[case.reference])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"period_end": "2025-12-01"}, "must be after its start"),
        ({"membership_email": "not-an-email"}, "valid email"),
        ({"details": ""}, "This field is required"),
        ({"claim_number": "<script>"}, "letters, digits and dashes"),
    ],
)
def test_bad_claim_input_gets_a_message_and_creates_nothing(carol_client, customer, overrides, message):
    r = _claim_post(carol_client, **overrides)
    assert r.status_code == 200 and message in r.content.decode()
    assert not Case.objects.filter(customer=customer).exists()


def test_open_case_shows_the_promise_in_the_departments_time_zone(carol_client, case):
    from cases.services.sla import sla_promise_text

    case.refresh_from_db()
    promise = sla_promise_text(case=case)
    assert promise.startswith("we will reply by") and ("EST" in promise or "EDT" in promise)
    for url in (reverse("escalations:my_cases"), reverse("escalations:case_detail", args=[case.reference])):
        assert promise[0].upper() + promise[1:] in carol_client.get(url).content.decode()


def test_case_times_are_in_the_departments_time_zone_as_its_promise(carol_client, customer, department):
    """The promise is given in the department's zone ("by 23:08 (EST)"); the case's own times on the same pages are
    too, each with its zone's name: a first message stamped "04:05" (UTC) under that promise read as if the promised
    reply were already late."""
    at = datetime(2026, 11, 21, 4, 5, tzinfo=UTC)  # Nov 20, 23:05 in New York (EST)
    department.time_zone = "America/New_York"
    department.save(update_fields=["time_zone"])
    case = case_create(
        customer=customer, channel="chat", department=department, subject="Late parcel", first_message="Hi", now=at
    )
    detail = carol_client.get(reverse("escalations:case_detail", args=[case.reference])).content.decode()
    assert "opened Nov 20, 2026 23:05 EST" in detail
    assert '<time datetime="2026-11-20T23:05:00-05:00">Nov 20, 23:05 EST</time>' in detail  # the first message
    assert "Opened Nov 20, 2026 23:05 EST" in carol_client.get(reverse("escalations:my_cases")).content.decode()
    # A message not about a case's clock (the Message Center) says its zone too
    notification_send(customer=customer, case=case, kind="case", title="Hello", body="A note")
    Notification.objects.filter(customer=customer).update(created_at=at)
    inbox = carol_client.get(reverse("escalations:message_center")).content.decode()
    assert "Nov 21, 2026 04:05 UTC" in inbox
