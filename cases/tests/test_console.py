"""The supervisor console: access, filters, totals, approvals over htmx, CSV, dashboard, pinned query counts."""

import csv
import io
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases.models import AuditLog, GoodwillCredit, Role, SlaRecord
from cases.services.credits import credit_grant
from cases.tests.factories import AgentFactory, CaseFactory, DepartmentFactory
from customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

CONSOLE_PAGES = [
    "cases:console_dashboard",
    "cases:console_credits",
    "cases:console_credits_csv",
    "cases:console_refunds",
    "cases:console_refunds_csv",
    "cases:console_approvals",
    "cases:console_anomalies",
    "cases:console_limits",
]


def make_credits(n, *, issuer, department, amount="10.00", when=None, customer=None):
    """n approved credits by ``issuer`` straight into the table (fast; the service is tested elsewhere)."""
    when = when or timezone.now()
    customer = customer or CustomerFactory()
    case = CaseFactory(department=department, customer=customer)
    role = issuer.agent.role
    GoodwillCredit.objects.bulk_create(
        GoodwillCredit(
            case=case,
            customer=customer,
            amount=Decimal(amount),
            reason_code="late_delivery",
            note="test",
            issued_by=issuer,
            issued_by_role=role,
            status="approved",
            decided_at=when,
            created_at=when - timedelta(minutes=i),
        )
        for i in range(n)
    )
    return case


@pytest.mark.parametrize("name", CONSOLE_PAGES)
def test_console_is_for_supervisors_only(client, agent, customer, supervisor, name):
    url = reverse(name)
    assert client.get(url).status_code == 302  # anonymous → login
    client.force_login(agent)
    assert client.get(url).status_code == 403
    client.force_login(customer.user)
    assert client.get(url).status_code == 403
    client.force_login(supervisor)
    assert client.get(url).status_code == 200


def test_credit_filters_and_per_agent_totals(client, supervisor, department, agent):
    other_dept = DepartmentFactory(slug="social")
    bob = AgentFactory(user__username="bob", departments=[other_dept]).user
    make_credits(3, issuer=agent, department=department, amount="20.00")
    make_credits(2, issuer=bob, department=other_dept, amount="45.00")
    client.force_login(supervisor)

    page = client.get(reverse("cases:console_credits"))
    totals = {t["issued_by__username"]: t for t in page.context["totals"]}
    assert totals["alice"]["approved"] == Decimal("60.00") and totals["bob"]["approved"] == Decimal("90.00")

    by_dept = client.get(reverse("cases:console_credits"), {"department": other_dept.pk})
    assert {c.issued_by.username for c in by_dept.context["page"]} == {"bob"}
    by_amount = client.get(reverse("cases:console_credits"), {"amount_min": "30", "amount_max": "50"})
    assert by_amount.context["page"].paginator.count == 2
    by_agent = client.get(reverse("cases:console_credits"), {"agent": agent.pk}, HTTP_HX_REQUEST="true")
    assert b"<html" not in by_agent.content and by_agent.content.count(b"credit #") == 3
    today = timezone.now().astimezone(UTC).date()
    past = client.get(reverse("cases:console_credits"), {"date_to": str(today - timedelta(days=2))})
    assert past.context["page"].paginator.count == 0


def test_bad_filter_shows_the_error_instead_of_a_500(client, supervisor):
    client.force_login(supervisor)
    response = client.get(reverse("cases:console_credits"), {"amount_min": "50", "amount_max": "10"})
    assert response.status_code == 200 and "Must be at least the lower amount." in response.content.decode()


def test_csv_export_streams_every_filtered_row_and_defuses_formulas(client, supervisor, department, agent):
    make_credits(3, issuer=agent, department=department)
    case = CaseFactory(department=department)
    credit_grant(case_id=case.pk, amount=Decimal("5"), reason_code="other", note="=HYPERLINK(evil)", actor=agent)
    client.force_login(supervisor)
    response = client.get(reverse("cases:console_credits_csv"), {"agent": agent.pk})
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 4
    assert "'=HYPERLINK(evil)" in {r["note"] for r in rows}


def test_approval_queue_approve_over_htmx_and_self_approval_is_refused(client, supervisor, department, agent):
    case = CaseFactory(department=department)
    pending = credit_grant(case_id=case.pk, amount=Decimal("80"), reason_code="other", note="big", actor=agent)
    own = credit_grant(case_id=case.pk, amount=Decimal("900"), reason_code="other", note="mine", actor=supervisor)
    client.force_login(supervisor)

    page = client.get(reverse("cases:console_approvals"))
    assert [c.pk for c in page.context["pending"]] == [pending.pk, own.pk]
    assert "another supervisor decides" in page.content.decode()

    url = reverse("cases:console_approval_decide", args=[pending.pk])
    response = client.post(url, {"decision": "approve", "note": "fine"}, HTTP_HX_REQUEST="true", REMOTE_ADDR="10.9.8.7")
    assert response.status_code == 200 and "Approved" in response.content.decode()
    assert AuditLog.objects.get(action="credit.approved").ip_address == "10.9.8.7"

    refused = client.post(
        reverse("cases:console_approval_decide", args=[own.pk]), {"decision": "approve"}, HTTP_HX_REQUEST="true"
    )
    assert refused.status_code == 403 and refused["HX-Retarget"] == f"#credit-{own.pk}"
    own.refresh_from_db()
    assert own.status == "pending"


def test_reject_without_a_note_is_a_400_with_the_reason(client, supervisor, department, agent):
    case = CaseFactory(department=department)
    pending = credit_grant(case_id=case.pk, amount=Decimal("80"), reason_code="other", note="big", actor=agent)
    client.force_login(supervisor)
    url = reverse("cases:console_approval_decide", args=[pending.pk])
    response = client.post(url, {"decision": "reject", "note": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and "Write why the credit is rejected." in response.content.decode()


def test_limits_page_changes_a_limit_and_a_role(client, supervisor, agent):
    client.force_login(supervisor)
    response = client.post(reverse("cases:console_limits"), {"role": "associate", "per_credit": "75", "per_day": "300"})
    assert response.status_code == 302
    assert AuditLog.objects.filter(action="credit_limit.changed").exists()
    bad = client.post(reverse("cases:console_limits"), {"role": "associate", "per_credit": "75", "per_day": "10"})
    assert bad.status_code == 400 and "at least the per-credit limit" in bad.content.decode()
    client.post(reverse("cases:console_agent_role", args=[agent.agent.pk]), {"role": "social_care"})
    agent.agent.refresh_from_db()
    assert agent.agent.role == Role.SOCIAL_CARE


def test_dashboard_renders_inline_svg_charts(client, supervisor, department, agent):
    now = timezone.now()
    CaseFactory(
        department=department,
        channel="chat",
        first_response_due_at=now - timedelta(minutes=5),
        first_response_at=now - timedelta(minutes=6),
    )
    late = CaseFactory(department=department, channel="chat", first_response_due_at=now - timedelta(minutes=5))
    SlaRecord.objects.create(
        case=late,
        target="first_response",
        level="breach",
        due_at=late.first_response_due_at,
        point_at=now,
        department=department,
        channel="chat",
        priority=late.priority,
    )  # what the SLA sweep records
    CaseFactory(department=department, channel="social", first_response_due_at=now + timedelta(minutes=30))
    make_credits(2, issuer=agent, department=department, amount="30.00")
    client.force_login(supervisor)
    response = client.get(reverse("cases:console_dashboard"))
    html = response.content.decode()
    assert html.count("<svg") == 3 and "<script" not in html.split("<main", 1)[1]
    sla = {r["channel"]: r for r in response.context["sla_rows"]}
    assert (sla["chat"]["hit"], sla["chat"]["missed"], sla["chat"]["pct"]) == (1, 1, 50.0)
    assert (sla["social"]["open"], sla["social"]["pct"]) == (1, None)
    assert "alice" in html  # a series in the credits-per-agent chart


def _count_queries(client, url, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("cases:console_credits", 7), ("cases:console_refunds", 6), ("cases:console_approvals", 3)],
)
def test_console_list_pages_have_pinned_query_counts_for_10_and_100_rows(
    client, supervisor, department, agent, django_assert_num_queries, name, expected
):
    """Given 10 then 100 rows, each list page runs the same, fixed number of queries."""
    from cases.models import Refund
    from customers.tests.factories import OrderItemFactory

    client.force_login(supervisor)
    url = reverse(name)
    for rows in (10, 100):
        have = GoodwillCredit.objects.count() if name != "cases:console_refunds" else Refund.objects.count()
        missing = rows - have
        if name == "cases:console_refunds":
            customer = CustomerFactory()
            case = CaseFactory(department=department, customer=customer)
            for _ in range(missing):
                item = OrderItemFactory(order__customer=customer)
                Refund.objects.create(
                    idempotency_key=f"k-{item.pk}",
                    customer=customer,
                    order_item=item,
                    amount=Decimal("5"),
                    source="agent",
                    reason="r",
                    requested_by=agent,
                    case=case,
                )
        elif name == "cases:console_approvals":
            case = CaseFactory(department=department)
            GoodwillCredit.objects.bulk_create(
                GoodwillCredit(
                    case=case,
                    customer=case.customer,
                    amount=Decimal("99"),
                    reason_code="other",
                    note="n",
                    issued_by=agent,
                    issued_by_role="associate",
                    status="pending",
                )
                for _ in range(missing)
            )
        else:
            make_credits(missing, issuer=agent, department=department)
        with django_assert_num_queries(expected):
            response = client.get(url)
        listed = response.context["pending"] if name == "cases:console_approvals" else response.context["page"]
        assert len(list(listed)) == rows


def test_anomaly_page_lists_flags(client, supervisor, department, agent):
    make_credits(3, issuer=agent, department=department, customer=CustomerFactory(created_at=timezone.now()))
    client.force_login(supervisor)
    html = client.get(reverse("cases:console_anomalies")).content.decode()
    assert "credits (" in html and "days old when credited" in html


def test_case_credit_panel_issue_and_reverse(client, agent, department):
    case = CaseFactory(department=department)
    client.force_login(agent)
    url = reverse("cases:case_credits", args=[case.pk])
    assert client.get(url).status_code == 200
    panel = client.get(url, HTTP_HX_REQUEST="true")
    assert b'id="credit-panel"' in panel.content and b"<html" not in panel.content
    response = client.post(
        url, {"amount": "12.50", "reason_code": "late_delivery", "note": "Sorry"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "$12.50" in response.content.decode()
    credit = GoodwillCredit.objects.get()
    bad = client.post(url, {"amount": "5", "reason_code": "", "note": ""}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400 and bad["HX-Retarget"] == "#credit-panel"
    assert GoodwillCredit.objects.count() == 1
    rev = client.post(
        reverse("cases:case_credit_reverse", args=[case.pk, credit.pk]), {"note": "mistake"}, HTTP_HX_REQUEST="true"
    )
    assert rev.status_code == 200 and "reversal" in rev.content.decode()
    assert GoodwillCredit.objects.filter(kind="reversal", reverses=credit).exists()


def test_case_credit_panel_hides_other_departments_cases(client, agent):
    other = CaseFactory(department=DepartmentFactory(slug="pharmacy"))
    client.force_login(agent)
    assert client.get(reverse("cases:case_credits", args=[other.pk])).status_code == 404
    post = client.post(
        reverse("cases:case_credits", args=[other.pk]), {"amount": "5", "reason_code": "other", "note": "x"}
    )
    assert post.status_code == 404 and not GoodwillCredit.objects.exists()
