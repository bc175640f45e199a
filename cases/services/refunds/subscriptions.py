"""Subscription reconciliation: a charge made after the subscription's cancellation is refunded at once, no human.

A beat sweep (``cases.tasks.subscription_charges_reconcile``) walks such charges in batches, each batch in its own
transaction with ``FOR UPDATE SKIP LOCKED`` so two sweeps split the work instead of queueing behind each other.
The refund's idempotency key is ``subscription-charge:<charge id>``, the same key the front door uses for an
instant self-service refund of the same charge, so the two paths dedupe. The Message Center confirmation is the
ledger's "refund issued" notification. Running the sweep twice refunds nothing twice.
"""

import time

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, F, OuterRef, Q, Value
from django.db.models.functions import Cast, Concat

from cases.models import Refund
from cases.models.money import LIVE_REFUND_STATES
from customers.models import Subscription, SubscriptionCharge

from .ledger import refund_request

KEY_PREFIX = "subscription-charge:"


def subscription_charge_refund_key(charge_id: int) -> str:
    return f"{KEY_PREFIX}{charge_id}"


def charges_after_cancellation():
    """Charges made after their subscription was cancelled with no live refund and no earlier attempt under the
    reconciliation key (a FAILED one is for a supervisor, not for the next sweep)."""
    handled = Refund.objects.filter(subscription_charge=OuterRef("pk")).filter(
        Q(status__in=LIVE_REFUND_STATES)
        | Q(idempotency_key=Concat(Value(KEY_PREFIX), Cast(OuterRef("pk"), CharField())))
    )
    return (
        SubscriptionCharge.objects.filter(
            subscription__status=Subscription.Status.CANCELLED,
            subscription__cancelled_at__isnull=False,
            charged_at__gt=F("subscription__cancelled_at"),
        )
        .filter(~Exists(handled))
        .order_by("charged_at", "id")
    )


def subscription_charges_reconcile(
    *, batch_size: int | None = None, max_batches: int = 100_000, until: float | None = None
) -> int:
    """Request a refund for every charge after cancellation. Returns how many refunds were requested.

    Each batch (``REFUND_RECONCILE_BATCH`` charges, default 100) is its own short transaction: its charges'
    row locks are held only while their refunds are written, and their processing is enqueued when it commits.
    ``until`` (a ``time.monotonic()`` deadline) stops between batches; the next sweep carries on."""
    batch_size = batch_size or settings.RH.get("REFUND_RECONCILE_BATCH", 100)
    total = 0
    after = None  # keyset: (charged_at, id) of the last charge handled by this run, so batches never rescan
    for _ in range(max_batches):
        if until is not None and time.monotonic() >= until:
            break
        with transaction.atomic():
            pending = charges_after_cancellation()
            if after is not None:
                pending = pending.filter(Q(charged_at__gt=after[0]) | Q(charged_at=after[0], id__gt=after[1]))
            charges = list(
                pending.select_related("subscription__customer").select_for_update(skip_locked=True, of=("self",))[
                    :batch_size
                ]
            )
            for charge in _still_unhandled(charges):
                subscription = charge.subscription
                refund_request(
                    idempotency_key=subscription_charge_refund_key(charge.pk),
                    customer=subscription.customer,
                    amount=charge.amount,
                    reason=f"charged on {charge.charged_at:%Y-%m-%d} after your {subscription.plan} membership "
                    f"was cancelled on {subscription.cancelled_at:%Y-%m-%d}",
                    source=Refund.Source.SUBSCRIPTION_SWEEP,
                    subscription_charge=charge,
                )
                total += 1
        if len(charges) < batch_size:
            break
        after = (charges[-1].charged_at, charges[-1].pk)
    return total


def _still_unhandled(locked: list[SubscriptionCharge]) -> list[SubscriptionCharge]:
    """The locked charges that still need a refund, judged again now that their locks are held.

    The locking query judged "no refund yet" on its own snapshot, taken before it locked anything: a charge that a
    concurrent sweep refunded and committed in between is unlocked by then, so it is locked and returned all the
    same. Its refund would be deduplicated by the key, but this run would count it as requested. A new statement
    sees every commit made before the locks were granted."""
    if not locked:
        return []
    open_ids = set(charges_after_cancellation().filter(pk__in=[c.pk for c in locked]).values_list("pk", flat=True))
    return [c for c in locked if c.pk in open_ids]


__all__ = ["charges_after_cancellation", "subscription_charge_refund_key", "subscription_charges_reconcile"]
