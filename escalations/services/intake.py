"""Channel intake from machines (and the phishing form): every event is recorded once by (source, external id)
in ``IntakeEvent``; a redelivery returns the case of the first delivery. Each intake runs in one transaction:
the event row, the case, its messages and the triage decision are written together or not at all."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from cases.errors import ApplicationError
from cases.models import Case, CaseEvent, Channel, Intent, Priority
from cases.redaction import redact
from cases.services.callbacks import callback_request
from cases.services.cases import case_create, case_event_record
from customers.models import Customer
from escalations.models import IntakeEvent, SocialPost
from escalations.selectors import customer_context
from escalations.services.common import (
    clean_text,
    copy_transcript,
    department_for,
    escalation_reasons,
    order_and_item,
    phone_e164,
)
from escalations.services.triage import SECURITY_INTENTS, TriageResult, explain, triage_evaluate, triage_record

MAX_TRANSCRIPT_LINES = 200


@dataclass
class IntakeResult:
    event: IntakeEvent
    case: Case | None
    replayed: bool


def redact_payload(value):
    """Redact every string in a JSON-like payload (keys kept)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_payload(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_payload(v) for v in value]
    return value


def _intake(*, source: str, external_id: str, channel: str, payload: dict, build: Callable[[], Case]) -> IntakeResult:
    external_id = (external_id or "").strip()
    if not external_id or len(external_id) > 120:
        raise ApplicationError(
            "An event id (or Idempotency-Key) of 1–120 characters is required.",
            fields={"event_id": ["Required, at most 120 characters."]},
        )
    existing = IntakeEvent.objects.select_related("case").filter(source=source, external_id=external_id).first()
    if existing is not None:
        return IntakeResult(existing, existing.case, True)
    try:
        with transaction.atomic():
            event = IntakeEvent.objects.create(
                source=source, external_id=external_id, channel=channel, payload=redact_payload(payload)
            )
            case = build()
            event.case = case
            event.save(update_fields=["case"])
            return IntakeResult(event, case, False)
    except IntegrityError:
        existing = IntakeEvent.objects.select_related("case").filter(source=source, external_id=external_id).first()
        if existing is None:
            raise
        return IntakeResult(existing, existing.case, True)


def _triage(*, customer: Customer, text: str, history: list | None = None) -> TriageResult:
    return triage_evaluate(message=text, history=history or [], context=customer_context(customer=customer))


def _open_case(
    *,
    customer: Customer,
    channel: str,
    result: TriageResult,
    text: str,
    subject: str,
    department_slug: str | None = None,
    priority: int | None = None,
    intent: str | None = None,
    extra_triggers: list[str] | None = None,
    first_message: str = "",
) -> Case:
    order, item = order_and_item(customer=customer, reasons=result.reasons)
    triggers = list(result.triggers) + list(extra_triggers or [])
    case = case_create(
        customer=customer,
        channel=channel,
        department=department_for(department_slug or result.department),
        subject=subject,
        intent=intent or result.intent,
        priority=priority or result.priority or Priority.NORMAL,
        order=order,
        order_item=item,
        value_at_stake=None if not order else result.value_at_stake,
        escalation_reasons=escalation_reasons(triggers=triggers, reasons=result.reasons),
        triage=result.summary(),
        first_message=first_message,
    )
    decision = triage_record(result=result, message=text, case=case)
    case_event_record(
        case=case,
        type=CaseEvent.Type.TRIAGE,
        data={
            "decision_id": decision.pk,
            "intent": result.intent,
            "triggers": triggers,
            "explained": explain(decision),
        },
    )
    return case


def intake_assistant_handover(*, event_id: str, customer: Customer, transcript: list[dict]) -> IntakeResult:
    """The assistant (bot) hands a conversation over: a live-chat case with the transcript as first messages."""
    if not transcript or len(transcript) > MAX_TRANSCRIPT_LINES:
        raise ApplicationError(
            "A transcript of 1–200 lines is required.",
            fields={"transcript": [f"Between 1 and {MAX_TRANSCRIPT_LINES} lines."]},
        )
    lines = [(line["role"], clean_text(line["text"], field="transcript")) for line in transcript]
    customer_lines = [text for role, text in lines if role == "customer"]
    if not customer_lines:
        raise ApplicationError(
            "The transcript has no customer message.", fields={"transcript": ["At least one customer line."]}
        )

    def build() -> Case:
        history = [{"role": role, "text": text} for role, text in lines[:-1]]
        result = _triage(customer=customer, text=customer_lines[-1], history=history)
        case = _open_case(
            customer=customer,
            channel=Channel.CHAT,
            result=result,
            text=customer_lines[-1],
            subject=f"{Intent(result.intent).label}: {customer_lines[0][:120]}",
            extra_triggers=["assistant_handover"],
        )
        copy_transcript(case=case, lines=lines)
        return case

    return _intake(
        source=IntakeEvent.Source.ASSISTANT,
        external_id=event_id,
        channel=Channel.CHAT,
        payload={"transcript": [{"role": r, "text": t} for r, t in lines]},
        build=build,
    )


def intake_callback(*, event_id: str, customer: Customer, phone: str, reason: str = "") -> IntakeResult:
    e164 = phone_e164(phone)
    text = clean_text(reason, field="reason") if reason.strip() else ""

    def build() -> Case:
        result = _triage(customer=customer, text=text) if text else None
        escalating = result is not None and result.escalate
        order, item = order_and_item(customer=customer, reasons=result.reasons if result else [])
        case = callback_request(
            customer=customer,
            phone=e164,
            department=department_for(result.department if result else "general"),
            subject=(f"Call me now: {text[:120]}" if text else "Call me now"),
            first_message=text,
            priority=(result.priority if escalating and result.priority else Priority.HIGH),
            intent=result.intent if result else Intent.OTHER,
            escalation_reasons=(
                escalation_reasons(triggers=result.triggers, reasons=result.reasons) if escalating else []
            )
            + [{"trigger": "callback_requested"}],
            triage=result.summary() if result else {},
            order=order,
            order_item=item,
        )
        if result is not None:
            triage_record(result=result, message=text, case=case)
        return case

    return _intake(
        source=IntakeEvent.Source.CALLBACK,
        external_id=event_id,
        channel=Channel.CALLBACK,
        payload={"phone_last4": e164[-4:], "reason": text},
        build=build,
    )


def customer_by_handle(handle: str) -> Customer | None:
    bare = handle.strip().lstrip("@")
    if not bare:
        return None
    return (
        Customer.objects.filter(social_handle__iexact=bare).first()
        or Customer.objects.filter(social_handle__iexact=f"@{bare}").first()
    )


def intake_social(*, platform: str, post_id: str, handle: str, text: str, event_id: str = "") -> IntakeResult:
    """A mention on X / Facebook / Instagram from the social listener: a social-care case (fraud if security)."""
    if platform not in SocialPost.Platform.values:
        raise ApplicationError(
            "Unknown platform.", fields={"platform": [f"One of {', '.join(SocialPost.Platform.values)}."]}
        )
    body = clean_text(text, field="text")
    customer = customer_by_handle(handle)
    if customer is None:
        raise ApplicationError(
            "No customer is linked to this handle.", fields={"handle": ["Unknown handle."]}, code="unknown_customer"
        )

    def build() -> Case:
        result = _triage(customer=customer, text=body)
        security = result.intent in SECURITY_INTENTS
        case = _open_case(
            customer=customer,
            channel=Channel.SOCIAL,
            result=result,
            text=body,
            subject=f"@{handle.lstrip('@')} on {SocialPost.Platform(platform).label}: {body[:100]}",
            department_slug="fraud" if security else "social",
            priority=Priority.URGENT if security else min(result.priority or Priority.HIGH, Priority.HIGH),
            extra_triggers=["social_mention"],
            first_message=body,
        )
        SocialPost.objects.create(platform=platform, post_id=post_id, handle=handle[:100], text=body, case=case)
        return case

    return _intake(
        source=IntakeEvent.Source.SOCIAL,
        external_id=event_id or f"{platform}:{post_id}",
        channel=Channel.SOCIAL,
        payload={"platform": platform, "post_id": post_id, "handle": handle, "text": body},
        build=build,
    )


def intake_phone_call(*, event_id: str, customer: Customer, summary: str) -> IntakeResult:
    """An inbound call on the support line, reported by the telephony platform, becomes a phone case."""
    body = clean_text(summary, field="summary")

    def build() -> Case:
        result = _triage(customer=customer, text=body)
        return _open_case(
            customer=customer,
            channel=Channel.PHONE,
            result=result,
            text=body,
            subject=f"Phone: {body[:120]}",
            extra_triggers=["inbound_call"],
            first_message=body,
        )

    return _intake(
        source=IntakeEvent.Source.TELEPHONY,
        external_id=event_id,
        channel=Channel.PHONE,
        payload={"summary": body},
        build=build,
    )


def intake_settlement_claim(
    *, event_id: str, customer: Customer, subject: str, body: str, claim_number: str = ""
) -> IntakeResult:
    """A settlement-claim e-mail (dedicated claims address) or the claim form: a claims case, business days."""
    text = clean_text(body, field="body")
    title = clean_text(subject or "Settlement claim", field="subject")[:150]

    def build() -> Case:
        result = _triage(customer=customer, text=text)
        return _open_case(
            customer=customer,
            channel=Channel.EMAIL,
            result=result,
            text=text,
            subject=f"Settlement claim{f' {claim_number}' if claim_number else ''}: {title}",
            department_slug="claims" if result.intent not in SECURITY_INTENTS else "fraud",
            intent=Intent.SETTLEMENT_CLAIM if result.intent not in SECURITY_INTENTS else None,
            extra_triggers=["settlement_claim"],
            first_message=text,
        )

    return _intake(
        source=IntakeEvent.Source.EMAIL,
        external_id=event_id,
        channel=Channel.EMAIL,
        payload={"subject": title, "body": text, "claim_number": claim_number},
        build=build,
    )


def intake_fraud_report(
    *, event_id: str, customer: Customer, text: str, url: str = "", channel: str = Channel.WEB
) -> IntakeResult:
    """Fraud / phishing / suspicious activity: always a human, highest priority, the 24/7 fraud queue."""
    body = clean_text(text, field="text")
    link = redact((url or "").strip())[:500]

    def build() -> Case:
        result = _triage(customer=customer, text=body)
        intent = result.intent if result.intent in SECURITY_INTENTS else Intent.PHISHING_REPORT
        result.intent = intent
        result.department = "fraud"
        result.priority = Priority.URGENT
        result.decision = "escalate"
        if "security" not in result.triggers:
            result.triggers = ["security", *result.triggers]
        return _open_case(
            customer=customer,
            channel=channel,
            result=result,
            text=body,
            subject=f"{Intent(intent).label}: {body[:120]}",
            department_slug="fraud",
            priority=Priority.URGENT,
            intent=intent,
            first_message=body + (f"\n\nLink reported: {link}" if link else ""),
        )

    return _intake(
        source=IntakeEvent.Source.FRAUD,
        external_id=event_id,
        channel=channel,
        payload={"text": body, "url": link},
        build=build,
    )
