"""The database itself refuses bad money, duplicate idempotency keys and out-of-map transitions."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from cases.errors import InvalidTransition
from cases.models import Case, CaseEvent, GoodwillCredit, Refund
from cases.services.cases import case_create, case_transition
from cases.tests.factories import CaseFactory
from customers.tests.factories import OrderItemFactory

pytestmark = pytest.mark.django_db


def _refund(item, **kw):
    defaults = dict(
        idempotency_key="k1",
        customer=item.order.customer,
        order_item=item,
        amount=Decimal("10.00"),
        source=Refund.Source.AGENT,
        reason="damaged",
    )
    defaults.update(kw)
    return Refund.objects.create(**defaults)


def test_negative_refund_amount_is_refused_by_the_database():
    item = OrderItemFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        _refund(item, amount=Decimal("-1.00"))


def test_zero_credit_is_refused_by_the_database(agent, customer):
    with pytest.raises(IntegrityError), transaction.atomic():
        GoodwillCredit.objects.create(
            customer=customer,
            amount=Decimal("0.00"),
            reason_code="other",
            note="x",
            issued_by=agent,
            issued_by_role="associate",
        )


def test_credit_cannot_be_decided_by_its_issuer(agent, customer):
    with pytest.raises(IntegrityError), transaction.atomic():
        GoodwillCredit.objects.create(
            customer=customer,
            amount=Decimal("5.00"),
            reason_code="other",
            note="x",
            issued_by=agent,
            issued_by_role="associate",
            status="approved",
            decided_by=agent,
        )


def test_one_refund_per_idempotency_key():
    item = OrderItemFactory()
    other = OrderItemFactory()
    _refund(item)
    with pytest.raises(IntegrityError), transaction.atomic():
        _refund(other, idempotency_key="k1")


def test_an_order_item_has_at_most_one_live_refund_but_may_retry_after_failure():
    item = OrderItemFactory()
    _refund(item, idempotency_key="a", status=Refund.Status.FAILED)
    _refund(item, idempotency_key="b")
    with pytest.raises(IntegrityError), transaction.atomic():
        _refund(item, idempotency_key="c")


def test_refund_must_target_exactly_one_thing():
    item = OrderItemFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        _refund(item, order_item=None)


def test_assigned_case_needs_an_assignee():
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseFactory(status=Case.Status.ASSIGNED, assignee=None)


def test_transition_outside_the_map_is_refused_and_nothing_changes(agent, department, customer):
    case = case_create(customer=customer, channel="chat", department=department, subject="Help")
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        with pytest.raises(InvalidTransition):
            case_transition(case=locked, new_status=Case.Status.CLOSED, actor=agent)
    case.refresh_from_db()
    assert case.status == Case.Status.NEW
    assert not case.events.filter(type=CaseEvent.Type.STATUS_CHANGED).exists()


def test_allowed_transition_is_recorded_with_old_and_new(agent, department, customer):
    case = case_create(customer=customer, channel="chat", department=department, subject="Help")
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        locked.assignee = agent
        case_transition(case=locked, new_status=Case.Status.ASSIGNED, actor=agent)
    event = case.events.get(type=CaseEvent.Type.STATUS_CHANGED)
    assert (event.old_value, event.new_value, event.actor) == ("new", "assigned", agent)


def test_case_reference_is_human_readable(department, customer):
    case = case_create(customer=customer, channel="chat", department=department, subject="Help")
    assert case.reference == f"CS-{case.created_at.year}-{case.pk:06d}"


def test_case_timeline_is_append_only_in_postgresql(department, customer):
    case = case_create(customer=customer, channel="chat", department=department, subject="Help")
    with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE cases_caseevent SET new_value = 'x' WHERE case_id = %s", [case.pk])
    with pytest.raises(PermissionError):
        case.events.first().delete()


def test_bad_phone_and_bad_geo_point_refused_by_database(customer):
    from customers.models import Address, Customer

    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(phone="555-1234")
    with pytest.raises(IntegrityError), transaction.atomic():
        Address.objects.create(customer=customer, line1="x", city="y", postal_code="1", latitude=91, longitude=0)
