"""Take-next's short path (bench/take_next.py): pinned statements, capacity still counted under the profile lock, and
the SLA inputs read in its pick statement give exactly what the ordinary recompute computes (no cache: a policy edit
is seen by the very next claim)."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from cases.errors import Conflict
from cases.models import AgentProfile, BusinessHours, Case, CaseEvent, Channel, Holiday, Message, SlaPolicy, SlaRecord
from cases.services.cases import case_create
from cases.services.messages import message_post
from cases.services.queue import case_release, case_take_next
from cases.services.sla import sla_recompute
from cases.tests.factories import AgentFactory, CaseFactory, DepartmentFactory

NY = ZoneInfo("America/New_York")
MON_0900 = datetime(2026, 11, 23, 9, 0, tzinfo=NY)
SLA_FIELDS = [
    "first_response_due_at",
    "next_reply_due_at",
    "resolution_due_at",
    "sla_due_at",
    "sla_next_check_at",
    "sla_paused_at",
    "sla_paused_seconds",
    "sla_policy_id",
]
pytestmark = pytest.mark.django_db


def _sla(case_id):
    return Case.objects.filter(pk=case_id).values(*SLA_FIELDS, "status", "assignee_id").get()


def test_a_claim_is_three_statements_and_one_event(agent, department):
    # given one waiting chat (not a callback: a callback adds its offer UPDATE)
    waiting = CaseFactory(department=department)
    # when the associate takes next
    with CaptureQueriesContext(connection) as ctx:
        case = case_take_next(user=agent)
    # then: the profile lock; the load, free channels and SKIP LOCKED pick with the case's SLA inputs (these two
    # sent together: test_take_next_round_trips.py); one UPDATE (status, assignee and due times) with the
    # STATUS_CHANGED event in the same statement
    statements = [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 3, "\n".join(statements)
    assert "FOR NO KEY UPDATE" in statements[0] and "cases_agentprofile" in statements[0]
    assert "count(*)" in statements[1] and "FOR UPDATE SKIP LOCKED" in statements[1]
    assert "cases_slapolicy" in statements[1] and "cases_slarecord" in statements[1]
    assert statements[2].startswith('WITH changed AS (UPDATE "cases_case"') and '"sla_due_at"' in statements[2]
    assert 'INSERT INTO "cases_caseevent"' in statements[2]
    assert case.pk == waiting.pk
    row = _sla(case.pk)
    assert (row["status"], row["assignee_id"]) == ("assigned", agent.pk)
    assert CaseEvent.objects.filter(case=case, type=CaseEvent.Type.STATUS_CHANGED).count() == 1


def test_inputs_read_with_the_pick_give_what_the_ordinary_recompute_stores(customer):
    # given a limited-hours department with a holiday, and a chat that was answered late, released back to the
    # queue and has a customer message waiting (first response breached and recorded, next reply running)
    office = DepartmentFactory(slug="claims", is_24_7=False, time_zone="America/New_York")
    BusinessHours.objects.bulk_create(
        BusinessHours(department=office, weekday=d, opens=time(9), closes=time(17)) for d in range(5)
    )
    Holiday.objects.create(department=office, date=date(2026, 11, 26), name="Thanksgiving")
    alice = AgentFactory(user__username="alice", departments=[office]).user
    bob = AgentFactory(user__username="bob", departments=[office]).user
    with time_machine.travel(MON_0900, tick=False):
        case = case_create(
            customer=customer, channel=Channel.CHAT, department=office, subject="Help", first_message="Hi", now=MON_0900
        )
    with time_machine.travel(MON_0900 + timedelta(minutes=1), tick=False):
        case_take_next(user=alice)
    with time_machine.travel(MON_0900 + timedelta(minutes=20), tick=False):
        message_post(case_id=case.pk, kind=Message.Kind.AGENT, body="Sorry for the wait", author=alice)
        case_release(case_id=case.pk, actor=alice, reason="shift end")
    with time_machine.travel(MON_0900 + timedelta(minutes=30), tick=False):
        message_post(case_id=case.pk, kind=Message.Kind.CUSTOMER, body="Anyone?", author=customer.user)
    assert SlaRecord.objects.filter(case=case).count() == 1  # the late first response
    events_before = CaseEvent.objects.filter(case=case, type=CaseEvent.Type.SLA_BREACH).count()
    # when bob takes it on Wednesday evening (closed; Thursday is the holiday)
    at = datetime(2026, 11, 25, 18, 0, tzinfo=NY)
    taken = case_take_next(user=bob, now=at)
    assert taken.pk == case.pk
    stored = _sla(case.pk)
    # then a recompute the ordinary way (every input read on its own) changes nothing
    with transaction.atomic():
        sla_recompute(case=Case.objects.select_for_update().get(pk=case.pk), now=at)
    assert _sla(case.pk) == stored
    assert stored["next_reply_due_at"] == datetime(2026, 11, 23, 9, 33, tzinfo=NY)  # the customer waits since 09:30
    # and nothing was recorded twice
    assert SlaRecord.objects.filter(case=case).count() == 1
    assert CaseEvent.objects.filter(case=case, type=CaseEvent.Type.SLA_BREACH).count() == events_before


def test_a_policy_edit_is_seen_by_the_very_next_claim(agent, department):
    # given the chat policy is changed just before a claim (no policy cache to go stale)
    case = CaseFactory(department=department)
    policy = SlaPolicy.objects.get(channel=Channel.CHAT)
    SlaPolicy.objects.filter(pk=policy.pk).update(first_response=timedelta(minutes=42), clock=SlaPolicy.Clock.ALWAYS)
    # when the associate takes the case
    case_take_next(user=agent, now=case.created_at + timedelta(minutes=1))
    # then its due time follows the edited policy
    row = _sla(case.pk)
    assert row["sla_policy_id"] == policy.pk
    assert row["first_response_due_at"] == case.created_at + timedelta(minutes=42)


def test_capacity_is_counted_per_group_in_the_pick(agent, department):
    # given one call slot (callback + phone share it), one chat slot, no social/async slots; a phone case held
    AgentProfile.objects.filter(user=agent).update(
        capacity_call=1, capacity_chat=1, capacity_social=0, capacity_async=0
    )
    CaseFactory(department=department, channel=Channel.PHONE, status=Case.Status.ASSIGNED, assignee=agent)
    callback = CaseFactory(department=department, channel=Channel.CALLBACK, priority=1)
    chat = CaseFactory(department=department, channel=Channel.CHAT, priority=4)
    # when they take next: the urgent callback is skipped (the call group is full), the chat comes
    assert case_take_next(user=agent).pk == chat.pk
    # then every group is full: the refusal says so, and nothing moved
    with pytest.raises(Conflict, match="at capacity on every channel"):
        case_take_next(user=agent)
    with pytest.raises(Conflict, match="at capacity for call me now"):
        case_take_next(user=agent, channel=Channel.CALLBACK)
    assert Case.objects.get(pk=callback.pk).status == Case.Status.NEW
    # and with a free social slot but nothing waiting there, it is "nothing waiting"
    AgentProfile.objects.filter(user=agent).update(capacity_social=1)
    with pytest.raises(Conflict, match="Nothing is waiting"):
        case_take_next(user=agent, channel=Channel.SOCIAL)
    with pytest.raises(Conflict, match="Nothing is waiting"):
        case_take_next(user=agent)
