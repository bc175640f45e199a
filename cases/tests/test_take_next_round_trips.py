"""Take-next's round trips (bench/take_next.py): BEGIN, the profile lock, the claim and COMMIT travel to the server
together, and the claim still runs after the lock is granted — it counts every claim a concurrent click of the same
associate committed while it waited, so capacity holds."""

import itertools
import os
import tempfile
import threading
import time
from datetime import timedelta

import psycopg
import pytest
from django.db import connection, transaction
from psycopg import pq

from cases import rawrows
from cases.errors import Conflict
from cases.models import AgentProfile, Case, CaseEvent, Channel
from cases.services.queue import case_take_next
from cases.tests.factories import AgentFactory, CaseFactory, waiting_case

pytestmark = pytest.mark.django_db(transaction=True)


def _round_trips(fn):
    """Call ``fn`` and count how many times the client waited for the server: libpq's protocol trace, one round
    trip per run of frontend (F) messages answered by backend (B) messages."""
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            result = fn()
        finally:
            pgconn.untrace()
        os.lseek(trace.fileno(), 0, os.SEEK_SET)
        directions = [line.split("\t", 1)[0] for line in trace.read().splitlines() if line[:1] in "FB"]
    trips = sum(1 for before, after in itertools.pairwise(directions) if (before, after) == ("F", "B"))
    return result, trips


def test_a_claim_is_one_round_trip(agent, department):
    # given a waiting chat and an associate whose connection has claimed once already (statements prepared)
    waiting_case(department=department)
    waiting = waiting_case(department=department)
    case_take_next(user=agent)
    # when they take next
    case, trips = _round_trips(lambda: case_take_next(user=agent))
    # then BEGIN, the profile lock, the claim (pick, UPDATE and event in one statement) and COMMIT go together
    assert trips == 1
    assert case.pk == waiting.pk
    assert Case.objects.filter(pk=case.pk, status=Case.Status.ASSIGNED, assignee=agent).exists()
    assert CaseEvent.objects.filter(case=case, type=CaseEvent.Type.STATUS_CHANGED, new_value="assigned").count() == 1


def test_a_callback_claim_offers_the_call_in_the_same_round_trip(agent, department):
    # given a waiting Call Me Now request (its ring-time clock needs the callback row), on a connection that has
    # claimed one already (statements prepared)
    from cases.models import Callback

    AgentProfile.objects.filter(user=agent).update(capacity_call=2)
    for _ in range(2):
        waiting = waiting_case(department=department, channel=Channel.CALLBACK)
        Callback.objects.create(case=waiting, phone="+15551234567", requested_at=waiting.created_at)
    case_take_next(user=agent)
    # when the associate takes it
    case, trips = _round_trips(lambda: case_take_next(user=agent))
    # then the offer to the taker is part of the claim: still one round trip, and the callback is theirs to dial
    assert case.pk == waiting.pk and trips == 1
    callback = Callback.objects.get(case=waiting)
    assert (callback.status, callback.offered_to_id) == (Callback.Status.OFFERED, agent.pk)
    assert callback.next_attempt_at == callback.offered_at + timedelta(seconds=30)


def _claim_plans() -> tuple[int, int]:
    """(generic, custom) plans PostgreSQL's plan cache made for this connection's prepared claim statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%FOR UPDATE SKIP LOCKED%"],
        )
        (plans,) = cursor.fetchall()
    return plans


def _plan_cache_mode() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        return cursor.fetchone()[0]


def test_the_claim_statement_is_planned_once_not_on_every_claim(agent, department):
    # given an associate with room for eight chats and eight waiting
    AgentProfile.objects.filter(user=agent).update(capacity_chat=8)
    waiting = [waiting_case(department=department) for _ in range(8)]
    # when they take next eight times on one connection
    taken = [case_take_next(user=agent).pk for _ in range(8)]
    # then every claim ran the one generic plan: the plan cache planned nothing per claim (left to itself it makes a
    # custom plan for each of the first five runs, and for every run while the generic plan looks dearer)
    assert taken == [case.pk for case in waiting]
    assert _claim_plans() == (8, 0)
    # and the setting went with the claim's transaction: the connection plans the way it did before
    assert _plan_cache_mode() == "auto"


def test_a_claim_inside_the_callers_transaction_leaves_the_plan_cache_alone(agent, department):
    # given a waiting chat
    waiting = waiting_case(department=department)
    # when take-next runs inside a transaction of the caller's
    with transaction.atomic():
        assert case_take_next(user=agent).pk == waiting.pk
        # then nothing of the claim's own planning outlives it in the caller's transaction
        assert _plan_cache_mode() == "auto"
    assert _claim_plans() == (0, 1)


def test_a_claim_inside_the_callers_transaction_is_not_committed_by_take_next(agent, department):
    # given a waiting chat
    waiting = waiting_case(department=department)
    # when take-next runs inside a transaction of the caller's that is then rolled back
    with pytest.raises(RuntimeError), transaction.atomic():
        assert case_take_next(user=agent).pk == waiting.pk
        raise RuntimeError("the caller changes its mind")
    # then the claim went with it: take-next only commits a transaction of its own
    assert Case.objects.get(pk=waiting.pk).status == Case.Status.NEW
    assert not CaseEvent.objects.filter(case=waiting, type=CaseEvent.Type.STATUS_CHANGED).exists()


def test_a_breach_met_late_is_recorded_once_right_after_the_claim(agent, department):
    # given a case answered once and released, whose next-reply clock ran out while it waited (met late on claim)
    from django.utils import timezone

    from cases.models import SlaRecord

    past = timezone.now() - timedelta(hours=2)
    waiting = CaseFactory(department=department, first_response_at=past, next_reply_due_at=past + timedelta(hours=1))
    # when the associate takes it
    case, trips = _round_trips(lambda: case_take_next(user=agent))
    # then the claim committed in its round trip, and the breach was recorded after it in a transaction of its own
    # (the case locked again and recomputed as it then was)
    assert case.pk == waiting.pk and trips > 1
    assert SlaRecord.objects.filter(case=waiting, target="next_reply", level="breach").count() == 1
    assert CaseEvent.objects.filter(case=waiting, type=CaseEvent.Type.SLA_BREACH).count() == 1
    assert Case.objects.get(pk=waiting.pk).status == Case.Status.ASSIGNED
    # and a recompute now finds it recorded: nothing twice
    from cases.services.sla import sla_recompute

    with transaction.atomic():
        sla_recompute(case=Case.objects.select_for_update().get(pk=waiting.pk), now=timezone.now())
    assert SlaRecord.objects.filter(case=waiting).count() == 1


def _other_tab(user_id: int, case_id: int) -> psycopg.Connection:
    """Another tab of the same associate in the middle of a claim: holds their profile lock, has assigned a case."""
    tab = psycopg.connect(**connection.get_connection_params())
    tab.execute("SELECT 1 FROM cases_agentprofile WHERE user_id = %s FOR NO KEY UPDATE", [user_id])
    tab.execute("UPDATE cases_case SET status = 'assigned', assignee_id = %s WHERE id = %s", [user_id, case_id])
    return tab


def _wait_for_a_lock_wait():
    deadline = time.monotonic() + 10
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError("take-next never waited on the profile lock")


def _take_while_the_other_tab_commits(user, tab: psycopg.Connection) -> dict:
    """Take next for ``user`` in a thread while ``tab`` holds their profile lock; once the claim waits on that lock,
    the tab commits (and is closed). Returns the claim's outcome: ``{"case": pk}`` or ``{"refused": code}``."""
    outcome = {}

    def take():
        try:
            outcome["case"] = case_take_next(user=user).pk
        except Conflict as exc:
            outcome["refused"] = exc.code
        finally:
            connection.close()

    try:
        thread = threading.Thread(target=take)
        thread.start()
        _wait_for_a_lock_wait()
        tab.commit()
        thread.join(timeout=20)
    finally:
        tab.close()
    return outcome


def test_the_pick_sent_with_the_lock_counts_a_claim_committed_while_it_waited(department):
    # given alice with one slot (a chat) and two chats waiting, and her other tab holding her profile lock, having
    # just claimed the first chat
    alice = AgentFactory(
        user__username="alice",
        departments=[department],
        capacity_chat=1,
        capacity_call=0,
        capacity_social=0,
        capacity_async=0,
    ).user
    first, second = CaseFactory(department=department), CaseFactory(department=department)
    # when she takes next in this tab (it waits for the lock) and the other tab commits
    outcome = _take_while_the_other_tab_commits(alice, _other_tab(alice.pk, first.pk))
    # then the pick ran after the lock was granted and saw the committed claim: at capacity, nothing more taken
    assert outcome == {"refused": "at_capacity"}
    assert Case.objects.get(pk=second.pk).status == Case.Status.NEW
    assert Case.objects.filter(assignee=alice).count() == 1


def test_the_pick_sent_with_the_lock_sees_a_presence_change_committed_while_it_waited(department):
    # given bob available with a chat waiting, while a presence change of his (another tab) holds his profile lock
    bob = AgentFactory(user__username="bob", departments=[department]).user
    waiting = CaseFactory(department=department)
    tab = psycopg.connect(**connection.get_connection_params())
    tab.execute("SELECT 1 FROM cases_agentprofile WHERE user_id = %s FOR NO KEY UPDATE", [bob.pk])
    tab.execute("UPDATE cases_agentprofile SET presence = 'away' WHERE user_id = %s", [bob.pk])
    # when he takes next meanwhile, and the presence change commits
    outcome = _take_while_the_other_tab_commits(bob, tab)
    # then he is away: refused, and the chat is still waiting
    assert outcome == {"refused": "not_available"}
    assert Case.objects.get(pk=waiting.pk).status == Case.Status.NEW
    assert AgentProfile.objects.get(user=bob).presence == AgentProfile.Presence.AWAY


def test_a_refused_claim_leaves_the_connection_as_django_expects(agent, department):
    # given an associate who is away (refused after the lock and pick were sent with the transaction's BEGIN)
    AgentProfile.objects.filter(user=agent).update(presence=AgentProfile.Presence.AWAY)
    CaseFactory(department=department)
    with pytest.raises(Conflict):
        case_take_next(user=agent)
    # then the transaction was rolled back and the connection is back in autocommit, idle
    raw = connection.connection
    assert connection.get_autocommit() and raw.autocommit
    assert raw.pgconn.transaction_status == pq.TransactionStatus.IDLE
    # and the next atomic block on it behaves as usual: a failure inside rolls back, a success commits
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        AgentProfile.objects.filter(user=agent).update(presence=AgentProfile.Presence.AVAILABLE)
        raise ZeroDivisionError
    assert AgentProfile.objects.get(user=agent).presence == AgentProfile.Presence.AWAY
    with transaction.atomic():
        AgentProfile.objects.filter(user=agent).update(presence=AgentProfile.Presence.AVAILABLE)
    assert case_take_next(user=agent).status == Case.Status.ASSIGNED


def test_together_failing_before_or_after_begin_restores_the_atomic_block(agent):
    # when a statement sent together with the BEGIN fails
    with pytest.raises(psycopg.errors.DivisionByZero), transaction.atomic():
        rawrows.together([("SELECT 1", []), ("SELECT 1 / 0", [])])
    # then the atomic block rolled it back and the connection is idle in autocommit
    raw = connection.connection
    assert raw.autocommit and raw.pgconn.transaction_status == pq.TransactionStatus.IDLE
    # and inside an outer transaction (a savepoint already sent) nothing extra is begun: the rows come back
    with transaction.atomic():
        AgentProfile.objects.filter(user=agent).update(presence=AgentProfile.Presence.AWAY)
        with transaction.atomic():
            rows = rawrows.together([("SELECT presence FROM cases_agentprofile WHERE user_id = %s", [agent.pk])])
        assert rows == [[("away",)]]
        assert not raw.autocommit  # psycopg's own flag untouched: the transaction was already open
    assert AgentProfile.objects.get(user=agent).presence == AgentProfile.Presence.AWAY


def test_without_prepared_statements_the_statements_go_one_by_one(agent, department, settings):
    # given a deployment behind a transaction-mode pooler (no prepared statements, no pipeline)
    settings.RH = {**settings.RH, "PREPARE_HOT_STATEMENTS": False}
    waiting_case(department=department)
    waiting = waiting_case(department=department)
    case_take_next(user=agent)
    # when the associate takes next
    case, trips = _round_trips(lambda: case_take_next(user=agent))
    # then the same claim is made in four round trips: BEGIN, lock, claim, COMMIT
    assert case.pk == waiting.pk and trips == 4
    assert Case.objects.filter(pk=case.pk, status=Case.Status.ASSIGNED, assignee=agent).exists()
    raw = connection.connection
    assert connection.get_autocommit() and raw.autocommit
