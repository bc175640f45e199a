"""The customer's Message Center."""

from cases.models import Case, Notification
from customers.models import Customer


def notification_send(
    *, customer: Customer, kind: str, title: str, body: str, case: Case | None = None
) -> Notification:
    return Notification.objects.create(customer=customer, case=case, kind=kind, title=title[:200], body=body)
