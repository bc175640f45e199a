"""Delivered-but-missing disputes: open (front door / workspace) → judge on evidence (Celery) → act.

``delivery_dispute_open`` records the claim once per order item and enqueues ``cases.tasks.delivery_dispute_decide``
after commit. The task calls ``delivery_dispute_decide``, which locks the dispute, returns early if it is already
decided (a redelivered task is a no-op), collects the evidence and acts on the verdict:
- refund: a ledger refund with key ``delivery-dispute:<dispute id>`` (issued by ``refund_process``);
- deny: the reason goes to the customer's Message Center (and the case timeline, publicly, when there is a case);
- human: a case in the right department carrying the evidence as structured data (``case.triage["delivery_evidence"]``
  and an ``escalation_reasons`` entry) plus a readable internal note.
"""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cases.errors import ApplicationError, Conflict, NotAllowed
from cases.models import (
    Case,
    CaseEvent,
    Channel,
    DeliveryDispute,
    Department,
    Intent,
    Message,
    Notification,
    Priority,
    Refund,
)
from cases.services.audit import audit_record
from cases.services.cases import case_create, case_event_record
from cases.services.messages import message_post
from cases.services.notifications import notification_send
from customers.models import Customer, OrderItem

from .evidence import EvidenceRules, delivery_evidence_collect, delivery_evidence_judge
from .ledger import refund_request


def delivery_dispute_open(
    *, customer: Customer, order_item: OrderItem, actor=None, case: Case | None = None
) -> DeliveryDispute:
    """Record the customer's claim (once per item) and have the evidence judged by a worker."""
    from cases.tasks import delivery_dispute_decide as decide_task

    if order_item.order.customer_id != customer.pk:
        raise NotAllowed("This item is not on one of your orders.", fields={"order_item": ["Not your order."]})
    if case is not None and case.customer_id != customer.pk:
        raise ApplicationError("The case belongs to another customer.", fields={"case": ["Not this customer's."]})
    with transaction.atomic():
        dispute, created = DeliveryDispute.objects.get_or_create(
            order_item=order_item, defaults={"customer": customer, "case": case}
        )
        if not created:
            return dispute
        audit_record(
            action="delivery_dispute.opened",
            obj=dispute,
            actor=actor,
            data={"order_item_id": order_item.pk, "case_id": getattr(case, "pk", None)},
        )
        if case is not None:
            case_event_record(
                case=case,
                type=CaseEvent.Type.REFUND,
                actor=actor,
                new="dispute_opened",
                data={"delivery_dispute_id": dispute.pk, "order_item_id": order_item.pk},
                public=True,
            )
        decide_task.delay_on_commit(dispute.pk)
    return dispute


def _department_for(order_item: OrderItem) -> Department:
    slugs = [s for s in (order_item.department_hint, settings.RH.get("DELIVERY_DISPUTE_DEPARTMENT", "general")) if s]
    for slug in slugs:
        department = Department.objects.filter(slug=slug).first()
        if department is not None:
            return department
    department, _ = Department.objects.get_or_create(slug="general", defaults={"name": "General support"})
    return department


@transaction.atomic
def delivery_dispute_decide(*, dispute_id: int, now: datetime | None = None) -> DeliveryDispute:
    """Judge the evidence and act. Safe to run twice: a decided dispute is returned untouched."""
    now = now or timezone.now()
    dispute = (
        DeliveryDispute.objects.select_for_update(of=("self",))
        .select_related("order_item__order__shipping_address", "customer", "case")
        .get(pk=dispute_id)
    )
    if dispute.decision != DeliveryDispute.Decision.PENDING:
        return dispute
    rules = EvidenceRules.from_settings()
    evidence = delivery_evidence_collect(order_item=dispute.order_item, rules=rules, now=now)
    verdict = delivery_evidence_judge(evidence, rules=rules)
    dispute.evidence = evidence.as_data()
    dispute.reasons = list(verdict.reasons)
    dispute.decision = verdict.decision
    dispute.customer_message = verdict.customer_message[:500]
    dispute.decided_at = now

    if verdict.decision == DeliveryDispute.Decision.REFUND:
        try:
            dispute.refund = refund_request(
                idempotency_key=f"delivery-dispute:{dispute.pk}",
                customer=dispute.customer,
                amount=dispute.order_item.line_total,
                reason="Package marked delivered but not received",
                source=Refund.Source.DELIVERY_CHECK,
                order_item=dispute.order_item,
                case=dispute.case,
            )
        except Conflict:
            dispute.decision = DeliveryDispute.Decision.DENY
            dispute.reasons.append("already_refunded")
            dispute.customer_message = "This item has already been refunded."
    if dispute.decision == DeliveryDispute.Decision.HUMAN:
        dispute.case = _route_to_human(dispute=dispute, verdict=verdict, now=now)
    dispute.save()

    if dispute.decision == DeliveryDispute.Decision.DENY:
        notification_send(
            customer=dispute.customer,
            case=dispute.case,
            kind=Notification.Kind.REFUND,
            title=f"About your claim for {dispute.order_item.title}"[:200],
            body=dispute.customer_message,
        )
    elif dispute.decision == DeliveryDispute.Decision.HUMAN:
        notification_send(
            customer=dispute.customer,
            case=dispute.case,
            kind=Notification.Kind.CASE,
            title=f"An associate is reviewing your claim ({dispute.case.reference})",
            body=dispute.customer_message,
        )
    if dispute.case is not None:
        case_event_record(
            case=dispute.case,
            type=CaseEvent.Type.REFUND,
            new=f"dispute_{dispute.decision}",
            data={"delivery_dispute_id": dispute.pk, "reasons": dispute.reasons, "summary": verdict.summary},
            public=dispute.decision == DeliveryDispute.Decision.DENY,
        )
    audit_record(
        action=f"delivery_dispute.{dispute.decision}",
        obj=dispute,
        data={"reasons": dispute.reasons, "evidence": dispute.evidence, "refund_id": dispute.refund_id},
    )
    return dispute


def _route_to_human(*, dispute: DeliveryDispute, verdict, now: datetime) -> Case:
    item = dispute.order_item
    evidence = dispute.evidence
    reason_entry = {"code": "delivery_evidence", "rules": list(verdict.reasons), "summary": verdict.summary}
    case = dispute.case
    if case is None:
        case = case_create(
            customer=dispute.customer,
            channel=Channel.WEB,
            department=_department_for(item),
            subject=f"Missing delivered package: {item.title}",
            intent=Intent.MISSING_DELIVERED,
            priority=Priority.HIGH if "high_value" in verdict.reasons else Priority.NORMAL,
            order=item.order,
            order_item=item,
            value_at_stake=item.line_total,
            escalation_reasons=[reason_entry],
            triage={"delivery_evidence": evidence, "delivery_dispute_id": dispute.pk},
            now=now,
        )
    else:
        case = Case.objects.select_for_update(no_key=True).get(pk=case.pk)
        case.triage = {**(case.triage or {}), "delivery_evidence": evidence, "delivery_dispute_id": dispute.pk}
        case.escalation_reasons = [*(case.escalation_reasons or []), reason_entry]
        case.value_at_stake = max(case.value_at_stake, item.line_total)
        case.save(update_fields=["triage", "escalation_reasons", "value_at_stake", "updated_at"])
    message_post(case_id=case.pk, kind=Message.Kind.NOTE, body=_evidence_note(evidence, verdict))
    return case


def _evidence_note(evidence: dict, verdict) -> str:
    def yes(flag: bool) -> str:
        return "yes" if flag else "no"

    distance = f"{evidence['distance_m']} m" if evidence.get("distance_m") is not None else "unknown (no GPS point)"
    lines = [
        f"Delivered-but-missing claim routed to an associate: {verdict.summary}",
        f"- Item value: {evidence['item_value']} {evidence['currency']}",
        f"- Shipment: {evidence.get('tracking_number') or 'none'} (status {evidence.get('shipment_status') or '-'})",
        f"- Delivered scan: {yes(evidence.get('delivered_scan'))}"
        + (f" at {evidence['delivered_at']}" if evidence.get("delivered_at") else ""),
        f"- Delivery photo: {yes(evidence.get('photo'))}",
        f"- GPS distance from the shipping address: {distance}",
        f"- Earlier missing-package refunds in the window: {evidence.get('prior_claims', 0)}",
        f"- Rules: {', '.join(verdict.reasons)}",
    ]
    return "\n".join(lines)
