"""Call Me Now callbacks: intake creates them here; the workspace offers, dials and records outcomes."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from cases.models import Callback, Case, CaseEvent, Channel, Department, Notification, Priority
from cases.services.cases import case_create, case_event_record
from cases.services.notifications import notification_send
from customers.models import Customer
from customers.validators import normalize_phone

CALLBACK_EXPIRY = timedelta(hours=2)


@transaction.atomic
def callback_request(
    *,
    customer: Customer,
    phone: str,
    department: Department,
    subject: str = "Call me now",
    first_message: str = "",
    priority: int = Priority.HIGH,
    intent: str = "other",
    escalation_reasons: list | None = None,
    triage: dict | None = None,
    order=None,
    order_item=None,
    value_at_stake=None,
    actor=None,
) -> Case:
    """Open a callback case and its ``Callback`` (E.164 phone, normalised here; raises ValidationError if bad)."""
    e164 = normalize_phone(phone)
    now = timezone.now()
    case = case_create(
        customer=customer,
        channel=Channel.CALLBACK,
        department=department,
        subject=subject,
        intent=intent,
        priority=priority,
        first_message=first_message,
        escalation_reasons=escalation_reasons,
        triage=triage,
        order=order,
        order_item=order_item,
        value_at_stake=value_at_stake,
        actor=actor,
        now=now,
    )
    Callback.objects.create(
        case=case, phone=e164, requested_at=now, next_attempt_at=now, expires_at=now + CALLBACK_EXPIRY
    )
    case_event_record(
        case=case,
        type=CaseEvent.Type.CALLBACK,
        actor=actor,
        new="requested",
        data={"phone_last4": e164[-4:]},
        public=True,
    )
    notification_send(
        customer=customer,
        case=case,
        kind=Notification.Kind.CALLBACK,
        title="We will call you within a minute",
        body=f"Your phone (ending {e164[-4:]}) should ring within 60 seconds. Case {case.reference}.",
    )
    return case
