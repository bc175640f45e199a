"""The customer's Message Center, with an optional e-mail copy through Django's mail backends."""

from django.conf import settings

from cases.models import Case, Notification
from customers.models import Customer


def notification_send(
    *, customer: Customer, kind: str, title: str, body: str, case: Case | None = None
) -> Notification:
    note = Notification.objects.create(customer=customer, case=case, kind=kind, title=title[:200], body=body)
    if settings.RH.get("EMAIL_COPIES") and customer.email:
        from cases.tasks import notification_email

        notification_email.delay_on_commit(note.pk)
    return note
