"""The workspace's customer 360 (one statement, cases.selectors_360): what the associate sees, and its bounds."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import CaseEvent, GoodwillCredit, Refund
from cases.selectors_360 import CHARGES, customer_360
from cases.tests.factories import CaseFactory
from customers.tests.factories import (
    AddressFactory,
    CarrierScanFactory,
    CustomerFactory,
    OrderFactory,
    OrderItemFactory,
    ShipmentFactory,
    SubscriptionChargeFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(agent, department):
    customer = CustomerFactory(name="Dana Doe")
    address = AddressFactory(customer=customer, latitude=Decimal("47.610000"), longitude=Decimal("-122.330000"))
    old = OrderFactory(
        customer=customer, number="111-OLD", status="delivered", placed_at=timezone.now() - timedelta(days=9)
    )
    OrderItemFactory(order=old, title="Desk lamp", quantity=2, unit_price=Decimal("12.50"))
    order = OrderFactory(customer=customer, number="222-NEW", shipping_address=address, total=Decimal("449.82"))
    item = OrderItemFactory(order=order, title="Stand mixer", unit_price=Decimal("449.82"))
    shipment = ShipmentFactory(order=order, carrier="UPS", tracking_number="1ZDANA", status="delivered")
    CarrierScanFactory(
        shipment=shipment, kind="in_transit", location="Hub", occurred_at=timezone.now() - timedelta(days=2)
    )
    CarrierScanFactory(  # 0.002° of latitude north of the address: 222 m, shown in red
        shipment=shipment, kind="delivered", location="Porch", latitude=Decimal("47.612000"),
        longitude=Decimal("-122.330000"), photo_ref="photo-42.jpg", occurred_at=timezone.now() - timedelta(days=1),
    )  # fmt: skip
    ShipmentFactory(order=order, direction="return", carrier="USPS", tracking_number="RET1")
    started = timezone.now() - timedelta(days=400)
    sub = SubscriptionFactory(
        customer=customer,
        plan="Prime",
        status="cancelled",
        started_at=started,
        cancelled_at=started + timedelta(days=170),
    )
    for i in range(CHARGES + 3):  # the three latest were charged after the cancellation
        SubscriptionChargeFactory(subscription=sub, charged_at=started + timedelta(days=1 + 30 * i))
    Refund.objects.create(
        idempotency_key="r1", customer=customer, order_item=item, amount=Decimal("449.82"),
        source=Refund.Source.AGENT, reason="missing", status=Refund.Status.ISSUED,
    )  # fmt: skip
    GoodwillCredit.objects.create(
        customer=customer, amount=Decimal("15.00"), reason_code="late_delivery", note="sorry", issued_by=agent,
        issued_by_role="associate", status="approved",
    )  # fmt: skip
    earlier = CaseFactory(customer=customer, department=department, subject="Earlier trouble", status="resolved")
    case = CaseFactory(
        customer=customer, department=department, status="assigned", assignee=agent, order=order, order_item=item,
        triage={"intent": "missing_package"},
    )  # fmt: skip
    CaseEvent.objects.create(case=case, type="triage", data={"explained": ["Delivered scan 1 day ago"]})
    return {"case": case, "earlier": earlier, "sub": sub}


def test_the_customer_360_shows_what_the_associate_needs(client, agent, world):
    case = world["case"]
    client.force_login(agent)
    body = client.get(reverse("cases:workspace", kwargs={"reference": case.reference})).content.decode()
    # orders, newest first, with labels, items and money as stored
    assert body.index("222-NEW") < body.index("111-OLD")
    assert "<strong>222-NEW</strong> · Placed · 449.82 USD" in body and '<span class="badge">this case</span>' in body
    assert (
        "<strong>111-OLD</strong> · Delivered · 25.00 USD" in body
        and 'Desk lamp ×2 <span class="num">12.50</span>' in body
    )
    # shipments with their scans in time order, the Delivered scan's GPS point, distance and photo
    assert "To the customer</span> UPS 1ZDANA — <strong>Delivered</strong>" in body
    assert "Return parcel</span> USPS RET1 — <strong>Label created</strong>" in body
    assert body.index("In transit <span") < body.index("Delivered <span")
    assert "GPS 47.612000, -122.330000" in body and '<strong class="error">222 m from the address</strong>' in body
    assert "photo <code>photo-42.jpg</code>" in body
    # subscription: the latest charges, flagged after the cancellation, the rest counted
    assert "<strong>Prime</strong> Cancelled · 14.99 USD · cancelled" in body
    assert body.count('<span class="error">after cancellation</span>') == 3
    assert body.count('<span class="num">14.99 USD</span>') == CHARGES
    assert "and 3 earlier charges" in body
    # refunds and credits, earlier cases (never the case itself)
    assert '<td>Refund</td><td>Stand mixer</td><td class="num">449.82</td><td><span class="badge">Issued</span>' in body
    assert f'<td>Credit</td><td>Late delivery · {agent.username}</td><td class="num">15.00</td>' in body
    assert (
        f'{world["earlier"].reference}</a> <span class="clip">Earlier trouble</span> <span class="badge s-resolved">Resolved</span>'
        in body
    )
    assert f'href="/agent/cases/{case.reference}/">{case.reference}</a> <span class="clip">' not in body
    # the triage explanation under "Why it is here"
    assert "<li>Delivered scan 1 day ago</li>" in body


def test_charges_are_bounded_and_counted(world):
    case = world["case"]
    data = customer_360(customer_id=case.customer_id, case_id=case.pk)
    (sub,) = data["subscriptions"]
    assert len(sub["charges"]) == CHARGES and sub["charges_more"] == 3
    dates = [c["charged_at"] for c in sub["charges"]]
    assert dates == sorted(dates, reverse=True)  # the latest ones
    assert [c["after_cancellation"] for c in sub["charges"]] == [True, True, True] + [False] * (CHARGES - 3)
    assert sub["charges"][0]["amount"] == Decimal("14.99") and isinstance(sub["charges"][0]["amount"], Decimal)


def test_a_customer_without_history_has_empty_panels(client, agent, department):
    case = CaseFactory(department=department, status="assigned", assignee=agent)
    data = customer_360(customer_id=case.customer_id, case_id=case.pk)
    assert data == {"orders": [], "subscriptions": [], "refunds": [], "credits": [], "earlier_cases": []}
    client.force_login(agent)
    body = client.get(reverse("cases:workspace", kwargs={"reference": case.reference})).content.decode()
    assert "No orders." in body and "No subscription." in body and "None yet." in body


def test_the_statement_reads_what_the_orm_reads(world, agent, department):
    """The PostgreSQL statement and the ORM version (used on SQLite) give the same panels, bounds included."""
    from cases import selectors_360

    case = world["case"]
    for i in range(selectors_360.ORDERS + 2):  # more orders, cases and credits than the page shows
        OrderItemFactory(order=OrderFactory(customer=case.customer, placed_at=timezone.now() - timedelta(days=20 + i)))
        CaseFactory(customer=case.customer, department=department, created_at=timezone.now() - timedelta(days=i))
        GoodwillCredit.objects.create(
            customer=case.customer, amount=Decimal("1.00") + i, reason_code="other", note="x", issued_by=agent,
            issued_by_role="associate",
        )  # fmt: skip
    SubscriptionFactory(customer=case.customer, plan="Music", started_at=timezone.now() - timedelta(days=3))
    sql = selectors_360.customer_360(customer_id=case.customer_id, case_id=case.pk)
    orm = selectors_360._shape(*selectors_360.customer_360_rows_orm(customer_id=case.customer_id, case_id=case.pk))
    assert sql == orm
    assert len(sql["orders"]) == selectors_360.ORDERS and len(sql["credits"]) == selectors_360.CREDITS
    assert len(sql["earlier_cases"]) == selectors_360.EARLIER_CASES
    assert [s["plan"] for s in sql["subscriptions"]] == ["Music", "Prime"]


def test_the_case_rows_statement_reads_what_the_orm_reads(agent, supervisor, department):
    """Conversation, timeline and other viewers: the statement and the ORM version agree; bounds, newest first."""
    from cases.models import CaseViewer, Message
    from cases.selectors_360 import EVENTS, _case_rows_orm, case_rows
    from cases.services.workspace import VIEWER_TTL
    from customers.tests.factories import UserFactory

    case = CaseFactory(department=department, status="assigned", assignee=agent)
    for i in range(7):
        Message.objects.create(case=case, kind="note" if i % 3 == 0 else "customer", body=f"m{i}", author=agent)
    Message.objects.create(case=case, kind="assistant", body="bot says hi")
    for i in range(EVENTS + 3):
        CaseEvent.objects.create(case=case, type="message", actor=agent if i % 2 else None, new_value=str(i))
    CaseEvent.objects.create(case=case, type="triage", data={"explained": ["first", "second"], "intent": "x"})
    CaseEvent.objects.create(case=case, type="note", data=["not", "an", "object"])
    now = timezone.now()
    gone = UserFactory(username="gone")
    CaseViewer.objects.create(case=case, user=supervisor, last_seen_at=now)
    CaseViewer.objects.create(case=case, user=agent, last_seen_at=now)  # the viewer themself: never listed
    CaseViewer.objects.create(case=case, user=gone, last_seen_at=now - VIEWER_TTL - timedelta(seconds=1))
    args = {"case_id": case.pk, "viewer_id": agent.pk, "since": now - VIEWER_TTL, "messages": 5}
    rows = case_rows(**args)
    assert rows == _case_rows_orm(**args)
    assert [m["body"] for m in rows["messages"]] == ["bot says hi", "m6", "m5", "m4", "m3"]
    assert rows["messages"][0]["kind_label"] == "Assistant" and rows["messages"][0]["author_name"] == ""
    assert rows["messages"][1]["author_name"] == "alice"
    assert len(rows["events"]) == EVENTS
    assert rows["events"][0]["explained"] == [] and rows["events"][0]["type_label"] == "Internal note"
    assert rows["events"][1]["explained"] == ["first", "second"]
    assert [(v.pk, v.username) for v in rows["viewers"]] == [(supervisor.pk, "sam")]


def _page_and_poll(client, case, *, after: int) -> tuple[str, str]:
    """The workspace page, and what its live poll appends after message ``after``."""
    page = client.get(reverse("cases:workspace", kwargs={"reference": case.reference})).content.decode()
    poll = client.get(
        reverse("cases:workspace_poll", kwargs={"reference": case.reference}) + f"?after={after}",
        headers={"HX-Request": "true"},
    ).content.decode()
    return page, poll


def test_the_page_and_its_poll_show_messages_alike(client, agent, supervisor, department):
    """The page renders plain rows, the poll model instances: the same bubble for the same message."""
    from cases.models import Message

    case = CaseFactory(department=department, status="assigned", assignee=agent)
    note = Message.objects.create(case=case, kind="note", body="checked the GPS", author=supervisor)
    client.force_login(agent)
    page, poll = _page_and_poll(client, case, after=note.pk - 1)
    bubble = page[page.index(f'<li class="bubble note" id="msg-{note.pk}">') :]
    bubble = bubble[: bubble.index("</li>") + 5]
    assert "Note · sam" in bubble and bubble in poll


def test_a_message_shows_its_day_as_well_as_its_time(client, agent, department):
    """A conversation can run over days (an email case, a customer who answers the next morning): a bubble says
    which day, on the page and in what the poll appends."""
    from cases.models import Message

    case = CaseFactory(department=department, status="assigned", assignee=agent)
    at = datetime(2026, 11, 21, 14, 2, 11, tzinfo=UTC)
    message = Message.objects.create(case=case, kind="customer", body="still nothing", created_at=at)
    client.force_login(agent)
    page, poll = _page_and_poll(client, case, after=message.pk - 1)
    shown = '<time datetime="2026-11-21T14:02:11+00:00">Nov 21 14:02:11</time>'
    assert shown in page and shown in poll
