"""``{% load sla %}{{ case|sla_promise }}`` → "we will reply by 14:05 (EST)" in the case's department time zone."""

from django import template

from cases.services.sla import sla_promise_late, sla_promise_text

register = template.Library()


@register.filter
def sla_promise(case) -> str:
    return sla_promise_text(case=case) if case is not None else ""


@register.filter
def sla_late(case) -> bool:
    """The promised time has passed (the page says sorry instead of showing a time in the past)."""
    return case is not None and sla_promise_late(case=case)


@register.filter
def in_department_tz(value, case):
    """A datetime shown in the case's department time zone."""
    from zoneinfo import ZoneInfo

    if value is None:
        return None
    return value.astimezone(ZoneInfo(case.department.time_zone))


@register.filter
def sla_due_local(case) -> str:
    """``sla_due_at`` in the case's department time zone, e.g. "Nov 24, 14:05 EST" (empty when no clock runs)."""
    if case is None or case.sla_due_at is None:
        return ""
    local = in_department_tz(case.sla_due_at, case)
    return f"{local:%b} {local.day}, {local:%H:%M} {local.tzname()}"
