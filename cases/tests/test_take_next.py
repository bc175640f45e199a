"""Take next, presence, supervisor assignment: the queue contract associates rely on."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from cases.errors import ApplicationError, Conflict, NotAllowed
from cases.models import AgentProfile, Case, CaseEvent, Priority
from cases.services.queue import agent_set_presence, case_assign, case_release, case_take_next
from cases.tests.factories import AgentFactory, CaseFactory, DepartmentFactory
from customers.tests.factories import CustomerFactory


@pytest.mark.django_db
def test_take_next_claims_by_priority_then_sla_then_queue_time(agent, department):
    # given three waiting chats: a normal one due soon, an urgent one due later, a normal one due later
    now = timezone.now()
    normal_soon = CaseFactory(department=department, priority=Priority.NORMAL, sla_due_at=now + timedelta(minutes=1))
    urgent = CaseFactory(department=department, priority=Priority.URGENT, sla_due_at=now + timedelta(minutes=30))
    CaseFactory(department=department, priority=Priority.NORMAL, sla_due_at=now + timedelta(minutes=9))
    # when the associate takes next twice
    first = case_take_next(user=agent)
    second = case_take_next(user=agent)
    # then the urgent case comes first, then the one due soonest; both are theirs and on the timeline
    assert [first.pk, second.pk] == [urgent.pk, normal_soon.pk]
    urgent.refresh_from_db()
    assert urgent.status == Case.Status.ASSIGNED and urgent.assignee == agent
    event = urgent.events.get(type=CaseEvent.Type.STATUS_CHANGED)
    assert (event.old_value, event.new_value, event.actor) == ("new", "assigned", agent)


@pytest.mark.django_db
def test_take_next_never_hands_out_other_departments_cases(agent):
    CaseFactory(department=DepartmentFactory(slug="pharmacy"))
    with pytest.raises(Conflict, match="Nothing is waiting"):
        case_take_next(user=agent)


@pytest.mark.django_db
def test_over_capacity_take_is_refused_and_changes_nothing(agent, department):
    # given an associate with one chat slot already used
    AgentProfile.objects.filter(user=agent).update(capacity_chat=1)
    CaseFactory(department=department)
    case_take_next(user=agent)
    waiting = CaseFactory(department=department)
    events_before = CaseEvent.objects.count()
    # when they try to take another chat
    with pytest.raises(Conflict, match="at capacity"):
        case_take_next(user=agent, channel="chat")
    # then nothing moved
    waiting.refresh_from_db()
    assert waiting.status == Case.Status.NEW and waiting.assignee is None
    assert CaseEvent.objects.count() == events_before


@pytest.mark.django_db
def test_away_associates_cannot_take(agent, department):
    CaseFactory(department=department)
    agent_set_presence(user=agent, presence="away")
    with pytest.raises(Conflict, match="not available"):
        case_take_next(user=agent)
    with pytest.raises(ApplicationError):
        agent_set_presence(user=agent, presence="sleeping")


@pytest.mark.django_db
def test_only_supervisors_assign_and_reassign_is_on_the_timeline(agent, supervisor, department):
    bob = AgentFactory(user__username="bob", departments=[department]).user
    case = CaseFactory(department=department)
    with pytest.raises(NotAllowed):
        case_assign(case_id=case.pk, assignee=agent, actor=bob)
    case_assign(case_id=case.pk, assignee=agent, actor=supervisor)
    case_assign(case_id=case.pk, assignee=bob, actor=supervisor)
    case.refresh_from_db()
    assert case.assignee == bob and case.status == Case.Status.ASSIGNED
    moves = list(case.events.filter(type=CaseEvent.Type.ASSIGNED).values_list("old_value", "new_value"))
    assert moves == [("", "alice"), ("alice", "bob")]


@pytest.mark.django_db
def test_release_by_someone_else_is_refused(agent, department):
    bob = AgentFactory(user__username="bob", departments=[department]).user
    CaseFactory(department=department)
    case = case_take_next(user=agent)
    with pytest.raises(NotAllowed, match="do not hold"):
        case_release(case_id=case.pk, actor=bob)
    case_release(case_id=case.pk, actor=agent)
    case.refresh_from_db()
    assert case.status == Case.Status.NEW and case.assignee is None


def _hammer(user, results, errors):
    try:
        while True:
            try:
                case = case_take_next(user=user)
            except Conflict:
                return
            results.append((user.pk, case.pk))
    except Exception as exc:  # surfaced by the test
        errors.append(exc)
    finally:
        connection.close()


def _run_threads(users):
    results, errors = [], []
    threads = [threading.Thread(target=_hammer, args=(u, results, errors)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_twenty_threads_two_hundred_cases_each_claimed_once_capacity_never_exceeded():
    # given one queue of 200 chats and 10 associates with 15 chat slots each, two browser tabs (threads) apiece
    department = DepartmentFactory(slug="general")
    customer = CustomerFactory()
    Case.objects.bulk_create(
        [
            Case(customer=customer, department=department, channel="chat", subject=f"c{i}", reference=f"CS-T-{i:04d}")
            for i in range(200)
        ]
    )
    profiles = [AgentFactory(user__username=f"agent{i}", departments=[department], capacity_chat=15) for i in range(10)]
    users = [p.user for p in profiles]
    # when 20 threads take next until refused
    results = _run_threads(users + users)
    # then 150 cases are claimed, none twice, and nobody holds more than their 15
    claimed = [case_id for _, case_id in results]
    assert len(claimed) == 150 == len(set(claimed))
    per_agent = {u.pk: Case.objects.filter(assignee=u, status="assigned").count() for u in users}
    assert set(per_agent.values()) == {15}
    assert Case.objects.filter(status="new").count() == 50
    # when capacity is raised so the whole queue fits, and the 20 threads go again
    AgentProfile.objects.update(capacity_chat=20)
    results += _run_threads(users + users)
    # then every one of the 200 cases was claimed exactly once, by exactly one assignment event
    claimed = [case_id for _, case_id in results]
    assert len(claimed) == 200 == len(set(claimed))
    assert not Case.objects.filter(status="new").exists()
    assert CaseEvent.objects.filter(type="status_changed", new_value="assigned").count() == 200
    assert max(Case.objects.filter(assignee=u).count() for u in users) == 20
