"""SLA engine: policy matching, due times on every kind of change, pause/resume, closed departments, the sweep."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction

from cases.models import BusinessHours, Case, CaseEvent, Channel, Message, Notification, Priority, SlaPolicy, SlaRecord
from cases.services.cases import case_create, case_transition
from cases.services.messages import message_post
from cases.services.sla import sla_policy_for, sla_promise_text, sla_recompute, sla_sweep
from cases.tests.factories import DepartmentFactory

NY = ZoneInfo("America/New_York")
MON_0900 = datetime(2026, 11, 23, 9, 0, tzinfo=NY)
pytestmark = pytest.mark.django_db


def ny(*args):
    return datetime(*args, tzinfo=NY)


@pytest.fixture
def office(db):
    """A limited-hours department: Mon–Fri 9–17 New York."""
    dept = DepartmentFactory(slug="claims", name="Settlement claims", is_24_7=False, time_zone="America/New_York")
    BusinessHours.objects.bulk_create(
        BusinessHours(department=dept, weekday=d, opens=time(9), closes=time(17)) for d in range(5)
    )
    return dept


def open_case(customer, department, *, channel=Channel.CHAT, priority=Priority.NORMAL, now):
    with time_machine.travel(now, tick=False):
        return case_create(
            customer=customer,
            channel=channel,
            department=department,
            subject="Help",
            priority=priority,
            first_message="Hello?",
            now=now,
        )


def refreshed(case):
    case.refresh_from_db()
    return case


# --- policies ------------------------------------------------------------------------------------------------


def test_seeded_defaults_follow_the_seed_table(department, customer):
    # Given the policies seeded by the data migration
    chat = open_case(customer, department, channel=Channel.CHAT, now=MON_0900)
    social = open_case(customer, department, channel=Channel.SOCIAL, now=MON_0900)
    phone = open_case(customer, department, channel=Channel.PHONE, now=MON_0900)
    callback = open_case(customer, department, channel=Channel.CALLBACK, now=MON_0900)
    fraud = open_case(customer, department, channel=Channel.WEB, priority=Priority.URGENT, now=MON_0900)
    # Then first-response targets are minutes for chat, 60 min for social, 10 for the phone line, 3 for callbacks
    assert chat.first_response_due_at == MON_0900 + timedelta(minutes=3)
    assert social.first_response_due_at == MON_0900 + timedelta(minutes=60)
    assert phone.first_response_due_at == MON_0900 + timedelta(minutes=10)
    assert callback.first_response_due_at == MON_0900 + timedelta(minutes=3)
    # and the callback's ring-time target (60 s) is the earliest running target
    assert callback.sla_due_at == MON_0900 + timedelta(seconds=60)
    assert fraud.sla_policy.clock == SlaPolicy.Clock.ALWAYS
    assert fraud.first_response_due_at == MON_0900 + timedelta(minutes=5)


def test_first_matching_policy_by_explicit_order_wins(department, office, customer):
    # Given a claims-specific chat policy placed before the generic chat policy, and one after it
    early = SlaPolicy.objects.create(
        name="claims chat", order=25, channel=Channel.CHAT, department=office, first_response=timedelta(minutes=7)
    )
    SlaPolicy.objects.create(
        name="too late", order=35, channel=Channel.CHAT, department=office, first_response=timedelta(minutes=1)
    )
    claims_case = Case(channel=Channel.CHAT, priority=Priority.NORMAL, department=office)
    general_case = Case(channel=Channel.CHAT, priority=Priority.NORMAL, department=department)
    # Then the claims chat case gets the order-25 policy, the general one the seeded chat policy
    assert sla_policy_for(case=claims_case) == early
    assert sla_policy_for(case=general_case).name.startswith("Live chat")
    # and an urgent case of any channel gets the 24/7 fraud policy (order 10)
    assert sla_policy_for(case=Case(channel=Channel.EMAIL, priority=Priority.URGENT, department=office)).order == 10
    # and an inactive policy never matches
    early.is_active = False
    early.save()
    assert sla_policy_for(case=claims_case).name.startswith("Live chat")


# --- due times on each kind of change ------------------------------------------------------------------------


def test_issue_example_business_hours_target_on_friday_afternoon(office, customer):
    # Given a 2-hour business-hours policy for the claims department
    SlaPolicy.objects.create(
        name="claims 2h", order=1, department=office, first_response=timedelta(hours=2), resolution=timedelta(hours=8)
    )
    # When a case is raised Friday 16:30
    case = open_case(customer, office, channel=Channel.EMAIL, now=ny(2026, 11, 20, 16, 30))
    # Then its first response is due Monday 10:30 and the warning (80 %) is Monday 10:06
    assert case.first_response_due_at == ny(2026, 11, 23, 10, 30)
    assert case.sla_due_at == ny(2026, 11, 23, 10, 30)
    assert case.sla_next_check_at == ny(2026, 11, 23, 10, 6)


def test_agent_reply_meets_first_response_then_next_reply_runs_on_customer_message(department, agent, customer):
    case = open_case(customer, department, now=MON_0900)
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        with time_machine.travel(MON_0900 + timedelta(minutes=1), tick=False):
            locked.assignee = agent
            case_transition(case=locked, new_status=Case.Status.ASSIGNED, actor=agent)
    # When the agent answers after 2 minutes
    with time_machine.travel(MON_0900 + timedelta(minutes=2), tick=False):
        message_post(case_id=case.pk, kind=Message.Kind.AGENT, body="Hi, looking", author=agent)
    case = refreshed(case)
    # Then first response is met (frozen due kept), no next reply is pending; resolution orders the queue
    assert case.first_response_due_at == MON_0900 + timedelta(minutes=3)
    assert case.next_reply_due_at is None
    assert case.sla_due_at == case.resolution_due_at == MON_0900 + timedelta(hours=8)
    # When the customer writes again at 09:10
    with time_machine.travel(MON_0900 + timedelta(minutes=10), tick=False):
        message_post(case_id=case.pk, kind=Message.Kind.CUSTOMER, body="Any news?", author=customer.user)
    case = refreshed(case)
    # Then the next reply is due 3 minutes later and it is the earliest target
    assert case.next_reply_due_at == MON_0900 + timedelta(minutes=13)
    assert case.sla_due_at == case.next_reply_due_at
    assert SlaRecord.objects.filter(case=case).count() == 0


def test_priority_and_department_changes_recompute(department, office, customer):
    case = open_case(customer, department, channel=Channel.EMAIL, now=MON_0900)
    assert case.first_response_due_at == MON_0900 + timedelta(hours=16)  # 24/7 general: 2 business days = 16 h
    later = MON_0900 + timedelta(minutes=5)
    # When priority becomes urgent, the 24/7 fraud policy applies
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        locked.priority = Priority.URGENT
        locked.save()
        sla_recompute(case=locked, now=later)
    assert refreshed(case).first_response_due_at == MON_0900 + timedelta(minutes=5)
    # When it moves back to normal priority in the claims department (Mon–Fri 9–17)
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        locked.priority = Priority.NORMAL
        locked.department = office
        locked.save()
        sla_recompute(case=locked, now=later)
    # Then 16 business hours from Monday 9:00 is Tuesday 17:00
    assert refreshed(case).first_response_due_at == ny(2026, 11, 24, 17, 0)


def test_waiting_on_customer_pauses_and_reply_resumes_without_counting_paused_time(department, agent, customer):
    case = open_case(customer, department, channel=Channel.SOCIAL, now=MON_0900)
    assert case.resolution_due_at == MON_0900 + timedelta(hours=24)
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        locked.assignee = agent
        case_transition(case=locked, new_status=Case.Status.ASSIGNED, actor=agent, now=MON_0900)
    with time_machine.travel(MON_0900 + timedelta(minutes=5), tick=False):
        message_post(case_id=case.pk, kind=Message.Kind.AGENT, body="Which order?", author=agent)
    # When the agent waits on the customer at 09:05
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        case_transition(
            case=locked, new_status=Case.Status.WAITING_CUSTOMER, actor=agent, now=MON_0900 + timedelta(minutes=5)
        )
    case = refreshed(case)
    # Then nothing is pending for the sweep and the queue order key is cleared
    assert case.sla_paused_at == MON_0900 + timedelta(minutes=5)
    assert case.sla_next_check_at is None and case.sla_due_at is None
    # When the customer replies 3 hours later
    with time_machine.travel(MON_0900 + timedelta(hours=3, minutes=5), tick=False):
        message_post(case_id=case.pk, kind=Message.Kind.CUSTOMER, body="Order 123", author=customer.user)
    case = refreshed(case)
    # Then the case is back with its associate, the pause is over and 3 hours are added to the resolution clock
    assert case.status == Case.Status.ASSIGNED
    assert case.sla_paused_at is None and case.sla_paused_seconds == 3 * 3600
    assert case.resolution_due_at == MON_0900 + timedelta(hours=27)
    assert case.next_reply_due_at == MON_0900 + timedelta(hours=4, minutes=5)


def test_pause_in_business_hours_counts_only_open_time(office, agent, customer):
    SlaPolicy.objects.create(
        name="claims", order=1, department=office, first_response=timedelta(hours=1), resolution=timedelta(hours=8)
    )
    case = open_case(customer, office, channel=Channel.EMAIL, now=ny(2026, 11, 20, 15, 0))  # Friday 15:00
    assert case.resolution_due_at == ny(2026, 11, 23, 15, 0)
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        locked.assignee = agent
        case_transition(case=locked, new_status=Case.Status.ASSIGNED, actor=agent, now=ny(2026, 11, 20, 15, 0))
        case_transition(case=locked, new_status=Case.Status.WAITING_CUSTOMER, actor=agent, now=ny(2026, 11, 20, 16, 0))
    # When the customer answers Monday 10:00 (paused Fri 16–17 and Mon 9–10: 2 business hours)
    with time_machine.travel(ny(2026, 11, 23, 10, 0), tick=False):
        message_post(case_id=case.pk, kind=Message.Kind.CUSTOMER, body="here you go", author=customer.user)
    case = refreshed(case)
    assert case.sla_paused_seconds == 2 * 3600
    assert case.resolution_due_at == ny(2026, 11, 23, 17, 0)


def test_resolving_stops_the_clock_and_reopening_restarts_it(department, agent, customer):
    case = open_case(customer, department, now=MON_0900)
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        case_transition(case=locked, new_status=Case.Status.RESOLVED, actor=agent, now=MON_0900 + timedelta(minutes=1))
    case = refreshed(case)
    assert case.sla_due_at is None and case.sla_next_check_at is None
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        case_transition(case=locked, new_status=Case.Status.NEW, actor=agent, now=MON_0900 + timedelta(minutes=2))
    assert refreshed(case).sla_due_at == MON_0900 + timedelta(minutes=3)


def test_answer_after_the_due_time_records_one_breach_even_without_a_sweep(department, agent, customer):
    case = open_case(customer, department, now=MON_0900)
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        locked.assignee = agent
        case_transition(case=locked, new_status=Case.Status.ASSIGNED, actor=agent, now=MON_0900)
    # When the agent first answers at 09:10 (due 09:03) and no sweep ran
    with time_machine.travel(MON_0900 + timedelta(minutes=10), tick=False):
        message_post(case_id=case.pk, kind=Message.Kind.AGENT, body="Sorry for the wait", author=agent)
        message_post(case_id=case.pk, kind=Message.Kind.NOTE, body="note", author=agent)
    # Then exactly one first-response breach is recorded (met late)
    records = SlaRecord.objects.filter(case=case)
    assert [(r.target, r.level) for r in records] == [("first_response", "breach")]
    # and a later sweep does not record it again
    sla_sweep(now=MON_0900 + timedelta(hours=1))
    assert SlaRecord.objects.filter(case=case, target="first_response", level="breach").count() == 1


# --- closed departments and the promise -------------------------------------------------------------------------


def test_case_for_a_closed_department_waits_and_customer_is_told_when_it_opens(office, customer):
    # Given the claims department is closed on Saturday
    saturday = ny(2026, 11, 21, 11, 0)
    case = open_case(customer, office, channel=Channel.EMAIL, now=saturday)
    # Then its clock starts Monday 9:00 (16 business hours → Tuesday 17:00)
    assert case.first_response_due_at == ny(2026, 11, 24, 17, 0)
    # and the Message Center says when it opens and what we promise
    note = Notification.objects.get(case=case, kind=Notification.Kind.CASE)
    assert "closed" in note.title
    assert "opens Monday 23 November at 09:00 (EST)" in note.body
    assert "we will reply by Tue 24 Nov, 17:00 (EST)" in note.body


def test_no_closed_notice_when_open_or_24_7(office, department, customer):
    open_case(customer, office, channel=Channel.EMAIL, now=ny(2026, 11, 23, 10, 0))
    open_case(customer, department, channel=Channel.EMAIL, now=ny(2026, 11, 21, 11, 0))
    assert not Notification.objects.filter(kind=Notification.Kind.CASE).exists()


def test_promise_is_in_the_department_time_zone(department, customer):
    department.time_zone = "Europe/Berlin"
    department.save()
    case = open_case(customer, department, now=datetime(2026, 11, 23, 13, 2, tzinfo=UTC))
    # 13:02 UTC + 3 min = 14:05 in Berlin
    assert sla_promise_text(case=case, now=datetime(2026, 11, 23, 13, 2, tzinfo=UTC)) == "we will reply by 14:05 (CET)"


def test_a_promise_whose_time_has_passed_becomes_an_apology(department, customer):
    case = open_case(customer, department, now=datetime(2026, 11, 23, 13, 2, tzinfo=UTC))  # due 13:05 UTC
    assert sla_promise_text(case=case, now=datetime(2026, 11, 23, 13, 4, 59, tzinfo=UTC)).startswith("we will reply by")
    late = sla_promise_text(case=case, now=datetime(2026, 11, 23, 13, 5, tzinfo=UTC))
    assert late == "we are sorry for the wait: an associate will reply as soon as they can"
    # while the case waits on the customer its clock is paused: nothing is promised, nor apologised for
    case.sla_paused_at = datetime(2026, 11, 23, 13, 4, tzinfo=UTC)
    assert sla_promise_text(case=case, now=datetime(2026, 11, 23, 13, 6, tzinfo=UTC)) == ""


# --- the sweep ---------------------------------------------------------------------------------------------------


def test_sweep_records_warning_then_breach_once_and_acts(department, office, customer, supervisor):
    policy = SlaPolicy.objects.get(channel=Channel.CHAT)
    policy.breach_reroute_to = office
    policy.save()
    case = open_case(customer, department, now=MON_0900)
    # Before the warning point nothing happens
    assert sla_sweep(now=MON_0900 + timedelta(minutes=2)).cases == 0
    # At 80 % (2 min 24 s) the sweep records a warning
    result = sla_sweep(now=MON_0900 + timedelta(minutes=2, seconds=30))
    assert (result.warnings, result.breaches) == (1, 0)
    assert refreshed(case).sla_next_check_at == MON_0900 + timedelta(minutes=3)
    # At the due time it records the breach, raises priority, re-routes and flags the supervisor
    result = sla_sweep(now=MON_0900 + timedelta(minutes=3, seconds=2))
    assert result.breaches >= 1
    case = refreshed(case)
    assert case.priority == Priority.HIGH
    assert case.department == office
    breach = SlaRecord.objects.get(
        case=case, target="first_response", level="breach", due_at=MON_0900 + timedelta(minutes=3)
    )
    assert breach.supervisor_notified and "supervisor notified" in breach.actions
    types = list(CaseEvent.objects.filter(case=case).values_list("type", flat=True))
    assert types.count(CaseEvent.Type.SLA_WARNING) >= 1 and CaseEvent.Type.PRIORITY_CHANGED in types
    assert CaseEvent.Type.TRANSFERRED in types
    # A sweep running again at the same instant records nothing new
    before = SlaRecord.objects.count()
    sla_sweep(now=MON_0900 + timedelta(minutes=3, seconds=2))
    assert SlaRecord.objects.count() == before
    assert refreshed(case).sla_next_check_at > MON_0900 + timedelta(minutes=3, seconds=2)


def test_catch_up_after_outage_records_every_missed_breach_exactly_once(department, customer):
    # Given 30 cases fall due while no sweep runs (chat 3 min, social 60 min, callbacks 60 s)
    cases = []
    for i in range(10):
        cases.append(open_case(customer, department, channel=Channel.CHAT, now=MON_0900 + timedelta(seconds=i)))
        cases.append(open_case(customer, department, channel=Channel.SOCIAL, now=MON_0900 + timedelta(seconds=i)))
        cases.append(open_case(customer, department, channel=Channel.CALLBACK, now=MON_0900 + timedelta(seconds=i)))
    # When the first sweep after a 2-hour outage runs (in small batches)
    after = MON_0900 + timedelta(hours=2)
    sla_sweep(now=after, batch_size=7)
    # Then every case has its first-response breach exactly once, callbacks also their ring-time breach
    # (raising the priority moves the due time; the same target is still breached only once)
    for case in cases:
        fr = SlaRecord.objects.filter(case=case, target="first_response", level="breach")
        assert fr.count() == 1
        if case.channel == Channel.CALLBACK:
            assert SlaRecord.objects.filter(case=case, target="ring", level="breach").count() == 1
    # and nothing is left due
    assert not Case.objects.filter(sla_next_check_at__lte=after).exists()
    count = SlaRecord.objects.count()
    assert sla_sweep(now=after).cases == 0
    assert SlaRecord.objects.count() == count


def test_unique_constraint_makes_a_second_record_impossible(department, customer):
    from django.db import IntegrityError

    case = open_case(customer, department, now=MON_0900)
    row = dict(
        case=case,
        target="first_response",
        level="breach",
        due_at=MON_0900,
        point_at=MON_0900,
        department=department,
        channel="chat",
        priority=3,
    )
    SlaRecord.objects.create(**row)
    with pytest.raises(IntegrityError), transaction.atomic():
        SlaRecord.objects.create(**row)


def test_sweep_task_is_thin_and_runs(department, customer):
    from cases.tasks import sla_sweep as task

    case = open_case(customer, department, now=MON_0900)
    with time_machine.travel(MON_0900 + timedelta(hours=1), tick=False):
        task()
    assert SlaRecord.objects.filter(case=case, level="breach").exists()


def test_without_any_stored_policy_the_built_in_defaults_apply(department, customer):
    # Given every stored policy was deleted by a supervisor
    SlaPolicy.objects.all().delete()
    # When a chat and a callback case are opened
    chat = open_case(customer, department, channel=Channel.CHAT, now=MON_0900)
    callback = open_case(customer, department, channel=Channel.CALLBACK, now=MON_0900)
    # Then the seed's targets still apply (no stored policy is referenced)
    assert chat.first_response_due_at == MON_0900 + timedelta(minutes=3) and chat.sla_policy is None
    assert callback.sla_due_at == MON_0900 + timedelta(seconds=60)
    # and the sweep still records the breach
    assert sla_sweep(now=MON_0900 + timedelta(minutes=5)).breaches >= 2
    chat.refresh_from_db()
    chat.save()  # the case stays saveable


def test_a_due_time_moved_by_an_action_does_not_breach_the_same_target_twice(department, customer):
    # Given a high-priority callback (policy: first response 3 min) whose breach raises it to urgent (5 min policy)
    case = open_case(customer, department, channel=Channel.CALLBACK, priority=Priority.HIGH, now=MON_0900)
    # When the sweep runs long after every due time, twice
    sla_sweep(now=MON_0900 + timedelta(minutes=20))
    sla_sweep(now=MON_0900 + timedelta(minutes=40))
    # Then the first response was breached once and the ring time once, and the case is urgent
    assert SlaRecord.objects.filter(case=case, level="breach", target="first_response").count() == 1
    assert SlaRecord.objects.filter(case=case, level="breach", target="ring").count() == 1
    assert refreshed(case).priority == Priority.URGENT
    assert refreshed(case).sla_next_check_at is not None  # the resolution target is still ahead


# --- the sweep's batch reads ---------------------------------------------------------------------------------


def test_policy_matches_is_the_querysets_matching_rule(department, office):
    # Given policies that are blank (any) or set on each of channel, priority and department, one inactive
    SlaPolicy.objects.create(name="claims any", order=15, department=office, first_response=timedelta(minutes=9))
    SlaPolicy.objects.create(name="urgent email", order=16, channel=Channel.EMAIL, priority=Priority.URGENT)
    SlaPolicy.objects.create(name="off", order=1, is_active=False, channel=Channel.CHAT)
    policies = list(SlaPolicy.objects.active().order_by("order", "id"))
    # Then for every channel, priority and department, the first policy matched in memory is the queryset's first
    for channel in Channel.values:
        for priority in Priority.values:
            for dept in (department, office):
                key = {"channel": channel, "priority": priority, "department_id": dept.pk}
                in_memory = next((p for p in policies if p.matches(**key)), None)
                assert in_memory == SlaPolicy.objects.matching(**key).first(), key


def test_sweep_stores_what_a_recompute_reading_the_database_stores(department, office, agent, customer):
    from cases.models import Callback
    from cases.services.sla import SLA_FIELDS, sla_prepare

    def assign(case, at):
        with transaction.atomic(), time_machine.travel(at, tick=False):
            locked = Case.objects.select_for_update().get(pk=case.pk)
            locked.assignee = agent
            case_transition(case=locked, new_status=Case.Status.ASSIGNED, actor=agent)
            return locked

    def post(case, minutes, kind, author):
        with time_machine.travel(MON_0900 + timedelta(minutes=minutes), tick=False):
            message_post(case_id=case.pk, kind=kind, body="…", author=author)

    # Given a chat whose first response a sweep already breached (a record before the batch reads them)
    earlier = open_case(customer, department, now=MON_0900)
    assert sla_sweep(now=MON_0900 + timedelta(minutes=3, seconds=30)).breaches == 1
    # and cases of every other input the sweep reads for a batch: a callback with its row (ring time), a chat
    # answered once whose customer then wrote twice (next reply), a social case paused on the customer and
    # resumed (paused time), a chat in a limited-hours department
    callback = open_case(customer, department, channel=Channel.CALLBACK, now=MON_0900)
    Callback.objects.create(case=callback, phone="+12125550100", requested_at=MON_0900)
    answered = open_case(customer, department, now=MON_0900)
    assign(answered, MON_0900 + timedelta(minutes=1))
    post(answered, 2, Message.Kind.AGENT, agent)
    post(answered, 4, Message.Kind.CUSTOMER, customer.user)
    post(answered, 5, Message.Kind.CUSTOMER, customer.user)
    resumed = open_case(customer, department, channel=Channel.SOCIAL, now=MON_0900)
    with transaction.atomic(), time_machine.travel(MON_0900 + timedelta(minutes=1), tick=False):
        case_transition(case=assign(resumed, MON_0900), new_status=Case.Status.WAITING_CUSTOMER, actor=agent)
    post(resumed, 20, Message.Kind.CUSTOMER, customer.user)
    office_chat = open_case(customer, office, now=MON_0900)
    # When the sweep runs hours later: all five are due, in one batch
    later = MON_0900 + timedelta(hours=7)
    assert sla_sweep(now=later).cases == 5
    # Then each holds exactly what the write paths' recompute (every input read from the database) works out for
    # it at that instant, with nothing left to record
    for case in (earlier, callback, answered, resumed, office_chat):
        case.refresh_from_db()
        stored = {name: getattr(case, name) for name in SLA_FIELDS}
        update = sla_prepare(case=case, now=later)
        assert not update.late, case.subject
        assert {name: getattr(case, name) for name in SLA_FIELDS} == stored, case.channel
    assert answered.next_reply_due_at == MON_0900 + timedelta(minutes=7)  # from the oldest unanswered message
    assert resumed.sla_paused_seconds == 19 * 60
    assert SlaRecord.objects.filter(case=callback, target="ring", level="breach").exists()


def test_the_sweeps_reads_do_not_grow_with_the_cases_it_sweeps(department, customer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def sweep_reads(n):
        for i in range(n):
            channel = (Channel.CHAT, Channel.CALLBACK, Channel.SOCIAL)[i % 3]
            open_case(customer, department, channel=channel, now=MON_0900)
        with CaptureQueriesContext(connection) as queries:
            assert sla_sweep(now=MON_0900 + timedelta(hours=2)).cases == n
        statements = [q["sql"].split(None, 1)[0].upper() for q in queries.captured_queries]
        return statements.count("SELECT"), statements.count("INSERT") + statements.count("UPDATE")

    # Given 3 due cases (a chat, a callback, a social case), then 9 more of the same three kinds
    reads_3, writes_3 = sweep_reads(3)
    reads_9, writes_9 = sweep_reads(9)
    # Then the batch's reads are the same: the cases with their departments' hours and holidays, the policies, the
    # records, the callbacks (none answered yet: no read of unanswered messages); the writes follow the cases
    assert reads_3 == reads_9 == 6
    assert writes_9 == 3 * writes_3
