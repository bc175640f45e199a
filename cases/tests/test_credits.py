"""Goodwill credits: humans only, limits per role and per UTC day, four eyes, reversal as a new entry, audit."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone

from cases.auth import ApiClient, api_key_create
from cases.errors import ApplicationError, Conflict, NotAllowed
from cases.models import AuditLog, CaseEvent, CreditLimit, GoodwillCredit, Notification, Role
from cases.services.audit import audit_verify
from cases.services.credits import (
    agent_role_set,
    credit_approve,
    credit_day_bounds,
    credit_grant,
    credit_limit_set,
    credit_reject,
    credit_reverse,
)
from cases.tests.factories import AgentFactory, CaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(department, customer):
    return CaseFactory(department=department, customer=customer)


@pytest.fixture
def second_supervisor(department):
    return AgentFactory(user__username="sue", role=Role.SUPERVISOR, departments=[department]).user


@pytest.fixture
def default_limits(db):
    """transaction=True tests start from a flushed database: put back the data migration's default limits."""
    import importlib

    defaults = importlib.import_module("cases.migrations.0005_credit_limit_defaults").DEFAULTS
    for role, (per_credit, per_day) in defaults.items():
        CreditLimit.objects.get_or_create(role=role, defaults={"per_credit": per_credit, "per_day": per_day})


def grant(case, actor, amount, **kw):
    return credit_grant(
        case_id=case.pk,
        amount=Decimal(amount),
        reason_code=kw.pop("reason_code", "late_delivery"),
        note=kw.pop("note", "Parcel arrived a week late."),
        actor=actor,
        **kw,
    )


def test_default_limits_come_from_the_data_migration():
    limits = {lim.role: (lim.per_credit, lim.per_day) for lim in CreditLimit.objects.all()}
    assert limits["associate"] == (Decimal("50.00"), Decimal("200.00"))
    assert limits["social_care"] == (Decimal("150.00"), Decimal("600.00"))
    assert limits["supervisor"] == (Decimal("500.00"), Decimal("2000.00"))


def test_credit_within_limit_is_approved_audited_on_the_timeline_and_in_the_message_center(agent, case):
    credit = grant(case, agent, "25.00", ip_address="10.1.2.3")

    assert credit.status == GoodwillCredit.Status.APPROVED and credit.decided_by is None
    entry = AuditLog.objects.get(action="credit.granted")
    assert entry.actor_id == agent.pk and entry.ip_address == "10.1.2.3"
    assert (entry.object_type, entry.object_id) == ("cases.goodwillcredit", str(credit.pk))
    assert entry.data["amount"] == "25.00" and entry.occurred_at.tzinfo is not None
    assert CaseEvent.objects.filter(case=case, type=CaseEvent.Type.CREDIT, is_public=True).exists()
    note = Notification.objects.get(customer=case.customer, kind=Notification.Kind.CREDIT)
    assert "$25.00" in note.title
    assert audit_verify() == (AuditLog.objects.count(), None)


def test_credit_above_the_per_credit_limit_waits_for_a_supervisor_and_customer_is_not_told_yet(agent, case):
    credit = grant(case, agent, "50.01")
    assert credit.status == GoodwillCredit.Status.PENDING
    assert not Notification.objects.filter(kind=Notification.Kind.CREDIT).exists()
    assert AuditLog.objects.get(action="credit.granted").data["over_limit"] == ["per_credit"]


def test_daily_limit_sums_the_issuers_own_approved_credits(agent, case):
    for _ in range(4):
        assert grant(case, agent, "50.00").status == GoodwillCredit.Status.APPROVED
    fifth = grant(case, agent, "1.00")
    assert fifth.status == GoodwillCredit.Status.PENDING
    assert AuditLog.objects.filter(action="credit.granted").last().data["over_limit"] == ["per_day"]


def test_social_care_has_the_higher_limit(department, case):
    social = AgentFactory(role=Role.SOCIAL_CARE, departments=[department]).user
    assert grant(case, social, "150.00").status == GoodwillCredit.Status.APPROVED
    assert grant(case, social, "150.01").status == GoodwillCredit.Status.PENDING


def test_the_limit_day_is_the_utc_day_whatever_the_time_zone(agent, case):
    """Given an associate in New York: 23:30 local on Monday is already Tuesday 04:30 UTC."""
    ny = ZoneInfo("America/New_York")
    monday_evening_ny = datetime(2026, 3, 2, 19, 0, tzinfo=ny)  # Tue 00:00 UTC
    # Monday UTC: four $50 credits use the whole Monday allowance (issued at 18:00 NY = 23:00 UTC Monday).
    for _ in range(4):
        grant(case, agent, "50.00", now=datetime(2026, 3, 2, 18, 0, tzinfo=ny))
    # When: 19:00 NY on the same local day, which is a new UTC day.
    with timezone.override(ny):
        tuesday_utc = grant(case, agent, "50.00", now=monday_evening_ny)
    # Then: it counts against Tuesday (UTC), so it is approved even though the local date is still Monday.
    assert tuesday_utc.status == GoodwillCredit.Status.APPROVED
    # And one second before UTC midnight still belongs to Monday: pending.
    last_monday = grant(case, agent, "1.00", now=datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC))
    assert last_monday.status == GoodwillCredit.Status.PENDING
    # The active time zone (Tokyo: already Tuesday afternoon) does not move the boundary either.
    with timezone.override(ZoneInfo("Asia/Tokyo")):
        start, end = credit_day_bounds(datetime(2026, 3, 3, 0, 30, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 3, 3, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC))


@pytest.mark.parametrize(
    "make_actor",
    [
        pytest.param(
            lambda: ApiClient(api_key_create(name="assistant", scopes=["intake", "refunds"])[0]), id="api-key"
        ),
        pytest.param(AnonymousUser, id="anonymous"),
        pytest.param(lambda: None, id="no-actor"),
    ],
)
def test_machines_and_anonymous_callers_are_refused_in_the_service_and_the_refusal_is_audited(make_actor, case):
    actor = make_actor()
    with pytest.raises(NotAllowed):
        grant(case, actor, "5.00", ip_address="192.0.2.7")
    assert not GoodwillCredit.objects.exists()
    refused = AuditLog.objects.get(action="credit.grant.refused")
    assert refused.ip_address == "192.0.2.7" and refused.object_id == str(case.pk)
    if isinstance(actor, ApiClient):
        assert refused.actor_label == "api-key:assistant"


def test_a_customer_user_cannot_issue_credits(customer, case):
    with pytest.raises(NotAllowed):
        grant(case, customer.user, "5.00")
    assert AuditLog.objects.filter(action="credit.grant.refused", actor_id=customer.user.pk).exists()


def test_reason_code_and_note_are_required(agent, case):
    with pytest.raises(ApplicationError) as err:
        grant(case, agent, "5.00", reason_code="")
    assert "reason_code" in err.value.fields
    with pytest.raises(ApplicationError) as err:
        grant(case, agent, "5.00", note="   ")
    assert "note" in err.value.fields
    with pytest.raises(ApplicationError) as err:
        grant(case, agent, "-5.00")
    assert "amount" in err.value.fields
    assert not GoodwillCredit.objects.exists()


def test_associates_cannot_credit_cases_outside_their_departments(agent, customer):
    other = CaseFactory(department__slug="pharmacy", customer=customer)
    with pytest.raises(ApplicationError):
        grant(other, agent, "5.00")


def test_a_different_supervisor_approves_and_then_the_customer_is_told(agent, supervisor, case):
    credit = grant(case, agent, "80.00")
    approved = credit_approve(credit_id=credit.pk, actor=supervisor, note="Loyal customer", ip_address="10.0.0.9")
    assert approved.status == GoodwillCredit.Status.APPROVED and approved.decided_by == supervisor
    assert AuditLog.objects.get(action="credit.approved").ip_address == "10.0.0.9"
    assert Notification.objects.filter(kind=Notification.Kind.CREDIT, customer=case.customer).count() == 1
    with pytest.raises(Conflict):
        credit_reject(credit_id=credit.pk, actor=supervisor, note="too late")


def test_reject_needs_a_note_and_tells_nobody(agent, supervisor, case):
    credit = grant(case, agent, "80.00")
    with pytest.raises(ApplicationError):
        credit_reject(credit_id=credit.pk, actor=supervisor, note="")
    rejected = credit_reject(credit_id=credit.pk, actor=supervisor, note="Not justified")
    assert rejected.status == GoodwillCredit.Status.REJECTED
    assert not Notification.objects.filter(kind=Notification.Kind.CREDIT).exists()


def test_supervisor_cannot_approve_their_own_credit_service_refuses_and_audits(supervisor, case):
    credit = grant(case, supervisor, "900.00")
    assert credit.status == GoodwillCredit.Status.PENDING
    with pytest.raises(NotAllowed):
        credit_approve(credit_id=credit.pk, actor=supervisor)
    credit.refresh_from_db()
    assert credit.status == GoodwillCredit.Status.PENDING
    assert AuditLog.objects.filter(action="credit.approve.refused", actor_id=supervisor.pk).exists()


def test_database_refuses_self_approval_even_bypassing_the_service(supervisor, case):
    credit = grant(case, supervisor, "900.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        GoodwillCredit.objects.filter(pk=credit.pk).update(
            status="approved", decided_by=supervisor, decided_at=timezone.now()
        )


def test_associates_cannot_approve(agent, department, case):
    other = AgentFactory(departments=[department]).user
    credit = grant(case, other, "80.00")
    with pytest.raises(NotAllowed):
        credit_approve(credit_id=credit.pk, actor=agent)


def test_reversal_is_a_new_entry_and_the_original_is_untouched(agent, supervisor, case):
    credit = grant(case, agent, "20.00")
    reversal = credit_reverse(credit_id=credit.pk, actor=supervisor, note="Duplicate credit", ip_address="10.0.0.1")
    credit.refresh_from_db()
    assert credit.status == GoodwillCredit.Status.APPROVED and credit.kind == "credit"
    assert reversal.kind == "reversal" and reversal.reverses_id == credit.pk and reversal.amount == credit.amount
    assert AuditLog.objects.filter(action="credit.reversed", ip_address="10.0.0.1").exists()
    assert Notification.objects.filter(title__contains="reversed").exists()
    with pytest.raises(Conflict):
        credit_reverse(credit_id=credit.pk, actor=supervisor, note="again")


def test_another_associate_cannot_reverse_someone_elses_credit(agent, department, case):
    other = AgentFactory(departments=[department]).user
    credit = grant(case, other, "20.00")
    with pytest.raises(NotAllowed):
        credit_reverse(credit_id=credit.pk, actor=agent, note="nope")
    assert AuditLog.objects.filter(action="credit.reverse.refused").exists()


def test_supervisors_change_limits_and_roles_and_both_are_audited(agent, supervisor):
    credit_limit_set(role="associate", per_credit="60", per_day="240", actor=supervisor, ip_address="10.0.0.2")
    entry = AuditLog.objects.get(action="credit_limit.changed")
    assert entry.data["old"] == {"per_credit": "50.00", "per_day": "200.00"}
    assert entry.data["new"] == {"per_credit": "60.00", "per_day": "240.00"}
    profile = agent_role_set(agent_id=agent.agent.pk, role="social_care", actor=supervisor)
    assert profile.role == "social_care" and list(agent.groups.values_list("name", flat=True)) == ["social_care"]
    assert AuditLog.objects.get(action="agent_role.changed").data == {
        "user": "alice",
        "old": "associate",
        "new": "social_care",
    }
    with pytest.raises(NotAllowed):
        credit_limit_set(role="associate", per_credit="1000", per_day="5000", actor=agent)
    assert AuditLog.objects.filter(action="credit_limit.change.refused", actor_id=agent.pk).exists()
    with pytest.raises(ApplicationError):
        credit_limit_set(role="associate", per_credit="100", per_day="50", actor=supervisor)


def test_postgresql_refuses_editing_or_deleting_a_decided_credit(agent, case):
    credit = grant(case, agent, "5.00")
    for sql in (
        "UPDATE cases_goodwillcredit SET amount = 500 WHERE id = %s",
        "UPDATE cases_goodwillcredit SET status = 'rejected' WHERE id = %s",
        "DELETE FROM cases_goodwillcredit WHERE id = %s",
    ):
        with pytest.raises(Exception, match="never"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, [credit.pk])
    credit.refresh_from_db()
    assert credit.amount == Decimal("5.00") and credit.status == "approved"


def test_postgresql_refuses_changing_the_amount_of_a_pending_credit(agent, case):
    credit = grant(case, agent, "80.00")
    with pytest.raises(Exception, match="never"), transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE cases_goodwillcredit SET amount = 1 WHERE id = %s", [credit.pk])


@pytest.mark.django_db(transaction=True)
def test_two_supervisors_approving_at_once_produce_exactly_one_decision(default_limits, department, customer):
    issuer = AgentFactory(user__username="ivan", departments=[department]).user
    sups = [AgentFactory(user__username=f"sup{i}", role=Role.SUPERVISOR).user for i in range(2)]
    case = CaseFactory(department=department, customer=customer)
    credit = grant(case, issuer, "120.00")
    barrier = threading.Barrier(2)
    outcomes = []

    def decide(sup, approve):
        try:
            barrier.wait(timeout=10)
            if approve:
                credit_approve(credit_id=credit.pk, actor=sup, note="ok")
            else:
                credit_reject(credit_id=credit.pk, actor=sup, note="no")
            outcomes.append("decided")
        except Conflict:
            outcomes.append("conflict")
        finally:
            close_old_connections()

    threads = [threading.Thread(target=decide, args=(s, i == 0)) for i, s in enumerate(sups)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(outcomes) == ["conflict", "decided"]
    assert AuditLog.objects.filter(action__in=["credit.approved", "credit.rejected"]).count() == 1
    credit.refresh_from_db()
    assert credit.status in ("approved", "rejected")
    assert audit_verify()[1] is None


@pytest.mark.django_db(transaction=True)
def test_one_associate_issuing_two_credits_at_once_cannot_exceed_the_daily_limit(default_limits, department, customer):
    issuer = AgentFactory(user__username="ivy", departments=[department]).user
    case = CaseFactory(department=department, customer=customer)
    for _ in range(3):
        grant(case, issuer, "50.00")  # 150 of 200 used
    barrier = threading.Barrier(2)

    def issue():
        try:
            barrier.wait(timeout=10)
            grant(case, issuer, "50.00")
        finally:
            close_old_connections()

    threads = [threading.Thread(target=issue) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    statuses = sorted(GoodwillCredit.objects.order_by("-id").values_list("status", flat=True)[:2])
    assert statuses == ["approved", "pending"]


def test_old_utc_credits_do_not_count_today(agent, case):
    yesterday = timezone.now() - timedelta(days=1)
    for _ in range(4):
        grant(case, agent, "50.00", now=yesterday)
    assert grant(case, agent, "50.00").status == GoodwillCredit.Status.APPROVED
