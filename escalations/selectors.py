"""Reads of the front door. ``customer_context`` is the data the triage engine sees, in the same plain shape
``manage.py triage`` reads from JSONL (docs/TRIAGE.md)."""

from datetime import timedelta

from django.db.models import Prefetch
from django.utils import timezone

from cases.models import Refund
from cases.models.money import LIVE_REFUND_STATES
from customers.models import CarrierScan, Customer, Order, Shipment, Subscription, SubscriptionCharge

from .models import Conversation, ConversationMessage, TriageDecision

RECENT_ORDERS = 10
DENIALS_LOOKBACK = timedelta(days=90)


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def customer_context(*, customer: Customer, conversation: Conversation | None = None) -> dict:
    """Orders (items, values, shipments and scans), the subscription and its charges, refund denials, earlier cases."""
    orders = list(
        Order.objects.filter(customer=customer)
        .order_by("-placed_at")
        .prefetch_related(
            "items",
            Prefetch(
                "shipments",
                queryset=Shipment.objects.order_by("id").prefetch_related(
                    Prefetch("scans", queryset=CarrierScan.objects.order_by("occurred_at"))
                ),
            ),
        )[:RECENT_ORDERS]
    )
    subscription = (
        Subscription.objects.filter(customer=customer)
        .prefetch_related(Prefetch("charges", queryset=SubscriptionCharge.objects.order_by("charged_at")))
        .order_by("-started_at")
        .first()
    )
    refunded_charges = set()
    if subscription is not None:
        refunded_charges = set(
            Refund.objects.filter(
                subscription_charge__subscription=subscription, status__in=LIVE_REFUND_STATES
            ).values_list("subscription_charge_id", flat=True)
        )
    since = timezone.now() - DENIALS_LOOKBACK
    denials = [
        {"at": _iso(r.updated_at), "reason": r.decision_reason, "source": r.source}
        for r in Refund.objects.filter(customer=customer, status=Refund.Status.DENIED, updated_at__gte=since)
    ]
    if conversation is not None:
        for decision in TriageDecision.objects.filter(conversation=conversation).order_by("id"):
            if any(r.get("code") == "action" and r.get("type") == "refund_denied" for r in decision.reasons or []):
                denials.append({"at": _iso(decision.created_at), "reason": "assistant", "source": "assistant"})
    return {
        "orders": [
            {
                "id": o.pk,
                "number": o.number,
                "status": o.status,
                "placed_at": _iso(o.placed_at),
                "total": str(o.total),
                "items": [
                    {
                        "id": i.pk,
                        "title": i.title,
                        "value": str(i.line_total),
                        "department_hint": i.department_hint,
                    }
                    for i in o.items.all()
                ],
                "shipments": [
                    {
                        "direction": s.direction,
                        "status": s.status,
                        "carrier": s.carrier,
                        "tracking_number": s.tracking_number,
                        "promised_by": _iso(s.promised_by),
                        "delivered_at": _iso(s.delivered_at),
                        "scans": [
                            {
                                "kind": sc.kind,
                                "occurred_at": _iso(sc.occurred_at),
                                "location": sc.location,
                                "latitude": str(sc.latitude) if sc.latitude is not None else None,
                                "photo_ref": sc.photo_ref,
                            }
                            for sc in s.scans.all()
                        ],
                    }
                    for s in o.shipments.all()
                ],
            }
            for o in orders
        ],
        "subscription": None
        if subscription is None
        else {
            "plan": subscription.plan,
            "status": subscription.status,
            "cancelled_at": _iso(subscription.cancelled_at),
            "charges": [
                {
                    "id": c.pk,
                    "amount": str(c.amount),
                    "charged_at": _iso(c.charged_at),
                    "refunded": c.pk in refunded_charges,
                }
                for c in subscription.charges.all()
            ],
        },
        "refund_denials": denials,
        "earlier_cases": customer.cases.count(),
    }


def conversation_get_for_customer(*, customer: Customer, conversation_id: int) -> Conversation:
    from django.http import Http404

    try:
        return Conversation.objects.select_related("case").get(pk=conversation_id, customer=customer)
    except (Conversation.DoesNotExist, ValueError, TypeError):
        raise Http404("No such conversation.") from None


def conversation_transcript(*, conversation: Conversation) -> list[ConversationMessage]:
    return list(ConversationMessage.objects.filter(conversation=conversation).order_by("id"))


def conversation_latest_decision(*, conversation: Conversation) -> TriageDecision | None:
    return TriageDecision.objects.filter(conversation=conversation).order_by("-id").first()
