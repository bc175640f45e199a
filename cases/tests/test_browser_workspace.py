"""Real headless Chromium, two browser contexts: associate ↔ customer live chat without reload, and a Call Me
Now request reaching an available associate who dials and records the outcome.

Set RH_SCREENSHOTS=1 to also write docs/screenshots/queue_board.png and workspace.png from these flows."""

import os
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client

from cases.models import Callback, CallbackAttempt, Case, Macro, Message, Priority
from cases.services.callbacks import callback_offer_due, callback_request
from cases.services.cases import case_create
from cases.tests.factories import AgentFactory, DepartmentFactory
from customers.tests.factories import (
    CarrierScanFactory,
    CustomerFactory,
    OrderFactory,
    OrderItemFactory,
    ShipmentFactory,
    SubscriptionChargeFactory,
    SubscriptionFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _context_for(browser, live_server, user):
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    return context


def _world():
    general = DepartmentFactory(slug="general", name="General support")
    fraud = DepartmentFactory(slug="fraud", name="Fraud & account security")
    social = DepartmentFactory(slug="social", name="Social care")
    alice = AgentFactory(user__username="alice", user__first_name="Alice", departments=[general, fraud]).user
    AgentFactory(user__username="bob", user__first_name="Bob", departments=[general], presence="away")
    AgentFactory(user__username="sofia", user__first_name="Sofia", departments=[social, general])
    carol = CustomerFactory(
        user__username="carol",
        user__first_name="Carol",
        user__last_name="King",
        name="Carol King",
        email="carol@example.com",
    )
    order = OrderFactory(customer=carol, number="112-4471029-5531907", total=Decimal("649.00"), status="delivered")
    item = OrderItemFactory(order=order, title="Noise-cancelling headphones", unit_price=Decimal("649.00"))
    shipment = ShipmentFactory(order=order, status="delivered", carrier="UPS")
    shipment.items.add(item)
    CarrierScanFactory(shipment=shipment, kind="in_transit", location="Seattle, WA")
    CarrierScanFactory(
        shipment=shipment,
        kind="delivered",
        location="Seattle, WA",
        latitude=Decimal("47.6091"),
        longitude=Decimal("-122.3290"),
        photo_ref="photos/ups/1Z-delivered.jpg",
    )
    sub = SubscriptionFactory(customer=carol, status="cancelled", cancelled_at=sub_cancel())
    SubscriptionChargeFactory(subscription=sub, amount=Decimal("14.99"))
    Macro.objects.create(
        title="Greeting", body="Hi {customer_name}, this is {agent_name}. I'm looking at {case_reference} now."
    )
    return general, fraud, social, alice, carol, order, item


def sub_cancel():
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() - timedelta(days=20)


def _busy_queue(general, fraud, social):
    others = [CustomerFactory(name=n) for n in ("Dan Ortiz", "Priya Nair", "Lee Wong", "Maria Rossi", "Tom Becker")]
    subjects = [
        (general, "chat", Priority.NORMAL, "Package marked delivered but not received"),
        (general, "chat", Priority.HIGH, "Refund denied for damaged blender — disputes"),
        (fraud, "chat", Priority.HIGH, "Suspicious sign-in and password reset email"),
        (social, "social", Priority.HIGH, "@handle: order stuck in 'preparing' 9 days"),
        (general, "email", Priority.LOW, "Subscription settlement claim form"),
        (general, "chat", Priority.NORMAL, "Late delivery, need it before Friday"),
    ]
    for i, (dept, channel, pri, subject) in enumerate(subjects):
        case_create(customer=others[i % len(others)], channel=channel, department=dept, subject=subject, priority=pri)


# How long a live update may take to show here. What this test pins is that updates arrive without a reload; how fast
# they arrive is a benchmark (bench/live_chat.py, p95 < 1 s with 50 conversations), not a timed test. With 2 s
# limits this test failed once in a full suite run beside two load tests (load average 15) and passed alone.
LIVE_UPDATE_MS = 10_000


def test_associate_and_customer_chat_both_ways_without_reload(screenshot, browser, live_server):
    from playwright.sync_api import expect

    general, fraud, social, alice, carol, order, item = _world()
    chat = case_create(
        customer=carol,
        channel="chat",
        department=general,
        subject="Headphones marked delivered, not here",
        order=order,
        order_item=item,
        intent="missing_delivered",
        value_at_stake=Decimal("649.00"),
        priority=Priority.HIGH,
        first_message="My $649 headphones say delivered but they are not here.",
        escalation_reasons=[{"code": "high_value", "value": "649.00"}, {"code": "sentiment", "score": -0.6}],
        triage={"intent": "missing_delivered", "confidence": 0.91},
    )
    Message.objects.create(
        case=chat, kind="assistant", body="I can see a Delivered scan. Let me connect you to an associate."
    )
    shots = os.environ.get("RH_SCREENSHOTS") == "1"
    if shots:
        _busy_queue(general, fraud, social)

    customer_ctx = _context_for(browser, live_server, carol.user)
    agent_ctx = _context_for(browser, live_server, alice)
    customer = customer_ctx.new_page()
    agent = agent_ctx.new_page()

    # given the customer waiting in their live chat
    customer.goto(f"{live_server.url}/chat/{chat.reference}/")
    expect(customer.locator("#chat-status")).to_contain_text("Waiting for an associate")
    customer.evaluate("window.__noReload = 'customer'")

    # when the associate takes next from the board
    agent.goto(f"{live_server.url}/agent/queues/")
    expect(agent.locator("#waiting")).to_contain_text(chat.reference)
    if shots:
        screenshot(agent, "queue_board.png")
    agent.get_by_role("button", name="Take next").click()
    agent.wait_for_url(f"**/agent/cases/{chat.reference}/")
    agent.evaluate("window.__noReload = 'agent'")

    # then the customer sees that a human joined, without reloading
    expect(customer.locator("#chat-status")).to_contain_text("An associate has joined", timeout=LIVE_UPDATE_MS)

    # when the associate writes, the customer sees it (still no reload)
    agent.fill("#reply-body", "Hi Carol, this is Alice. I'm checking the delivery photo and GPS now.")
    agent.get_by_role("button", name="Send to customer").click()
    expect(customer.locator("#chat-log")).to_contain_text("checking the delivery photo", timeout=LIVE_UPDATE_MS)

    # when the customer answers, the associate sees it
    customer.fill("#chat-body", "Thank you! The photo is not my porch.")
    customer.get_by_role("button", name="Send").click()
    expect(agent.locator("#chat-log")).to_contain_text("not my porch", timeout=LIVE_UPDATE_MS)

    # and neither page reloaded; the assistant stayed silent after the human joined
    assert customer.evaluate("window.__noReload") == "customer"
    assert agent.evaluate("window.__noReload") == "agent"
    assistant_after = Message.objects.filter(case=chat, kind="assistant").count()
    assert assistant_after == 1
    assert Case.objects.get(pk=chat.pk).assignee == alice

    if shots:
        agent.fill("#reply-body", "I've opened a claim with the carrier; the GPS point is 150 m from your address.")
        agent.get_by_role("button", name="Add internal note").click()
        expect(agent.locator("#chat-log")).to_contain_text("opened a claim", timeout=LIVE_UPDATE_MS)
        agent.evaluate("window.scrollTo(0, 0)")
        screenshot(agent, "workspace.png", full_page=False)
        screenshot(customer, "customer_live_chat.png", full_page=False)
    customer_ctx.close()
    agent_ctx.close()


def test_callback_reaches_an_available_associate_and_the_outcome_is_recorded(browser, live_server):
    from playwright.sync_api import expect

    general, *_, alice, carol, _order, _item = _world()
    agent_ctx = _context_for(browser, live_server, alice)
    agent = agent_ctx.new_page()
    agent.goto(f"{live_server.url}/agent/queues/")

    # given a Call Me Now request from intake
    case = callback_request(
        customer=carol,
        phone="+1 206 555 0142",
        department=general,
        subject="Call me about a missing parcel",
        first_message="Please call me.",
    )
    # when the beat sweep runs (every 5 s in production; called directly here)
    assert callback_offer_due()["offered"] == 1

    # then the associate's board shows the offer with the number, without reload
    offer = agent.locator(".offer")
    expect(offer).to_contain_text("+12065550142", timeout=5000)
    offer.get_by_role("link").click()
    agent.wait_for_url(f"**/agent/cases/{case.reference}/")

    # when they dial and the customer picks up
    agent.get_by_role("button", name="Dial +12065550142").click()
    expect(agent.locator("section.callback")).to_contain_text("Dialing")
    agent.get_by_role("button", name="Connected").click()

    # then the outcome and the ring time are recorded
    expect(agent.locator("section.callback")).to_contain_text("Connected")
    cb = Callback.objects.get(case=case)
    assert cb.status == Callback.Status.CONNECTED and cb.attempts == 1
    assert cb.ring_seconds is not None and cb.ring_seconds < 60
    assert CallbackAttempt.objects.get(callback=cb).outcome == "connected"
    agent_ctx.close()
