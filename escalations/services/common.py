"""Helpers shared by the front door's services: department lookup, transcript hand-over, text limits."""

from django.conf import settings
from django.core.exceptions import ValidationError

from cases.errors import ApplicationError
from cases.models import Case, Department, Message
from cases.redaction import redact
from customers.models import Order, OrderItem
from customers.validators import normalize_phone


def clean_text(text: str, *, field: str = "text") -> str:
    """Strip, enforce the configured size limit, and redact. Raises ``ApplicationError`` with field errors."""
    text = (text or "").replace("\x00", "").strip()  # PostgreSQL text cannot hold NUL bytes: never a 500
    if not text:
        raise ApplicationError("Write a message first.", fields={field: ["This field may not be blank."]})
    limit = settings.RH["MAX_MESSAGE_LENGTH"]
    if len(text) > limit:
        raise ApplicationError(
            f"Messages are limited to {limit} characters.", fields={field: [f"At most {limit} characters."]}
        )
    return redact(text)


def phone_e164(raw: str, *, field: str = "phone") -> str:
    try:
        return normalize_phone(raw)
    except ValidationError as exc:
        raise ApplicationError(exc.messages[0], fields={field: exc.messages}, code="invalid_phone") from None


def department_for(slug: str) -> Department:
    """The department by slug, falling back to general support (then any 24/7 department)."""
    dept = (
        Department.objects.filter(slug=slug).first()
        or Department.objects.filter(slug="general").first()
        or Department.objects.filter(is_24_7=True).order_by("pk").first()
    )
    if dept is None:
        raise ApplicationError("No department is configured to take this request.", code="no_department")
    return dept


def department_hours_note(slug: str, *, now=None) -> str:
    """For a department with limited hours that is closed now: when it opens, in its own time zone."""
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from cases.calendars import calendar_for, is_open, next_opening

    dept = Department.objects.filter(slug=slug).prefetch_related("hours", "holidays").first()
    if dept is None or dept.is_24_7:
        return ""
    now = now or timezone.now()
    calendar = calendar_for(dept)
    if is_open(calendar, now):
        return ""
    opens = next_opening(calendar, now).astimezone(ZoneInfo(dept.time_zone))
    return (
        f" {dept.name} is closed right now and opens {opens:%a %b %d, %H:%M} ({dept.time_zone}); your request "
        "waits in their queue until then."
    )


def order_and_item(*, customer, reasons: list[dict]) -> tuple[Order | None, OrderItem | None]:
    for r in reasons or []:
        if r.get("code") == "order_in_view" and r.get("order_id"):
            order = Order.objects.filter(pk=r["order_id"], customer=customer).first()
            item = OrderItem.objects.filter(pk=r.get("item_id"), order=order).first() if order else None
            return order, item
    return None, None


def escalation_reasons(*, triggers: list[str], reasons: list[dict]) -> list[dict]:
    """The structured reasons a case keeps: one entry per trigger that fired, with its evidence."""
    by_code = {r.get("code"): r for r in reasons or []}
    out = []
    for trigger in triggers:
        evidence = by_code.get(trigger) or by_code.get(
            {"negative_sentiment": "sentiment", "repeated_representative": "representative_requests"}.get(trigger, "")
        )
        out.append({"trigger": trigger, **({k: v for k, v in evidence.items() if k != "code"} if evidence else {})})
    return out


def copy_transcript(*, case: Case, lines: list[tuple[str, str]]) -> None:
    """Hand the (already redacted) transcript to the case as its first messages."""
    kinds = {"customer": Message.Kind.CUSTOMER, "assistant": Message.Kind.ASSISTANT}
    Message.objects.bulk_create(
        Message(case=case, kind=kinds.get(role, Message.Kind.SYSTEM), body=redact(body)) for role, body in lines if body
    )
