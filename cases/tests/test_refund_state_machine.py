"""The refund ledger's state machine and its reliability bounds."""

import contextlib
import itertools
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone

from cases.errors import InvalidTransition
from cases.models import CaseEvent, Notification, Refund, SandboxPayout
from cases.payments import TransientPaymentError
from cases.services.refunds import (
    MAX_CLAIMS,
    MAX_ISSUE_ATTEMPTS,
    RefundBusy,
    refund_process,
    refund_request,
    refund_transition,
)
from cases.tests.factories import CaseFactory
from customers.tests.factories import OrderItemFactory

S = Refund.Status
ALLOWED = {
    (S.REQUESTED, S.CHECKING),
    (S.CHECKING, S.APPROVED),
    (S.CHECKING, S.DENIED),
    (S.APPROVED, S.ISSUED),
    (S.APPROVED, S.FAILED),
}
ALL_PAIRS = list(itertools.product(S.values, S.values))


def test_the_transition_map_is_exactly_the_documented_ledger():
    declared = {(a, b) for a, targets in Refund.TRANSITIONS.items() for b in targets}
    assert declared == ALLOWED


def _refund(status, case=None, key="sm"):
    item = OrderItemFactory()
    return Refund.objects.create(
        idempotency_key=key, customer=item.order.customer, order_item=item, amount=Decimal("5"),
        source="agent", reason="r", status=status, case=case,
    )  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(("old", "new"), ALL_PAIRS, ids=[f"{a}->{b}" for a, b in ALL_PAIRS])
def test_every_transition_is_allowed_or_refused_as_declared(old, new):
    case = CaseFactory()
    refund = _refund(old, case=case)
    with transaction.atomic():
        if (old, new) in ALLOWED:
            refund_transition(refund, new)
            refund.refresh_from_db()
            assert refund.status == new
            event = CaseEvent.objects.get(case=case, type="refund")
            assert (event.old_value, event.new_value) == (old, new)
        else:
            with pytest.raises(InvalidTransition):
                refund_transition(refund, new)
            refund.refresh_from_db()
            assert refund.status == old
            assert not CaseEvent.objects.filter(case=case).exists()


@pytest.mark.django_db(transaction=True)
def test_transition_outside_a_transaction_is_a_programming_error():
    refund = _refund(S.REQUESTED)
    with pytest.raises(RuntimeError):
        refund_transition(refund, S.CHECKING)


def _request(key="k"):
    item = OrderItemFactory()
    return refund_request(
        idempotency_key=key, customer=item.order.customer, amount=Decimal("10.00"), reason="r",
        source="agent", order_item=item, case=CaseFactory(customer=item.order.customer),
    )  # fmt: skip


@pytest.mark.django_db
def test_full_path_writes_every_step_on_the_case_timeline():
    refund = _request()
    refund_process(refund_id=refund.pk)
    steps = list(refund.case.events.filter(type="refund").order_by("id").values_list("new_value", flat=True))
    assert steps == ["requested", "checking", "approved", "issued"]


@pytest.mark.django_db
def test_longest_allowed_key_fits_the_payout_record():
    refund = _request(key="x" * 120)
    refund_process(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.status == S.ISSUED
    assert SandboxPayout.objects.get().idempotency_key == "refund:" + "x" * 120


@pytest.mark.django_db
def test_transient_errors_are_retried_then_fail_with_the_reason_on_the_last_attempt(settings):
    settings.RH_PAYMENTS = {"FAIL": "transient"}
    refund = _request()
    for _ in range(MAX_ISSUE_ATTEMPTS - 1):
        with pytest.raises(TransientPaymentError):
            refund_process(refund_id=refund.pk)
        refund.refresh_from_db()
        assert refund.status == S.APPROVED and "timeout" in refund.last_error
    refund_process(refund_id=refund.pk)  # last attempt: no raise, the dead state
    refund.refresh_from_db()
    assert refund.status == S.FAILED and refund.attempts == MAX_ISSUE_ATTEMPTS
    assert f"gave up after {MAX_ISSUE_ATTEMPTS} attempts" in refund.last_error
    assert Notification.objects.filter(title__contains="delayed").count() == 1
    assert not SandboxPayout.objects.exists()


@pytest.mark.django_db
def test_transient_error_then_success_issues_once(settings):
    settings.RH_PAYMENTS = {"FAIL": "transient"}
    refund = _request()
    with pytest.raises(TransientPaymentError):
        refund_process(refund_id=refund.pk)
    settings.RH_PAYMENTS = {}
    refund_process(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.status == S.ISSUED and refund.attempts == 2 and refund.last_error == ""


@pytest.mark.django_db
@pytest.mark.parametrize("payout_exists", [True, False])
def test_worker_lost_too_often_asks_the_provider_instead_of_calling_again(payout_exists):
    refund = _request()
    Refund.objects.filter(pk=refund.pk).update(status=S.APPROVED, attempts=MAX_CLAIMS)
    if payout_exists:
        SandboxPayout.objects.create(
            idempotency_key=f"refund:{refund.idempotency_key}", amount=refund.amount, currency="USD", reference="po_x"
        )
    with mock.patch("cases.payments.SandboxPayments.refund") as call:
        refund_process(refund_id=refund.pk)
    call.assert_not_called()
    refund.refresh_from_db()
    if payout_exists:
        assert refund.status == S.ISSUED and refund.provider_ref == "po_x"
    else:
        assert refund.status == S.FAILED and "worker lost" in refund.last_error
    assert SandboxPayout.objects.count() == int(payout_exists)


@pytest.mark.django_db
@pytest.mark.parametrize("last_error", ["transient", "permanent"])
def test_an_earlier_lost_attempt_that_paid_is_recorded_issued_not_failed(settings, last_error):
    """A worker paid, then died before recording (the chaos test caught this): the payout exists under the
    refund's key. When a later attempt ends the refund (last transient error, or a decline), the provider is asked
    first, and the refund is ISSUED with that payout instead of FAILED while the money went out."""
    refund = _request()
    Refund.objects.filter(pk=refund.pk).update(status=S.APPROVED, attempts=MAX_ISSUE_ATTEMPTS - 1)
    SandboxPayout.objects.create(
        idempotency_key=f"refund:{refund.idempotency_key}", amount=refund.amount, currency="USD", reference="po_lost"
    )
    settings.RH_PAYMENTS = {"FAIL": last_error}
    refund_process(refund_id=refund.pk)  # attempt MAX_ISSUE_ATTEMPTS: the last one
    refund.refresh_from_db()
    assert refund.status == S.ISSUED and refund.provider_ref == "po_lost" and refund.last_error == ""
    assert SandboxPayout.objects.count() == 1
    assert Notification.objects.filter(title__contains="issued").count() == 1
    assert not Notification.objects.filter(title__contains="delayed").exists()


@pytest.mark.django_db
def test_provider_unreachable_when_settling_leaves_the_refund_approved_for_a_retry(settings):
    refund = _request()
    Refund.objects.filter(pk=refund.pk).update(status=S.APPROVED, attempts=MAX_ISSUE_ATTEMPTS - 1)
    settings.RH_PAYMENTS = {"FAIL": "transient"}
    with mock.patch("cases.payments.SandboxPayments.find", side_effect=TransientPaymentError("down")):
        with pytest.raises(TransientPaymentError):
            refund_process(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.status == S.APPROVED  # neither FAILED nor ISSUED on a guess; the task retries
    settings.RH_PAYMENTS = {}
    refund_process(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.status == S.ISSUED and SandboxPayout.objects.count() == 1


@pytest.mark.django_db
def test_a_run_while_another_is_in_its_call_neither_calls_nor_settles(settings):
    """The chaos test caught this: a duplicate delivery found the claims used up, asked the provider, found no
    payout yet and recorded FAILED — while the other run's call, still in flight, then paid."""
    # given a refund whose claims are used up (the next run would settle it) and another run in its call just now
    refund = _request()
    Refund.objects.filter(pk=refund.pk).update(status=S.APPROVED, attempts=MAX_CLAIMS, call_started_at=timezone.now())
    # when a duplicate run comes in
    with (
        mock.patch("cases.payments.SandboxPayments.find") as find,
        mock.patch("cases.payments.SandboxPayments.refund") as call,
        pytest.raises(RefundBusy),
    ):
        refund_process(refund_id=refund.pk)
    # then it did nothing: no provider call, no question, no FAILED; the task retries later
    find.assert_not_called()
    call.assert_not_called()
    refund.refresh_from_db()
    assert refund.status == S.APPROVED and refund.attempts == MAX_CLAIMS and refund.last_error == ""

    # and when the other run's call paid but its worker died before recording, once the lease has run out
    SandboxPayout.objects.create(
        idempotency_key=f"refund:{refund.idempotency_key}", amount=refund.amount, currency="USD", reference="po_late"
    )
    lease = timedelta(seconds=settings.RH["REFUND_CALL_LEASE_SECONDS"])
    Refund.objects.filter(pk=refund.pk).update(call_started_at=timezone.now() - lease - timedelta(seconds=1))
    refund_process(refund_id=refund.pk)
    # then the next run settles it with that payout: ISSUED, not FAILED
    refund.refresh_from_db()
    assert refund.status == S.ISSUED and refund.provider_ref == "po_late" and refund.call_started_at is None


@pytest.mark.django_db
@pytest.mark.parametrize("outcome", ["issued", "transient", "declined", "provider_unreachable"])
def test_every_outcome_of_a_call_gives_the_call_back(settings, outcome):
    # given an approved refund and a provider that pays, times out, declines, or cannot even be asked
    refund = _request()
    settings.RH_PAYMENTS = {"FAIL": {"issued": "", "transient": "transient"}.get(outcome, "permanent")}
    unreachable = mock.patch(
        "cases.payments.SandboxPayments.find",
        side_effect=TransientPaymentError("down") if outcome == "provider_unreachable" else None,
        return_value=None,
    )
    # when a run calls it
    with unreachable, contextlib.suppress(TransientPaymentError):
        refund_process(refund_id=refund.pk)
    # then the refund is not left claimed: the task's retry (or nobody) may go on at once
    refund.refresh_from_db()
    assert refund.call_started_at is None
    assert refund.status == {"issued": S.ISSUED, "declined": S.FAILED}.get(outcome, S.APPROVED)


def test_task_retries_only_transient_errors_with_backoff_and_a_bound():
    from cases.tasks import refund_process as task

    assert task.acks_late is True
    assert task.autoretry_for == (TransientPaymentError,)
    assert issubclass(RefundBusy, TransientPaymentError)  # a run that found the call taken retries too
    assert task.retry_backoff and task.max_retries == MAX_ISSUE_ATTEMPTS


def test_reliability_settings(settings):
    from config.settings import base

    assert base.CELERY_TASK_ACKS_LATE and base.CELERY_TASK_REJECT_ON_WORKER_LOST
    assert base.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert base.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600) > base.CELERY_TASK_TIME_LIMIT
    assert "refunds-reconcile-subscriptions" in base.CELERY_BEAT_SCHEDULE
    assert "refunds-requeue-stuck" in base.CELERY_BEAT_SCHEDULE
