"""Subscription reconciliation: charges after cancellation are refunded at once, once, with a confirmation."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from cases.models import Notification, Refund
from cases.services.refunds import refund_process, refund_request
from cases.services.refunds.subscriptions import subscription_charges_reconcile
from customers.tests.factories import SubscriptionChargeFactory, SubscriptionFactory


def _cancelled(days_ago=10):
    now = timezone.now()
    return SubscriptionFactory(status="cancelled", cancelled_at=now - timedelta(days=days_ago))


@pytest.mark.django_db
def test_only_charges_after_the_cancellation_are_refunded(django_capture_on_commit_callbacks):
    sub = _cancelled()
    before = SubscriptionChargeFactory(subscription=sub, charged_at=sub.cancelled_at - timedelta(seconds=1))
    at = SubscriptionChargeFactory(subscription=sub, charged_at=sub.cancelled_at)
    after = SubscriptionChargeFactory(subscription=sub, charged_at=sub.cancelled_at + timedelta(seconds=1))
    active = SubscriptionChargeFactory()  # an active subscription's charge
    with django_capture_on_commit_callbacks() as callbacks:
        assert subscription_charges_reconcile() == 1
    refund = Refund.objects.get()
    assert refund.subscription_charge == after and refund.idempotency_key == f"subscription-charge:{after.pk}"
    assert refund.source == "subscription_sweep" and refund.amount == after.amount and refund.case is None
    assert len(callbacks) == 1
    assert not Refund.objects.filter(subscription_charge__in=[before, at, active]).exists()


@pytest.mark.django_db
def test_refund_is_confirmed_in_the_message_center_without_a_human():
    sub = _cancelled()
    SubscriptionChargeFactory(subscription=sub, charged_at=timezone.now(), amount=Decimal("14.99"))
    subscription_charges_reconcile()
    refund = Refund.objects.get()
    refund_process(refund_id=refund.pk)
    note = Notification.objects.get(customer=sub.customer)
    assert note.title == "Your refund of $14.99 has been issued"
    assert "after your Prime membership was cancelled" in note.body


@pytest.mark.django_db
def test_running_the_sweep_twice_refunds_nothing_twice():
    sub = _cancelled()
    for _ in range(3):
        SubscriptionChargeFactory(subscription=sub, charged_at=timezone.now())
    assert subscription_charges_reconcile(batch_size=2) == 3  # two batches
    assert subscription_charges_reconcile() == 0
    assert Refund.objects.count() == 3


@pytest.mark.django_db
def test_front_door_refund_with_the_same_key_dedupes_with_the_sweep():
    sub = _cancelled()
    charge = SubscriptionChargeFactory(subscription=sub, charged_at=timezone.now())
    front = refund_request(
        idempotency_key=f"subscription-charge:{charge.pk}", customer=sub.customer, amount=charge.amount,
        reason="instant refund", source="assistant", subscription_charge=charge,
    )  # fmt: skip
    assert subscription_charges_reconcile() == 0
    assert list(Refund.objects.all()) == [front]


@pytest.mark.django_db
def test_a_failed_sweep_refund_is_left_to_the_supervisor_not_retried_each_sweep(settings):
    settings.RH_PAYMENTS = {"FAIL": "permanent"}
    sub = _cancelled()
    SubscriptionChargeFactory(subscription=sub, charged_at=timezone.now())
    subscription_charges_reconcile()
    refund_process(refund_id=Refund.objects.get().pk)
    assert Refund.objects.get().status == "failed"
    assert subscription_charges_reconcile() == 0


@pytest.mark.django_db
def test_charges_refunded_by_another_sweep_while_this_one_locked_them_are_not_requested_again():
    """The locking query judges "no refund yet" on a snapshot taken before its locks; a charge another sweep
    refunded and committed in the meantime comes back locked. Simulated here by a locking query that does not see
    those refunds (a stale snapshot): the sweep re-checks under its locks, counts only what it requested, and asks
    nothing of the ledger for the others."""
    from unittest import mock

    from cases.services.refunds import subscriptions
    from customers.models import SubscriptionCharge

    sub = _cancelled()
    charges = [SubscriptionChargeFactory(subscription=sub, charged_at=timezone.now()) for _ in range(5)]
    for charge in charges[:3]:  # the other sweep's work, committed after this sweep's snapshot
        refund_request(
            idempotency_key=subscriptions.subscription_charge_refund_key(charge.pk), customer=sub.customer,
            amount=charge.amount, reason="other sweep", source="subscription_sweep", subscription_charge=charge,
        )  # fmt: skip
    real = subscriptions.charges_after_cancellation
    stale = SubscriptionCharge.objects.filter(subscription=sub).order_by("charged_at", "id")
    with (
        mock.patch.object(subscriptions, "charges_after_cancellation", side_effect=[stale, real()]),
        mock.patch.object(subscriptions, "refund_request", wraps=subscriptions.refund_request) as requested,
    ):
        assert subscription_charges_reconcile() == 2
    assert sorted(call.kwargs["subscription_charge"].pk for call in requested.call_args_list) == sorted(
        c.pk for c in charges[3:]
    )
    assert Refund.objects.count() == 5


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_split_the_work_and_refund_each_charge_once():
    sub = _cancelled()
    for _ in range(40):
        SubscriptionChargeFactory(subscription=sub, charged_at=timezone.now())
    counts, errors = [], []

    def sweep():
        try:
            counts.append(subscription_charges_reconcile(batch_size=5))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(counts) == 40 and Refund.objects.count() == 40
