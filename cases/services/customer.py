"""What a customer may do to their own cases and Message Center (called from the customer's pages)."""

from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from cases.errors import ApplicationError
from cases.models import Case, CaseEvent, Notification
from cases.services.cases import case_event_record, case_transition


def reopen_window() -> timedelta:
    return timedelta(days=settings.RH.get("REOPEN_WINDOW_DAYS", 14))


def case_can_reopen(*, case: Case, now=None) -> bool:
    now = now or timezone.now()
    return (
        case.status == Case.Status.RESOLVED
        and case.resolved_at is not None
        and now - case.resolved_at <= reopen_window()
    )


@transaction.atomic
def case_reopen_by_customer(*, case_id: int, actor, reason: str = "") -> Case:
    """A customer reopens their resolved case within the window; it goes back to its department's queue."""
    case = Case.objects.select_for_update(no_key=True).get(pk=case_id)
    if not case_can_reopen(case=case):
        days = reopen_window().days
        raise ApplicationError(
            f"This case can no longer be reopened (the window is {days} days after it was resolved). "
            "Please start a new request instead.",
            code="reopen_window_closed",
        )
    case_transition(case=case, new_status=Case.Status.NEW, actor=actor, data={"why": "reopened by customer"})
    case_event_record(case=case, type=CaseEvent.Type.REOPENED, actor=actor, data={"reason": reason[:300]}, public=True)
    return case


def notifications_mark_read(*, customer, notification_ids: list[int] | None = None) -> int:
    """Mark the customer's notifications read (all of them, or the given ids). Returns how many changed."""
    qs = Notification.objects.filter(customer=customer, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=notification_ids)
    return qs.update(read_at=timezone.now())


def notification_email_copy(*, notification_id: int) -> bool:
    """Send the optional e-mail copy of a Message Center entry once (``emailed_at`` guards re-runs)."""
    with transaction.atomic():
        note = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("customer")
            .filter(pk=notification_id, emailed_at__isnull=True)
            .first()
        )
        if note is None or not note.customer.email:
            return False
        Notification.objects.filter(pk=note.pk).update(emailed_at=timezone.now())
    send_mail(
        subject=note.title,
        message=(
            f"{note.body}\n\nSee it in your Message Center. "
            "We will never ask for your password or your full card number."
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[note.customer.email],
    )
    return True
