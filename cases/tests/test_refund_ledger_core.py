"""Refund ledger core: idempotency, one live refund per target, claim → call → record."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from cases.errors import Conflict
from cases.models import Notification, Refund, SandboxPayout
from cases.services.refunds import RefundBusy, refund_process, refund_request
from customers.tests.factories import OrderItemFactory, SubscriptionChargeFactory


def _request(item, key="k-1", amount=Decimal("25.00")):
    return refund_request(
        idempotency_key=key,
        customer=item.order.customer,
        amount=amount,
        reason="damaged",
        source="agent",
        order_item=item,
    )


@pytest.mark.django_db
def test_same_key_returns_the_same_refund_and_enqueues_once(django_capture_on_commit_callbacks):
    item = OrderItemFactory()
    with django_capture_on_commit_callbacks() as callbacks:
        first = _request(item)
        second = _request(item)
    assert first.pk == second.pk
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_same_key_with_other_parameters_is_refused():
    item = OrderItemFactory()
    _request(item)
    with pytest.raises(Conflict):
        _request(item, amount=Decimal("5.00"))


@pytest.mark.django_db
def test_a_second_key_for_the_same_item_is_refused():
    item = OrderItemFactory()
    _request(item)
    with pytest.raises(Conflict):
        _request(item, key="k-2")


@pytest.mark.django_db
def test_process_issues_once_and_notifies_the_customer():
    charge = SubscriptionChargeFactory()
    refund = refund_request(
        idempotency_key="sub:1",
        customer=charge.subscription.customer,
        amount=charge.amount,
        reason="billing",
        source="subscription_sweep",
        subscription_charge=charge,
    )
    refund_process(refund_id=refund.pk)
    refund_process(refund_id=refund.pk)  # a redelivered task is a no-op
    refund.refresh_from_db()
    assert refund.status == Refund.Status.ISSUED and refund.provider_ref
    assert SandboxPayout.objects.count() == 1
    assert Notification.objects.filter(customer=refund.customer, kind="refund").count() == 1


@pytest.mark.django_db
def test_over_refund_is_denied_with_a_reason():
    item = OrderItemFactory(unit_price=Decimal("10.00"))
    refund = _request(item, amount=Decimal("11.00"))
    refund_process(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.DENIED and "more than was paid" in refund.decision_reason


@pytest.mark.django_db
def test_permanent_payment_failure_is_recorded(settings):
    settings.RH_PAYMENTS = {"FAIL": "permanent"}
    item = OrderItemFactory()
    refund = _request(item)
    refund_process(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.FAILED and "decline" in refund.last_error


@pytest.mark.django_db(transaction=True)
def test_ten_threads_processing_the_same_refund_issue_one_payout():
    item = OrderItemFactory()
    refund = _request(item)
    errors = []

    def work():
        try:
            refund_process(refund_id=refund.pk)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # a run that came while another was in its call did nothing and would be retried by its task
    assert all(isinstance(e, RefundBusy) for e in errors), errors
    refund.refresh_from_db()
    assert refund.status == Refund.Status.ISSUED and refund.call_started_at is None
    assert SandboxPayout.objects.filter(idempotency_key=f"refund:{refund.idempotency_key}").count() == 1
    assert SandboxPayout.objects.get().calls == 1  # one provider call: no run called while another was calling
