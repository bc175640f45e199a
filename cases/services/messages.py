"""Messages on a case from either side. The SLA clock and the status follow who spoke last."""

from django.db import transaction
from django.utils import timezone

from cases import live
from cases.errors import ApplicationError, NotAllowed
from cases.models import Case, CaseEvent, Message, Notification
from cases.services.cases import _clean_text, case_event_record, case_transition
from cases.services.notifications import notification_send


@transaction.atomic
def message_post(*, case_id: int, kind: str, body: str, author=None) -> Message:
    """Post a message. Agents must hold the case (or be its supervisor) to write to the customer; internal notes
    are open to any agent who can see the case; a customer's reply resumes a paused clock."""
    text = _clean_text(body, field="body")
    case = Case.objects.select_for_update(no_key=True).get(pk=case_id)
    now = timezone.now()
    if kind == Message.Kind.CUSTOMER:
        if not case.is_open:
            raise ApplicationError("This case is closed. Reopen it to write again.", code="case_closed")
    elif kind == Message.Kind.AGENT:
        if case.assignee_id != getattr(author, "pk", None):
            raise NotAllowed("Take the case before replying to the customer.", code="not_assignee")
        if not case.is_open:
            raise ApplicationError("This case is resolved; reopen it to reply.", code="case_closed")
    elif kind not in (Message.Kind.NOTE, Message.Kind.ASSISTANT, Message.Kind.SYSTEM):
        raise ApplicationError("Unknown message kind.", fields={"kind": ["Not a valid choice."]})
    message = Message.objects.create(case=case, kind=kind, body=text, author=author, created_at=now)
    # Wake both sides' live polls once this transaction commits (a note wakes only staff).
    live.case_news_publish(case_id=case.pk, kind=live.NOTE if kind == Message.Kind.NOTE else live.MESSAGE)
    case_event_record(
        case=case,
        type=CaseEvent.Type.NOTE if kind == Message.Kind.NOTE else CaseEvent.Type.MESSAGE,
        actor=author,
        data={"message_id": message.pk, "kind": kind},
    )
    if kind == Message.Kind.AGENT:
        if case.first_response_at is None:
            case.first_response_at = now
            case.save(update_fields=["first_response_at", "updated_at"])
        notification_send(
            customer=case.customer,
            case=case,
            kind=Notification.Kind.REPLY,
            title=f"New reply on {case.reference}",
            body=text[:500],
        )
    if kind == Message.Kind.CUSTOMER and case.status == Case.Status.WAITING_CUSTOMER:
        target = Case.Status.ASSIGNED if case.assignee_id else Case.Status.NEW
        case_transition(case=case, new_status=target, actor=author, data={"why": "customer replied"}, now=now)
    else:
        from cases.services.sla import sla_recompute

        sla_recompute(case=case, now=now)
    return message
