"""Case lifecycle: create, the one status transition, timeline events, messages."""

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cases import rawrows
from cases.errors import ApplicationError, InvalidTransition
from cases.models import Case, CaseEvent, Department, Message, Priority
from cases.redaction import redact
from customers.models import Customer


def case_event_record(
    *,
    case: Case,
    type: str,
    actor=None,
    old: str = "",
    new: str = "",
    data: dict | None = None,
    public: bool = False,
    at: datetime | None = None,
) -> CaseEvent:
    """The row CaseEvent.objects.create() writes, without compiling a query. ``at``: when it happened (default:
    now), e.g. a case opened at an earlier ``now`` (imports, the demo data's backdated cases)."""
    event = _event(case=case, type=type, actor=actor, old=old, new=new, data=data, public=public)
    if at is not None:
        event.created_at = at
    return rawrows.insert(event)


def _event(*, case: Case, type: str, actor, old, new, data: dict | None, public: bool) -> CaseEvent:
    return CaseEvent(
        case=case,
        type=type,
        actor=actor,
        old_value=str(old)[:64],
        new_value=str(new)[:64],
        data=data or {},
        is_public=public,
    )


def _clean_text(text: str, *, field: str) -> str:
    text = (text or "").replace("\x00", "").strip()  # PostgreSQL text cannot hold NUL bytes
    if not text:
        raise ApplicationError("Write a message first.", fields={field: ["This field may not be blank."]})
    limit = settings.RH["MAX_MESSAGE_LENGTH"]
    if len(text) > limit:
        raise ApplicationError(
            f"Messages are limited to {limit} characters.", fields={field: [f"At most {limit} characters."]}
        )
    return redact(text)


@transaction.atomic
def case_create(
    *,
    customer: Customer,
    channel: str,
    department: Department,
    subject: str,
    intent: str = "other",
    priority: int = Priority.NORMAL,
    order=None,
    order_item=None,
    value_at_stake: Decimal | None = None,
    escalation_reasons: list | None = None,
    triage: dict | None = None,
    first_message: str = "",
    first_message_kind: str = Message.Kind.CUSTOMER,
    actor=None,
    now: datetime | None = None,
) -> Case:
    """Open a case in its department's queue, with its first message and a CREATED event."""
    now = now or timezone.now()
    case = Case.objects.create(
        customer=customer,
        channel=channel,
        department=department,
        subject=redact(subject.replace("\x00", "").strip())[:200] or "Customer request",
        intent=intent,
        priority=priority,
        order=order,
        order_item=order_item,
        value_at_stake=value_at_stake or Decimal("0.00"),
        escalation_reasons=escalation_reasons or [],
        triage=triage or {},
        created_at=now,
        queued_at=now,
    )
    case.reference = Case.make_reference(case.pk, now.year)
    Case.objects.filter(pk=case.pk).update(reference=case.reference)
    case_event_record(
        case=case,
        type=CaseEvent.Type.CREATED,
        actor=actor,
        new=case.status,
        public=True,
        data={"channel": channel, "department": department.slug, "priority": priority},
        at=now,  # the case's own time, as its created_at and first message
    )
    if first_message:
        Message.objects.create(
            case=case, kind=first_message_kind, body=_clean_text(first_message, field="message"), created_at=now
        )
    from cases.services.sla import sla_closed_department_notice, sla_recompute

    sla_recompute(case=case, now=now)
    sla_closed_department_notice(case=case, now=now)
    return case


# Saved by ``case_transition`` when the caller names the fields it changed (``changed``): what the transition sets.
TRANSITION_FIELDS = ("status", "assignee", "queued_at", "resolved_at", "sla_paused_at", "updated_at")


def case_transition(
    *,
    case: Case,
    new_status: str,
    actor=None,
    data: dict | None = None,
    public: bool = True,
    now: datetime | None = None,
    changed: tuple[str, ...] | None = None,
) -> Case:
    """The one place status changes. Caller holds the row lock (``select_for_update``) inside a transaction.

    One UPDATE writes the status and the recomputed SLA due times together (``sla_prepare`` computes them on the
    case in memory first), then the STATUS_CHANGED event (same statement when ``changed`` is given), then any
    breach met late. ``changed``: the other fields
    the caller set on ``case`` before calling (e.g. ``("assignee",)``), so only those and the transition's own
    fields are written; None (the default) saves the whole row. Take-next's claim on PostgreSQL is this
    transition for NEW → ASSIGNED written into its one statement (``cases.services.queue._CLAIM_SQL``)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("case_transition must run inside a transaction with the case row locked")
    old = case.status
    if not case.can_transition_to(new_status):
        raise InvalidTransition(
            f"A case that is '{case.get_status_display()}' cannot become '{Case.Status(new_status).label}'.",
            fields={"status": [f"Not allowed from {old}."]},
        )
    now = now or timezone.now()
    case.status = new_status
    if new_status == Case.Status.NEW:
        case.assignee = None
        case.queued_at = now
    if new_status == Case.Status.RESOLVED:
        case.resolved_at = now
    if new_status == Case.Status.WAITING_CUSTOMER:
        case.sla_paused_at = now
    # Leaving WAITING_CUSTOMER: ``sla_prepare`` adds the paused time to the clocks and clears the pause.
    from cases.services.sla import sla_prepare, sla_record_late

    sla = sla_prepare(case=case, now=now)
    event = _event(
        case=case, type=CaseEvent.Type.STATUS_CHANGED, actor=actor, old=old, new=new_status, data=data, public=public
    )
    if changed is None:
        case.save()
        rawrows.insert(event)
    else:  # save(update_fields=…) and the event's INSERT, as one statement
        rawrows.update_then_insert(case, {*TRANSITION_FIELDS, *changed, *sla.fields}, event)
    sla_record_late(case=case, update=sla, now=now)
    from cases.live import CASE, case_news_publish

    case_news_publish(case_id=case.pk, kind=CASE)  # the customer's live status line, after commit
    return case
