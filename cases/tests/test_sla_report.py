"""SLA reporting: attainment selector, the supervisor page, the customer promise filter."""

from datetime import timedelta

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from cases.models import CaseEvent, Channel, Priority, SlaRecord
from cases.selectors_sla import sla_attainment
from cases.services.cases import case_create, case_transition
from cases.services.sla import sla_sweep

pytestmark = pytest.mark.django_db


def _case(customer, department, channel=Channel.CHAT, *, minutes_ago, priority=Priority.NORMAL):
    return case_create(
        customer=customer,
        channel=channel,
        department=department,
        subject="Help",
        priority=priority,
        now=timezone.now() - timedelta(minutes=minutes_ago),
    )


@pytest.fixture
def world(department, customer, agent):
    # Given: a chat breached (30 min old, never answered), a chat resolved in time, a social case in progress
    breached = _case(customer, department, minutes_ago=30)
    hit = _case(customer, department, minutes_ago=1)
    from django.db import transaction

    from cases.models import Case

    with transaction.atomic():
        case_transition(case=Case.objects.select_for_update().get(pk=hit.pk), new_status=Case.Status.RESOLVED)
    running = _case(customer, department, Channel.SOCIAL, minutes_ago=1)
    sla_sweep()
    return breached, hit, running


def test_attainment_per_channel_priority_and_department(world, department):
    now = timezone.now()
    by_channel = {r["key"]: r for r in sla_attainment(since=now - timedelta(days=1), until=now, group_by="channel")}
    assert (by_channel["chat"]["hit"], by_channel["chat"]["missed"], by_channel["chat"]["in_progress"]) == (1, 1, 0)
    assert by_channel["chat"]["attainment"] == 50.0
    assert (by_channel["social"]["hit"], by_channel["social"]["missed"], by_channel["social"]["in_progress"]) == (
        0,
        0,
        1,
    )
    assert by_channel["social"]["attainment"] is None and by_channel["social"]["label"] == "Social"
    by_dept = sla_attainment(since=now - timedelta(days=1), until=now, group_by="department")
    assert [(r["label"], r["total"]) for r in by_dept] == [(department.name, 3)]
    by_priority = {r["label"]: r for r in sla_attainment(since=now - timedelta(days=1), until=now, group_by="priority")}
    # the breach raised the breached chat's priority: it now counts under High
    assert by_priority["High"]["missed"] == 1
    # a period that excludes them all is empty
    assert sla_attainment(since=now - timedelta(days=3), until=now - timedelta(days=2), group_by="channel") == []
    with pytest.raises(ValueError):
        sla_attainment(since=now, until=now, group_by="agent")


def test_first_response_attainment_counts_answered_cases_as_hit(world):
    now = timezone.now()
    rows = {
        r["key"]: r
        for r in sla_attainment(since=now - timedelta(days=1), until=now, group_by="channel", target="first_response")
    }
    assert rows["chat"]["missed"] == 1 and rows["chat"]["hit"] == 0  # the resolved chat was never answered


def test_supervisor_page_shows_attainment_next_breaches_and_alerts(
    client, supervisor, world, django_assert_num_queries
):
    breached, _hit, running = world
    client.force_login(supervisor)
    # Query count does not grow with the number of cases: session, user, profile (+ the layout's one),
    # 3 attainment queries, next breaches, alerts.
    for _ in range(5):
        _case(breached.customer, breached.department, minutes_ago=45)
    sla_sweep()
    with django_assert_num_queries(7):
        response = client.get(reverse("cases:sla-report"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "By channel" in html and "14.3 %" in html  # 1 hit, 6 missed chats
    assert running.reference in html and breached.reference in html
    assert "supervisor notified" in html
    fragment = client.get(reverse("cases:sla-report"), headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<h1>" not in fragment.content.decode()


def test_associates_and_customers_cannot_see_the_report(client, agent, customer):
    client.force_login(agent)
    assert client.get(reverse("cases:sla-report")).status_code == 403
    client.force_login(customer.user)
    assert client.get(reverse("cases:sla-report")).status_code in (403, 404)


def test_promise_filter_renders_in_department_time_zone(department, customer):
    case = _case(customer, department, minutes_ago=0)
    html = Template("{% load sla %}{{ case|sla_promise }}").render(Context({"case": case}))
    assert html.startswith("we will reply by ")
    assert case.sla_due_at.astimezone(__import__("zoneinfo").ZoneInfo(department.time_zone)).strftime("%H:%M") in html
    assert SlaRecord.objects.count() == 0 and not CaseEvent.objects.filter(type="sla_breach").exists()


def test_supervisor_edits_an_sla_policy_in_the_admin_and_it_applies(client, department, customer):
    from django.contrib.auth.models import Group

    from cases.models import AuditLog, Role, SlaPolicy
    from cases.tests.factories import AgentFactory

    # Given a supervisor with the admin's staff flag and the supervisor group
    user = AgentFactory(user__username="sue", role=Role.SUPERVISOR, departments=[department]).user
    user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get(name="supervisor"))
    client.force_login(user)
    policy = SlaPolicy.objects.get(channel=Channel.CHAT)
    url = reverse("admin:cases_slapolicy_change", args=[policy.pk])
    assert client.get(reverse("admin:cases_slapolicy_changelist")).status_code == 200
    # When the chat first-response target becomes 7 minutes
    form = {
        "name": policy.name,
        "order": policy.order,
        "is_active": "on",
        "channel": "chat",
        "priority": "",
        "department": "",
        "clock": policy.clock,
        "first_response": "00:07:00",
        "next_reply": "00:03:00",
        "resolution": "08:00:00",
        "ring_time": "",
        "warning_percent": 80,
        "breach_raise_priority": "on",
        "breach_notify_supervisor": "on",
        "breach_reroute_to": "",
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    # Then new chat cases get it, and the change is in the audit log
    case = _case(customer, department, minutes_ago=0)
    assert case.first_response_due_at == case.created_at + timedelta(minutes=7)
    assert AuditLog.objects.filter(action="sla_policy.change").exists()


def test_customer_sees_the_promise_in_the_department_time_zone(client, department, customer):
    # Given a Berlin department and a chat case opened now
    department.time_zone = "Europe/Berlin"
    department.save()
    case = _case(customer, department, minutes_ago=0)
    local = case.sla_due_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    expected = f"We will reply by {local:%H:%M} ({local.tzname()})"
    # When the customer looks at My cases and the case page
    client.force_login(customer.user)
    listing = client.get(reverse("escalations:my_cases")).content.decode()
    detail = client.get(reverse("escalations:case_detail", args=[case.reference])).content.decode()
    # Then both promise the reply time in Berlin time
    assert expected in listing
    assert expected in detail
