"""The assistant chat of the help flow: every customer message is triaged; the assistant answers, resolves
(instant subscription refund through the one refund ledger) or offers a human (live chat / Call Me Now).

Transactions: the customer's message, the decision and the refund *request* commit together; the refund is then
processed synchronously with no lock held (``refund_process`` is idempotent, the enqueued task becomes a no-op),
and the assistant's confirmation is written in a second short transaction.
"""

import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from cases.errors import ApplicationError
from cases.models import Case, CaseEvent, Channel, Intent, Priority, Refund
from cases.payments import PaymentError
from cases.services.callbacks import callback_request
from cases.services.cases import case_create, case_event_record
from cases.services.refunds import refund_process, refund_request
from cases.services.refunds.subscriptions import subscription_charge_refund_key
from customers.models import Customer, SubscriptionCharge
from escalations.models import Conversation, ConversationMessage, TriageDecision
from escalations.selectors import customer_context
from escalations.services.common import (
    clean_text,
    copy_transcript,
    department_for,
    department_hours_note,
    escalation_reasons,
    order_and_item,
    phone_e164,
)
from escalations.services.triage import ESCALATE, RESOLVE, explain, triage_evaluate, triage_record

logger = logging.getLogger(__name__)
CALLBACK_CUE = re.compile(r"(?i)\b(phone call|call me|call back|callback|ring me)\b")
GREETING = (
    "Hi, I'm the assistant. Tell me what you need help with: an order, a refund, your membership or your account. "
    'Type "Request a phone call" and we\'ll call you. Nobody will ever ask for your password or full card number.'
)


@dataclass
class AssistantTurn:
    conversation: Conversation
    decision: TriageDecision | None
    offers: list[str] = field(default_factory=list)  # "transfer", "callback_form"
    refunds: list[Refund] = field(default_factory=list)


@transaction.atomic
def conversation_start(*, customer: Customer) -> Conversation:
    conversation = Conversation.objects.create(customer=customer)
    ConversationMessage.objects.create(
        conversation=conversation, role=ConversationMessage.Role.ASSISTANT, body=GREETING
    )
    return conversation


def conversation_offers(*, conversation: Conversation) -> list[str]:
    """What the chat page offers now, derived from the stored last decision (so a reload shows the same)."""
    if conversation.status != Conversation.Status.ASSISTANT:
        return []
    last = TriageDecision.objects.filter(conversation=conversation).order_by("-id").first()
    offers = []
    if last is not None and last.outcome == ESCALATE:
        offers.append("transfer")
    last_customer = (
        ConversationMessage.objects.filter(conversation=conversation, role=ConversationMessage.Role.CUSTOMER)
        .order_by("-id")
        .first()
    )
    if (last_customer and CALLBACK_CUE.search(last_customer.body)) or "transfer" in offers:
        offers.append("callback_form")
    return offers


def _assistant_says(conversation: Conversation, text: str) -> ConversationMessage:
    return ConversationMessage.objects.create(
        conversation=conversation, role=ConversationMessage.Role.ASSISTANT, body=text
    )


def conversation_reply(*, conversation_id: int, customer: Customer, text: str) -> AssistantTurn:
    """The customer writes; the assistant triages and answers, resolves or offers a human."""
    body = clean_text(text, field="text")
    refund_ids: list[int] = []
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id, customer=customer)
        if conversation.status != Conversation.Status.ASSISTANT:
            raise ApplicationError("This chat was handed to an associate. Continue in your case.", code="handed_over")
        history = [
            {"role": m.role, "text": m.body}
            for m in ConversationMessage.objects.filter(conversation=conversation).order_by("id")
        ]
        ConversationMessage.objects.create(conversation=conversation, role=ConversationMessage.Role.CUSTOMER, body=body)
        context = customer_context(customer=customer, conversation=conversation)
        result = triage_evaluate(message=body, history=history, context=context)
        decision = triage_record(result=result, message=body, conversation=conversation)
        asks = next((r["count"] for r in result.reasons if r.get("code") == "representative_requests"), 0)
        if asks != conversation.representative_requests:
            conversation.representative_requests = asks
            conversation.save(update_fields=["representative_requests"])
        wants_call = bool(CALLBACK_CUE.search(body))
        if result.decision == RESOLVE and result.action.get("type") == "subscription_refund":
            for charge in SubscriptionCharge.objects.filter(
                pk__in=result.action["charge_ids"], subscription__customer=customer
            ):
                refund = refund_request(
                    idempotency_key=subscription_charge_refund_key(charge.pk),
                    customer=customer,
                    amount=charge.amount,
                    reason=f"{charge.subscription.plan} charged on {charge.charged_at:%Y-%m-%d} after cancellation",
                    source=Refund.Source.ASSISTANT,
                    subscription_charge=charge,
                )
                refund_ids.append(refund.pk)
            _assistant_says(conversation, result.answer)
        elif wants_call and result.decision != ESCALATE:
            _assistant_says(
                conversation,
                'Sure. Enter your phone number below and press "Call me now": your phone should ring within '
                "60 seconds.",
            )
        elif result.decision == ESCALATE:
            _assistant_says(conversation, result.answer + department_hours_note(result.department))
        else:
            _assistant_says(conversation, result.answer)
    refunds = [_process(refund_id) for refund_id in refund_ids]
    if refunds:
        with transaction.atomic():
            issued = [r for r in refunds if r.status == Refund.Status.ISSUED]
            total = sum((r.amount for r in issued), Decimal("0"))
            if issued and len(issued) == len(refunds):
                text = f"Done: ${total} is refunded to your original payment method. The confirmation is in your Message Center."
            elif any(r.status in (Refund.Status.FAILED, Refund.Status.DENIED) for r in refunds):
                text = (
                    "I couldn't complete the refund automatically; an associate will follow up in your Message Center."
                )
            else:
                text = "Your refund is being processed; you'll find the confirmation in your Message Center shortly."
            _assistant_says(conversation, text)
    return AssistantTurn(
        conversation=conversation,
        decision=decision,
        offers=conversation_offers(conversation=conversation),
        refunds=refunds,
    )


def _process(refund_id: int) -> Refund:
    """Issue now so the customer sees the confirmation at once; a transient failure is left to the queued task."""
    try:
        return refund_process(refund_id=refund_id)
    except PaymentError as exc:
        logger.warning(
            "refund %s not issued synchronously (%s); the queued task retries", refund_id, type(exc).__name__
        )
        return Refund.objects.get(pk=refund_id)


def _handover_target(conversation: Conversation) -> TriageDecision | None:
    return TriageDecision.objects.filter(conversation=conversation).order_by("-id").first()


def _transcript(conversation: Conversation) -> list[tuple[str, str]]:
    return [(m.role, m.body) for m in ConversationMessage.objects.filter(conversation=conversation).order_by("id")]


def _subject(decision: TriageDecision | None, conversation: Conversation) -> str:
    first = (
        ConversationMessage.objects.filter(conversation=conversation, role=ConversationMessage.Role.CUSTOMER)
        .order_by("id")
        .first()
    )
    label = Intent(decision.intent).label if decision else "Help request"
    return f"{label}: {first.body[:120]}" if first else label


def _link(conversation: Conversation, decision: TriageDecision | None, case: Case) -> None:
    copy_transcript(case=case, lines=_transcript(conversation))
    if decision is not None:
        TriageDecision.objects.filter(pk=decision.pk).update(case=case)
        case_event_record(
            case=case,
            type=CaseEvent.Type.TRIAGE,
            data={
                "decision_id": decision.pk,
                "intent": decision.intent,
                "triggers": decision.triggers,
                "explained": explain(decision),
            },
        )
    conversation.case = case
    conversation.status = Conversation.Status.HANDED_OVER
    conversation.save(update_fields=["case", "status"])


@transaction.atomic
def conversation_escalate(*, conversation_id: int, customer: Customer) -> Case:
    """Hand the conversation and its transcript to a live-chat case in the decided queue. Idempotent."""
    conversation = Conversation.objects.select_for_update().get(pk=conversation_id, customer=customer)
    if conversation.case_id is not None:
        return conversation.case
    decision = _handover_target(conversation)
    if decision is None or decision.outcome != ESCALATE:
        raise ApplicationError(
            "Tell the assistant what you need first; it offers an associate when one is needed.", code="no_escalation"
        )
    order, item = order_and_item(customer=customer, reasons=decision.reasons)
    case = case_create(
        customer=customer,
        channel=Channel.CHAT,
        department=department_for(decision.department_slug),
        subject=_subject(decision, conversation),
        intent=decision.intent,
        priority=decision.priority or Priority.NORMAL,
        order=order,
        order_item=item,
        value_at_stake=_value(decision),
        escalation_reasons=escalation_reasons(triggers=decision.triggers, reasons=decision.reasons),
        triage=_summary(decision),
    )
    _link(conversation, decision, case)
    return case


@transaction.atomic
def conversation_request_callback(*, conversation_id: int, customer: Customer, phone: str) -> Case:
    """ "Call me now" from the chat: a callback case through the one callback service. Idempotent per chat."""
    e164 = phone_e164(phone)
    conversation = Conversation.objects.select_for_update().get(pk=conversation_id, customer=customer)
    if conversation.case_id is not None:
        return conversation.case
    decision = _handover_target(conversation)
    order, item = order_and_item(customer=customer, reasons=decision.reasons if decision else [])
    escalating = decision is not None and decision.outcome == ESCALATE
    case = callback_request(
        customer=customer,
        phone=e164,
        department=department_for(decision.department_slug if escalating else "general"),
        subject=_subject(decision, conversation),
        priority=(decision.priority if escalating and decision.priority else Priority.HIGH),
        intent=decision.intent if decision else Intent.OTHER,
        escalation_reasons=(
            escalation_reasons(triggers=decision.triggers, reasons=decision.reasons) if escalating else []
        )
        + [{"trigger": "callback_requested"}],
        triage=_summary(decision) if decision else {},
        order=order,
        order_item=item,
        value_at_stake=_value(decision) if decision else None,
    )
    _link(conversation, decision, case)
    return case


def _summary(decision: TriageDecision) -> dict:
    return {
        "decision_id": decision.pk,
        "intent": decision.intent,
        "confidence": str(decision.confidence),
        "decision": decision.outcome,
        "department": decision.department_slug,
        "priority": decision.priority,
        "triggers": decision.triggers,
    }


def _value(decision: TriageDecision) -> Decimal | None:
    for r in decision.reasons or []:
        if r.get("code") == "order_in_view":
            return Decimal(str(r.get("value") or "0"))
    return None
