"""The supervisor console in a real headless Chromium: dashboard charts, filters over htmx, approve in the queue,
and an associate issuing a credit from the case panel. ``RH_SCREENSHOTS=1`` also writes docs/screenshots/console-*.png.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import CreditLimit, GoodwillCredit, Role, SlaRecord
from cases.tests.factories import AgentFactory, CaseFactory, DepartmentFactory
from customers.tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world():
    for role, (pc, pd) in {
        "associate": ("50", "200"),
        "social_care": ("150", "600"),
        "supervisor": ("500", "2000"),
    }.items():
        CreditLimit.objects.get_or_create(role=role, defaults={"per_credit": Decimal(pc), "per_day": Decimal(pd)})
    general = DepartmentFactory(slug="general", name="General support")
    social = DepartmentFactory(slug="social", name="Social care")
    fraud = DepartmentFactory(slug="fraud", name="Fraud & security")
    sam = AgentFactory(user__username="sam", role=Role.SUPERVISOR, departments=[general, social, fraud]).user
    sue = AgentFactory(user__username="sue", role=Role.SUPERVISOR, departments=[general, social, fraud]).user
    names = {"alice": general, "bob": general, "dave": general, "erin": general, "sofia": social}
    agents = {
        n: AgentFactory(
            user__username=n, departments=[d], role=Role.SOCIAL_CARE if d == social else Role.ASSOCIATE
        ).user
        for n, d in names.items()
    }
    now = timezone.now()
    per_day = {"alice": 1, "bob": 1, "dave": 1, "erin": 5, "sofia": 1}
    amounts = ["12.00", "25.00", "18.50", "30.00", "48.00", "9.99"]
    k = 0
    for day in range(14):
        for name, n in per_day.items():
            for _ in range(n if day % 2 == 0 or name == "erin" else 0):
                k += 1
                customer = CustomerFactory()
                case = CaseFactory(department=names[name], customer=customer, channel="chat")
                when = now - timedelta(days=day, hours=k % 7)
                GoodwillCredit.objects.create(
                    case=case,
                    customer=customer,
                    amount=Decimal(amounts[k % len(amounts)]),
                    reason_code="late_delivery",
                    note="Parcel late",
                    issued_by=agents[name],
                    issued_by_role=agents[name].agent.role,
                    status="approved",
                    decided_at=when,
                    created_at=when,
                )
    newbie = CustomerFactory(name="Nina New", created_at=now - timedelta(days=5))
    pending_case = CaseFactory(department=general, customer=newbie, subject="Broken e-reader on arrival")
    pending = GoodwillCredit.objects.create(
        case=pending_case,
        customer=newbie,
        amount=Decimal("120.00"),
        reason_code="missing_item",
        note="Second broken device in a row; customer very upset.",
        issued_by=agents["alice"],
        issued_by_role="associate",
        status="pending",
        created_at=now - timedelta(hours=2),
    )
    for i, (channel, late) in enumerate(
        [
            ("chat", False),
            ("chat", False),
            ("chat", True),
            ("callback", False),
            ("social", True),
            ("social", False),
            ("email", False),
            ("phone", False),
        ]
    ):
        due = now - timedelta(hours=i + 1)
        dept = social if channel == "social" else general
        case = CaseFactory(
            department=dept,
            channel=channel,
            first_response_due_at=due,
            first_response_at=due + timedelta(minutes=5 if late else -5),
            status="resolved",
        )
        if late:  # what the SLA sweep records
            SlaRecord.objects.create(
                case=case,
                target="first_response",
                level="breach",
                due_at=due,
                point_at=due,
                department=dept,
                channel=channel,
                priority=case.priority,
            )
    for _ in range(6):
        CaseFactory(department=general, channel="chat", first_response_due_at=now + timedelta(minutes=3))
    for _ in range(3):
        CaseFactory(department=fraud, channel="web", first_response_due_at=now + timedelta(hours=1))
    return {"sam": sam, "sue": sue, "agents": agents, "pending": pending, "pending_case": pending_case}


def _sign_in(page, base, username):
    page.goto(base + reverse("login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pass-word-123")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_supervisor_console_in_a_browser(screenshot, browser, live_server, world):
    page = browser.new_page(viewport={"width": 1280, "height": 1250})
    _sign_in(page, live_server.url, "sam")

    page.goto(live_server.url + reverse("cases:console_dashboard"))
    assert page.locator("svg.chart").count() == 3
    assert page.get_by_text("1 credit waiting for approval").is_visible()
    screenshot(page, "console-dashboard.png", full_page=False)

    page.goto(live_server.url + reverse("cases:console_credits"))
    page.get_by_label("Agent").select_option(label="erin")  # htmx swaps #results on change
    page.wait_for_function("document.querySelectorAll('#results tbody tr')[0].innerText.includes('erin')")
    page.wait_for_url("**/credits/?*agent=*")
    screenshot(page, "console-credits.png", full_page=False)

    page.goto(live_server.url + reverse("cases:console_anomalies"))
    assert page.locator("#h-rate + p + ul").get_by_text("erin").is_visible()
    assert page.get_by_text("Nina New").first.is_visible()
    screenshot(page, "console-anomalies.png", full_page=False)

    page.goto(live_server.url + reverse("cases:console_approvals"))
    row = page.locator(f"#credit-{world['pending'].pk}")
    row.get_by_placeholder("Note (required to reject)").fill("Second failure: justified")
    screenshot(page, "console-approvals.png", full_page=False)
    row.get_by_role("button", name="Approve").click()
    page.locator(f"#credit-{world['pending'].pk}").get_by_text("Approved").wait_for()
    world["pending"].refresh_from_db()
    assert world["pending"].status == "approved" and world["pending"].decided_by == world["sam"]
    page.close()


def test_associate_issues_a_credit_from_the_case_panel(screenshot, browser, live_server, world):
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    _sign_in(page, live_server.url, "alice")
    page.goto(live_server.url + reverse("cases:case_credits", args=[world["pending_case"].pk]))
    page.get_by_label("Amount (USD)").fill("15")
    page.get_by_label("Reason").select_option("service_failure")
    page.get_by_label("Note").fill("Apologies for the second broken device.")
    page.get_by_role("button", name="Issue credit").click()
    page.locator("#credit-panel").get_by_text("$15.00").wait_for()
    screenshot(page, "case-credit-panel.png", full_page=False)
    assert GoodwillCredit.objects.filter(amount=Decimal("15.00"), status="approved").exists()
    page.close()
