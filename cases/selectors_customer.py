"""Reads for the customer's pages. Always start from the customer gate in ``cases.selectors``."""

from itertools import chain

from django.db.models import QuerySet

from cases.models import Case, CaseEvent, GoodwillCredit, Message, Notification, Refund

# Timeline events a customer may see, with wording written for them (never internal notes or triage internals).
CUSTOMER_EVENT_TEXT = {
    CaseEvent.Type.CREATED: "We received your request.",
    CaseEvent.Type.STATUS_CHANGED: None,  # worded from the new status below
    CaseEvent.Type.REFUND: None,
    CaseEvent.Type.CREDIT: "A goodwill credit was added to your account.",
    CaseEvent.Type.CALLBACK: "Callback update.",
    CaseEvent.Type.REOPENED: "You reopened this case.",
}
STATUS_TEXT = {
    Case.Status.NEW: "Your case is in the queue for the next available associate.",
    Case.Status.ASSIGNED: "An associate is working on your case.",
    Case.Status.WAITING_CUSTOMER: "We are waiting for your reply.",
    Case.Status.RESOLVED: "Your case was resolved.",
    Case.Status.CLOSED: "Your case was closed.",
}
REFUND_TEXT = {
    Refund.Status.REQUESTED: "Refund requested.",
    Refund.Status.DENIED: "Refund declined.",
    Refund.Status.ISSUED: "Refund issued to your original payment method.",
}


def _event_text(event: CaseEvent) -> str | None:
    if event.type == CaseEvent.Type.STATUS_CHANGED:
        return STATUS_TEXT.get(event.new_value)
    if event.type == CaseEvent.Type.REFUND:
        return REFUND_TEXT.get(event.new_value)
    return CUSTOMER_EVENT_TEXT.get(event.type)


def case_public_timeline(*, case: Case) -> list[dict]:
    """Public messages and public events of one case, oldest first: two queries whatever the length."""
    messages = Message.objects.filter(case=case, kind__in=Message.PUBLIC_KINDS).select_related("author")
    events = CaseEvent.objects.filter(case=case, is_public=True).exclude(type=CaseEvent.Type.MESSAGE)
    items = []
    for m in messages:
        who = {
            Message.Kind.CUSTOMER: "You",
            Message.Kind.AGENT: (m.author.first_name if m.author and m.author.first_name else "Associate"),
            Message.Kind.ASSISTANT: "Assistant",
            Message.Kind.SYSTEM: "Resolution Hub",
        }[m.kind]
        items.append({"at": m.created_at, "kind": "message", "who": who, "side": m.kind, "text": m.body, "id": m.pk})
    for e in events:
        text = _event_text(e)
        if text:
            items.append({"at": e.created_at, "kind": "event", "who": "", "side": "event", "text": text, "id": e.pk})
    return sorted(items, key=lambda i: (i["at"], i["kind"] == "message", i["id"]))


def customer_notifications(*, customer) -> QuerySet[Notification]:
    return Notification.objects.filter(customer=customer).select_related("case").order_by("-created_at")


def customer_unread_count(*, customer) -> int:
    return Notification.objects.filter(customer=customer, read_at__isnull=True).count()


def customer_money(*, customer) -> list[dict]:
    """Refunds and credits of one customer, newest first, for the "Refunds and credits" page."""
    refunds = Refund.objects.filter(customer=customer).select_related("case", "order_item", "subscription_charge")
    credits = GoodwillCredit.objects.filter(customer=customer, status=GoodwillCredit.Status.APPROVED).select_related(
        "case"
    )
    rows = chain(
        (
            {
                "at": r.created_at,
                "what": "Refund",
                "for": r.order_item.title if r.order_item_id else "Subscription charge",
                "amount": r.amount,
                "currency": r.currency,
                "status": r.get_status_display(),
                "detail": r.decision_reason or r.reason,
                "case": r.case,
            }
            for r in refunds
        ),
        (
            {
                "at": c.created_at,
                "what": "Goodwill credit" if c.kind == GoodwillCredit.Kind.CREDIT else "Credit reversal",
                "for": c.get_reason_code_display(),
                "amount": c.amount,
                "currency": c.currency,
                "status": "Added to your account" if c.kind == GoodwillCredit.Kind.CREDIT else "Reversed",
                "detail": "",
                "case": c.case,
            }
            for c in credits
        ),
    )
    return sorted(rows, key=lambda r: r["at"], reverse=True)
