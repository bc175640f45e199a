"""Take-next's short path (bench/take_next.py): pinned statements, capacity still counted under the profile lock, the
SLA inputs read in its claim statement give exactly what the ordinary recompute computes (no cache: a policy edit
is seen by the very next claim), and due times that moved are written right after the claim without ever
overwriting a newer write."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from psycopg import pq

from cases.errors import Conflict
from cases.models import AgentProfile, BusinessHours, Case, CaseEvent, Channel, Holiday, Message, SlaPolicy, SlaRecord
from cases.services.cases import case_create
from cases.services.messages import message_post
from cases.services.queue import case_release, case_take_next
from cases.services.sla import sla_recompute
from cases.tests.factories import AgentFactory, CaseFactory, DepartmentFactory, waiting_case

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


def test_a_claim_is_two_statements_and_one_event(agent, department):
    # given one waiting chat whose due times are the ones the recompute stored when it was queued
    waiting = waiting_case(department=department)
    before = _sla(waiting.pk)
    at = waiting.created_at + timedelta(minutes=1)
    # when the associate takes next
    with CaptureQueriesContext(connection) as ctx:
        case = case_take_next(user=agent, now=at)
    # then: the profile lock; the claim — load, free channels, SKIP LOCKED pick, the UPDATE, the callback offer and
    # the STATUS_CHANGED event, with the case's SLA inputs — in one statement (the two sent together:
    # test_take_next_round_trips.py); no write for the due times, which the claim leaves as they are
    statements = [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 2, "\n".join(statements)
    assert "FOR NO KEY UPDATE" in statements[0] and "cases_agentprofile" in statements[0]
    claim = statements[1]
    assert "count(*)" in claim and "FOR UPDATE SKIP LOCKED" in claim
    assert "UPDATE cases_case c" in claim and "UPDATE cases_callback cb" in claim
    assert "INSERT INTO cases_caseevent" in claim
    assert "cases_slapolicy" in claim and "cases_slarecord" in claim
    assert case.pk == waiting.pk
    row = _sla(case.pk)
    assert (row["status"], row["assignee_id"]) == ("assigned", agent.pk)
    assert {k: row[k] for k in SLA_FIELDS} == {k: before[k] for k in SLA_FIELDS}
    assert Case.objects.get(pk=case.pk).updated_at == at
    event = CaseEvent.objects.get(case=case, type=CaseEvent.Type.STATUS_CHANGED)
    assert event.created_at == at
    assert (event.actor_id, event.old_value, event.new_value, event.is_public) == (agent.pk, "new", "assigned", True)
    assert event.data == {"assignee": "alice", "via": "take_next"}
    # and the instance returned is the row as stored
    assert (case.status, case.assignee_id, case.updated_at) == (
        "assigned",
        agent.pk,
        Case.objects.get(pk=case.pk).updated_at,
    )
    assert case.sla_due_at == before["sla_due_at"]


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


def _chat_policy(name: str, minutes: int, priority: int | None = None, order: int = 0) -> SlaPolicy:
    """A stored chat policy."""
    return SlaPolicy.objects.create(
        name=name,
        order=order,
        channel=Channel.CHAT,
        priority=priority,
        clock=SlaPolicy.Clock.ALWAYS,
        first_response=timedelta(minutes=minutes),
        resolution=timedelta(hours=4),
    )


def test_due_times_that_moved_are_written_by_one_update_after_the_claim(agent, department):
    # given a queued chat whose policy was edited after it was queued (the stored due times are the old policy's)
    case = waiting_case(department=department)
    policy = SlaPolicy.objects.get(pk=case.sla_policy_id)
    SlaPolicy.objects.filter(pk=policy.pk).update(first_response=timedelta(minutes=42), clock=SlaPolicy.Clock.ALWAYS)
    # when the associate takes it
    with CaptureQueriesContext(connection) as ctx:
        case_take_next(user=agent, now=case.created_at + timedelta(minutes=1))
    # then after the claim's two statements, one UPDATE wrote the new due times (no lock, no re-read)
    statements = [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 3, "\n".join(statements)
    assert statements[2].startswith("UPDATE cases_case SET sla_policy_id") and "IS NOT DISTINCT FROM" in statements[2]
    row = _sla(case.pk)
    assert row["first_response_due_at"] == case.created_at + timedelta(minutes=42)
    # and it is what the ordinary recompute stores
    with transaction.atomic():
        sla_recompute(case=Case.objects.select_for_update().get(pk=case.pk), now=case.created_at + timedelta(minutes=1))
    assert _sla(case.pk) == row


@pytest.mark.django_db(transaction=True)
def test_a_write_between_the_claim_and_its_due_times_is_never_overwritten(agent, department, monkeypatch):
    # given a queued chat on the built-in clock (no stored policy), then chat policies stored: one for every chat,
    # one for urgent ones
    SlaPolicy.objects.all().delete()
    case = waiting_case(department=department)
    _chat_policy("Chats", minutes=42, order=1)
    urgent = _chat_policy("Urgent chats", minutes=5, priority=1)
    at = case.created_at + timedelta(minutes=1)
    # and a write that commits after the claim and before its due times are written: the SLA sweep raising the
    # case to urgent (an UPDATE of the priority alone, from another connection)
    from cases.services import queue

    real_prepare = queue.sla_prepare

    def raise_priority_meanwhile(*, case, now):
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
            other.execute("UPDATE cases_case SET priority = 1 WHERE id = %s", [case.pk])
        return real_prepare(case=case, now=now)

    monkeypatch.setattr(queue, "sla_prepare", raise_priority_meanwhile)
    # when the associate takes it
    taken = case_take_next(user=agent, now=at)
    # then the compare-and-set matched nothing (the claim's "Chats" times were not written over the new priority),
    # and the case was recomputed as it now is: the urgent policy's times
    row = _sla(case.pk)
    assert row["sla_policy_id"] == urgent.pk
    assert row["first_response_due_at"] == case.created_at + timedelta(minutes=5)
    assert (row["status"], row["assignee_id"]) == ("assigned", agent.pk)
    assert taken.first_response_due_at == row["first_response_due_at"]


@pytest.mark.django_db(transaction=True)
def test_a_claim_cut_off_before_its_due_times_keeps_the_queue_times_until_the_sweep(agent, department, monkeypatch):
    # given a queued chat on the built-in clock (no stored policy), then a chat policy stored
    SlaPolicy.objects.all().delete()
    case = waiting_case(department=department)
    queued = _sla(case.pk)
    policy = _chat_policy("Chats", minutes=42)
    at = case.created_at + timedelta(minutes=1)
    # when the worker dies after the claim committed and before the due times were written
    from cases.services import queue

    def killed(*, case, now):
        raise SystemExit("worker killed")

    monkeypatch.setattr(queue, "sla_prepare", killed)
    with pytest.raises(SystemExit):
        case_take_next(user=agent, now=at)
    monkeypatch.undo()
    # then the claim stands whole (status, assignee and its event), with the due times it had while queued
    row = _sla(case.pk)
    assert (row["status"], row["assignee_id"]) == ("assigned", agent.pk)
    assert CaseEvent.objects.filter(case=case, type=CaseEvent.Type.STATUS_CHANGED, new_value="assigned").count() == 1
    assert {k: row[k] for k in SLA_FIELDS} == {k: queued[k] for k in SLA_FIELDS}
    # and the sweep's next look at the case (at its stored check time) stores the new policy's times
    from cases.services.sla import sla_sweep

    sla_sweep(now=queued["sla_next_check_at"] + timedelta(seconds=1))
    row = _sla(case.pk)
    assert row["sla_policy_id"] == policy.pk
    assert row["first_response_due_at"] == case.created_at + timedelta(minutes=42)


def test_a_refusal_says_why_from_the_claims_own_snapshot(agent, department):
    # given an associate with one chat slot, already holding a chat, and another chat waiting
    AgentProfile.objects.filter(user=agent).update(
        capacity_chat=1, capacity_call=0, capacity_social=0, capacity_async=0
    )
    CaseFactory(department=department, status=Case.Status.ASSIGNED, assignee=agent)
    waiting = waiting_case(department=department)
    # when they take next
    with CaptureQueriesContext(connection) as ctx, pytest.raises(Conflict, match="at capacity on every channel"):
        case_take_next(user=agent)
    # then the reason came with the claim's answer (the lock and the claim, nothing read after)
    statements = [
        q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))
    ]
    assert len(statements) == 2, "\n".join(statements)
    assert Case.objects.get(pk=waiting.pk).status == Case.Status.NEW


@pytest.mark.django_db(transaction=True)
def test_due_times_that_moved_are_written_without_locking_the_case_again(agent, department, monkeypatch):
    # given a queued chat on the built-in clock, then a chat policy stored (nothing observes the statements here:
    # the claim and the compare-and-set each go as one batch with their BEGIN and COMMIT)
    SlaPolicy.objects.all().delete()
    case = waiting_case(department=department)
    policy = _chat_policy("Chats", minutes=42)
    from cases.services import queue

    def locked_recompute(**kwargs):
        raise AssertionError("the compare-and-set should have matched")

    monkeypatch.setattr(queue, "sla_recompute", locked_recompute)
    # when the associate takes it
    taken = case_take_next(user=agent, now=case.created_at + timedelta(minutes=1))
    # then the new policy's times are stored, by the compare-and-set alone
    row = _sla(case.pk)
    assert (row["sla_policy_id"], row["first_response_due_at"]) == (policy.pk, case.created_at + timedelta(minutes=42))
    assert taken.first_response_due_at == row["first_response_due_at"]
    assert connection.get_autocommit() and connection.connection.pgconn.transaction_status == pq.TransactionStatus.IDLE


@pytest.mark.django_db(transaction=True)
def test_a_status_written_behind_the_services_back_is_not_overwritten(agent, department, monkeypatch):
    # given a queued chat on the built-in clock, then a chat policy stored (its due times will move on claim)
    SlaPolicy.objects.all().delete()
    case = waiting_case(department=department)
    _chat_policy("Chats", minutes=42)
    # and, between the claim and its due times, a writer that changes the status and nothing else (no recompute,
    # no updated_at)
    from cases.services import queue

    real_prepare = queue.sla_prepare

    def put_on_hold_meanwhile(*, case, now):
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
            other.execute("UPDATE cases_case SET status = 'waiting_customer' WHERE id = %s", [case.pk])
        return real_prepare(case=case, now=now)

    monkeypatch.setattr(queue, "sla_prepare", put_on_hold_meanwhile)
    at = case.created_at + timedelta(minutes=1)
    case_take_next(user=agent, now=at)
    # then the claim's "assigned" times were not written over it: the case was recomputed as it is (clock paused)
    row = _sla(case.pk)
    assert row["status"] == "waiting_customer"
    assert row["sla_paused_at"] == at and row["sla_due_at"] is None


@pytest.mark.django_db(transaction=True)
def test_a_database_error_after_the_claim_leaves_the_claim_and_says_so(agent, department, monkeypatch, caplog):
    # given a queued chat whose due times will move on claim, and writing them fails (here: a broken statement)
    SlaPolicy.objects.all().delete()
    case = waiting_case(department=department)
    queued = _sla(case.pk)
    _chat_policy("Chats", minutes=42)
    from cases.services import queue

    monkeypatch.setattr(queue, "_SETTLE_SQL", queue._SETTLE_SQL.replace("UPDATE cases_case ", "UPDATE no_such_table "))
    # when the associate takes it
    taken = case_take_next(user=agent)
    # then they get the case (the claim is committed: no error page), the failure is logged, and the case keeps
    # its queue-time due times until its next recompute
    assert taken.pk == case.pk
    row = _sla(case.pk)
    assert (row["status"], row["assignee_id"]) == ("assigned", agent.pk)
    assert {k: row[k] for k in SLA_FIELDS} == {k: queued[k] for k in SLA_FIELDS}
    assert "its due times are left to its next recompute" in caplog.text
    assert connection.get_autocommit() and connection.connection.pgconn.transaction_status == pq.TransactionStatus.IDLE
