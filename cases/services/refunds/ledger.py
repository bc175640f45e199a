"""The refund ledger: requested → checking → approved / denied → issued / failed.

- ``refund_request`` records the intent under a unique idempotency key (a retry, double click or redelivered
  task returns the same row) and enqueues ``cases.tasks.refund_process`` after commit.
- ``refund_process`` runs the check, then issues: claim (lock, count the attempt, commit) → call the payments
  adapter with no lock held → record (lock, confirm still APPROVED, write). The adapter deduplicates on the
  idempotency key, so a worker killed between call and record re-issues nothing.
- Bounded: a transient adapter error on attempt ``MAX_ISSUE_ATTEMPTS``, a decline, or a worker lost ``MAX_CLAIMS``
  times ends the refund. Before it is recorded FAILED the provider is asked whether a payout exists for the key
  (``find``): an earlier attempt may have paid and died before recording. It is then ISSUED with that payout, else
  FAILED with the reason; never by calling ``refund`` again. FAILED is the dead state a supervisor sees
  (/agent/refunds/).
- One order item / one subscription charge has at most one live refund (a partial unique index).
Every step writes the case timeline (when there is a case) and the audit log in the same transaction.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from cases.errors import ApplicationError, Conflict, InvalidTransition
from cases.models import Case, CaseEvent, Notification, Refund
from cases.payments import PaymentError, TransientPaymentError, payments_adapter
from cases.services.audit import audit_batch, audit_record
from cases.services.cases import case_event_record
from cases.services.notifications import notification_send
from customers.models import Customer, OrderItem, SubscriptionCharge

MAX_ISSUE_ATTEMPTS = 5  # adapter calls that may end in a transient error before the refund is FAILED
MAX_CLAIMS = 2 * MAX_ISSUE_ATTEMPTS  # claims (incl. ones whose worker died mid-call) before we stop calling


class RefundBusy(TransientPaymentError):
    """Another run of this refund holds its call (``Refund.call_started_at``, not yet expired): it is calling the
    provider or settling. This run does nothing; the task retries (a transient error) after the holder is done."""


def _call_lease() -> timedelta:
    return timedelta(seconds=settings.RH.get("REFUND_CALL_LEASE_SECONDS", 330))


@dataclass(frozen=True)
class CheckResult:
    approve: bool
    reason: str


def _target_value(refund: Refund) -> Decimal:
    if refund.order_item_id:
        return refund.order_item.line_total
    return refund.subscription_charge.amount


def refund_transition(
    refund: Refund, new_status: str, *, actor=None, data: dict | None = None, save: bool = True, **fields
) -> None:
    """The one place a refund changes state (``Refund.TRANSITIONS``). Caller holds the row lock in a transaction.

    ``save=False``: the caller writes the row itself before its transaction ends (several steps in one UPDATE);
    the audit entry and the case event are written either way."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("refund_transition must run inside a transaction with the refund row locked")
    old = refund.status
    if new_status not in Refund.TRANSITIONS[old]:
        raise InvalidTransition(f"A refund that is {old} cannot become {new_status}.")
    refund.status = new_status
    for key, value in fields.items():
        setattr(refund, key, value)
    if save:
        refund.save(update_fields=["status", *fields, "updated_at"])
    payload = {"refund_id": refund.pk, "amount": str(refund.amount), "currency": refund.currency, **(data or {})}
    audit_record(action=f"refund.{new_status}", obj=refund, actor=actor, data={"from": old, **payload})
    if refund.case_id:
        case_event_record(
            case=refund.case,
            type=CaseEvent.Type.REFUND,
            actor=actor,
            old=old,
            new=new_status,
            data=payload,
            public=new_status in (Refund.Status.DENIED, Refund.Status.ISSUED),
        )


def refund_request(
    *,
    idempotency_key: str,
    customer: Customer,
    amount: Decimal,
    reason: str,
    source: str,
    order_item: OrderItem | None = None,
    subscription_charge: SubscriptionCharge | None = None,
    case: Case | None = None,
    actor=None,
) -> Refund:
    """Record a refund request once per idempotency key and enqueue its processing."""
    from cases.tasks import refund_process

    if not idempotency_key or len(idempotency_key) > 120:
        raise ApplicationError(
            "An idempotency key of 1–120 characters is required.",
            fields={"idempotency_key": ["Required, at most 120 characters."]},
        )
    if (order_item is None) == (subscription_charge is None):
        raise ApplicationError("A refund is for exactly one order item or one subscription charge.")
    if amount is None or amount <= 0:
        raise ApplicationError("The amount must be positive.", fields={"amount": ["Must be greater than 0."]})
    existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _same_request_or_conflict(existing, amount, order_item, subscription_charge)
    try:
        with transaction.atomic():
            refund = Refund.objects.create(
                idempotency_key=idempotency_key,
                customer=customer,
                amount=amount,
                reason=reason[:300],
                source=source,
                order_item=order_item,
                subscription_charge=subscription_charge,
                case=case,
                requested_by=actor if getattr(actor, "pk", None) else None,
                currency=(order_item or subscription_charge).currency,
            )
            audit_record(
                action="refund.requested",
                obj=refund,
                actor=actor,
                data={"amount": str(amount), "source": source, "key": idempotency_key},
            )
            if case is not None:
                case_event_record(
                    case=case,
                    type=CaseEvent.Type.REFUND,
                    actor=actor,
                    new=Refund.Status.REQUESTED,
                    data={"refund_id": refund.pk, "amount": str(amount)},
                    public=True,
                )
            refund_process.delay_on_commit(refund.pk)
            return refund
    except IntegrityError:
        existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return _same_request_or_conflict(existing, amount, order_item, subscription_charge)
        raise Conflict("This item or charge already has a refund in progress or issued.", code="already_refunded")


def _same_request_or_conflict(existing: Refund, amount, order_item, subscription_charge) -> Refund:
    same = (
        existing.amount == amount
        and existing.order_item_id == getattr(order_item, "pk", None)
        and existing.subscription_charge_id == getattr(subscription_charge, "pk", None)
    )
    if not same:
        raise Conflict("This idempotency key was already used for a different refund.", code="idempotency_mismatch")
    return existing


def refund_check(refund: Refund) -> CheckResult:
    """Policy check: the amount is within what was paid for the target."""
    value = _target_value(refund)
    if refund.amount > value:
        return CheckResult(False, f"The refund ({refund.amount}) is more than was paid ({value}).")
    return CheckResult(True, "Within the amount paid.")


def refund_process(*, refund_id: int) -> Refund:
    """Check then issue. Safe to run any number of times, concurrently or after a crash.

    The claim is one transaction of three statements: lock the row, one UPDATE (requested → checking →
    approved/denied and the attempt count), one INSERT of both audit entries."""
    with transaction.atomic(), audit_batch():
        refund = (
            Refund.objects.select_for_update(of=("self",))
            .select_related("order_item", "subscription_charge", "customer", "case")
            .get(pk=refund_id)
        )
        fields = set()
        now = timezone.now()
        held = refund.call_started_at
        if refund.status == Refund.Status.APPROVED and held is not None and now < held + _call_lease():
            # A duplicate delivery (a redelivered or re-enqueued task) while another run is in its call: calling
            # again is safe (same idempotency key), but settling as FAILED is not: that call may still pay.
            raise RefundBusy(f"another run has been calling the provider since {held.isoformat()}")
        if refund.status == Refund.Status.REQUESTED:
            refund_transition(refund, Refund.Status.CHECKING, save=False)
            result = refund_check(refund)
            if result.approve:
                refund_transition(refund, Refund.Status.APPROVED, save=False, data={"check": result.reason})
            else:
                refund_transition(
                    refund,
                    Refund.Status.DENIED,
                    save=False,
                    decision_reason=result.reason,
                    data={"check": result.reason},
                )
            fields |= {"status", "decision_reason"}
        exhausted = refund.status == Refund.Status.APPROVED and refund.attempts >= MAX_CLAIMS
        if refund.status == Refund.Status.APPROVED:
            # Claim the call (or the settling) and commit before calling out; count the attempt.
            refund.call_started_at = now
            fields.add("call_started_at")
            if not exhausted:
                refund.attempts += 1
                fields.add("attempts")
        if fields:
            refund.save(update_fields=[*fields, "updated_at"])
        if refund.status == Refund.Status.DENIED and "status" in fields:
            _notify(refund)
        if refund.status != Refund.Status.APPROVED:
            return refund
        attempt = refund.attempts
    if exhausted:
        return _settle(refund, failure=f"worker lost {attempt} times during the payment call; no payout found")
    return _issue(refund, attempt=attempt)


def _settle(claimed: Refund, *, failure: str) -> Refund:
    """The refund is about to end without a payout of ours on record: the last transient error, a decline, or a
    worker lost mid-call too many times. An earlier attempt may still have paid (a worker killed after the
    provider paid and before we recorded it; a timeout the provider completed), so ask the provider, with no lock
    held and without calling ``refund`` again, and record the truth: ISSUED with that payout, or FAILED with
    ``failure``. A provider that cannot answer raises ``TransientPaymentError``; the refund stays APPROVED and the
    task retries.

    No other run calls the provider meanwhile: this run holds the refund's call (``call_started_at``), so the
    answer cannot be overtaken by a payout made after it (unless a call outlived its lease, longer than the task
    time limit)."""
    try:
        payout = payments_adapter().find(idempotency_key=_payout_key(claimed))
    except TransientPaymentError:
        _release(claimed)
        raise
    with transaction.atomic():
        refund = _locked(claimed.pk)
        if refund.status != Refund.Status.APPROVED:
            return refund
        if payout is not None:
            _record_issued(refund, payout)
        else:
            refund_transition(refund, Refund.Status.FAILED, last_error=failure[:300], call_started_at=None)
            _notify(refund)
    return refund


def _release(claimed: Refund) -> None:
    """Give the call back (a transient error: the task retries) — only if it is still this run's claim."""
    Refund.objects.filter(pk=claimed.pk, call_started_at=claimed.call_started_at).update(
        call_started_at=None, updated_at=timezone.now()
    )


def _payout_key(refund: Refund) -> str:
    return f"refund:{refund.idempotency_key}"


def _record_issued(refund: Refund, payout) -> None:
    refund_transition(
        refund,
        Refund.Status.ISSUED,
        provider_ref=payout.reference,
        issued_at=timezone.now(),
        last_error="",
        call_started_at=None,
        data={"provider_ref": payout.reference},
    )
    _notify(refund)


def _locked(refund_id: int) -> Refund:
    """The row, locked, with what the record step and the notification read (one query)."""
    return Refund.objects.select_for_update(of=("self",)).select_related("customer", "case").get(pk=refund_id)


def _issue(claimed: Refund, *, attempt: int) -> Refund:
    """Call the provider with no lock held (``claimed`` is the row as committed by the claim), then record."""
    refund, refund_id = claimed, claimed.pk
    try:
        payout = payments_adapter().refund(
            idempotency_key=_payout_key(refund), amount=refund.amount, currency=refund.currency
        )
    except TransientPaymentError as exc:
        if attempt >= MAX_ISSUE_ATTEMPTS:
            return _settle(claimed, failure=f"gave up after {attempt} attempts: {exc}")
        with transaction.atomic():
            refund = _locked(refund_id)
            if refund.status != Refund.Status.APPROVED:
                return refund
            refund.last_error = str(exc)[:300]
            if refund.call_started_at == claimed.call_started_at:  # the retry may claim the call at once
                refund.call_started_at = None
            refund.save(update_fields=["last_error", "call_started_at", "updated_at"])
        raise
    except PaymentError as exc:
        return _settle(claimed, failure=str(exc))
    with transaction.atomic():
        refund = _locked(refund_id)
        if refund.status != Refund.Status.APPROVED:
            return refund
        _record_issued(refund, payout)
    return refund


def _notify(refund: Refund) -> None:
    amount = f"${refund.amount}" if refund.currency == "USD" else f"{refund.amount} {refund.currency}"
    titles = {
        Refund.Status.ISSUED: (
            f"Your refund of {amount} has been issued",
            f"We refunded {amount} to your original payment method. Reason: {refund.reason}.",
        ),
        Refund.Status.DENIED: (
            f"We could not refund {amount}",
            f"{refund.decision_reason} You can reply to your case or ask for an associate.",
        ),
        Refund.Status.FAILED: (
            f"Your refund of {amount} is delayed",
            "The payment could not be completed. An associate will follow up.",
        ),
    }
    title, body = titles[refund.status]
    notification_send(customer=refund.customer, case=refund.case, kind=Notification.Kind.REFUND, title=title, body=body)
