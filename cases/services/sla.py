"""SLA due times. Foundation version: fixed targets per channel on a 24/7 clock (the SLA issue replaces this
with policies and business-hours calendars; callers keep calling ``sla_recompute``)."""

from datetime import datetime, timedelta

from cases.models import Case, Channel

DEFAULT_FIRST_RESPONSE = {
    Channel.CHAT: timedelta(minutes=3),
    Channel.CALLBACK: timedelta(seconds=60),
    Channel.SOCIAL: timedelta(minutes=60),
    Channel.PHONE: timedelta(minutes=10),
    Channel.EMAIL: timedelta(days=2),
    Channel.WEB: timedelta(hours=4),
}


def sla_recompute(*, case: Case, now: datetime, paused_from: str | None = None) -> None:
    """Store the due times of ``case`` (same transaction as the change that moved them)."""
    if not case.is_open:
        fields = dict(sla_due_at=None, sla_next_check_at=None)
    elif case.first_response_at is None:
        due = case.created_at + DEFAULT_FIRST_RESPONSE.get(case.channel, timedelta(hours=4))
        fields = dict(first_response_due_at=due, sla_due_at=due, sla_next_check_at=due)
    else:
        fields = dict(sla_due_at=case.resolution_due_at, sla_next_check_at=None)
    if case.status == Case.Status.WAITING_CUSTOMER:
        fields["sla_next_check_at"] = None
    for key, value in fields.items():
        setattr(case, key, value)
    Case.objects.filter(pk=case.pk).update(**fields)
