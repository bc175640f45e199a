"""SLA reads: attainment per channel / department / priority, the next breaches, the supervisor's breach list.

``sla_attainment`` is the one attainment selector (the supervisor console's dashboard can reuse it)."""

from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q

from cases.models import Case, Channel, Priority, SlaRecord, SlaTarget

GROUPS = {"channel": "channel", "department": "department__name", "priority": "priority"}
TARGETS = (None, SlaTarget.FIRST_RESPONSE, SlaTarget.RESOLUTION)


def sla_attainment(*, since: datetime, until: datetime, group_by: str, target: str | None = None) -> list[dict]:
    """Cases created in ``[since, until)`` grouped by ``channel``, ``department`` or ``priority``:

    - missed: a breach was recorded (of ``target``, or of any target when None);
    - hit: no breach and done (``target=None``: no longer open; first_response: answered; resolution: resolved);
    - in_progress: neither yet.

    ``attainment`` = hit / (hit + missed) in percent (None when nothing is decided). One query.
    """
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {sorted(GROUPS)}")
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}")
    breaches = SlaRecord.objects.filter(case_id=OuterRef("pk"), level=SlaRecord.Level.BREACH)
    if target:
        breaches = breaches.filter(target=target)
    if target == SlaTarget.FIRST_RESPONSE:
        done = Q(first_response_at__isnull=False)
    elif target == SlaTarget.RESOLUTION:
        done = Q(status__in=[Case.Status.RESOLVED, Case.Status.CLOSED])
    else:
        done = ~Q(status__in=Case.OPEN_STATUSES)
    column = GROUPS[group_by]
    rows = (
        Case.objects.filter(created_at__gte=since, created_at__lt=until)
        .annotate(breached=Exists(breaches))
        .values(column)
        .annotate(
            missed=Count("id", filter=Q(breached=True)),
            hit=Count("id", filter=Q(breached=False) & done),
            total=Count("id"),
        )
        .order_by(column)
    )
    out = []
    for row in rows:
        key = row.pop(column)
        decided = row["hit"] + row["missed"]
        row["in_progress"] = row["total"] - decided
        row["attainment"] = round(100 * row["hit"] / decided, 1) if decided else None
        row["key"] = key
        if group_by == "priority":
            row["label"] = Priority(key).label
        elif group_by == "channel":
            row["label"] = Channel(key).label
        else:
            row["label"] = key
        out.append(row)
    return out


def sla_next_breaches(*, now: datetime, limit: int = 20):
    """Open cases with a running target, soonest due first (already overdue ones on top)."""
    return (
        Case.objects.open()
        .filter(sla_due_at__isnull=False)
        .select_related("department")
        .only("reference", "channel", "priority", "status", "sla_due_at", "department__name", "department__time_zone")
        .order_by("sla_due_at", "id")[:limit]
    )


def sla_supervisor_alerts(*, limit: int = 50):
    """Breaches flagged for the supervisor and not yet acknowledged, newest first."""
    return (
        SlaRecord.objects.filter(supervisor_notified=True, acknowledged_at__isnull=True)
        .select_related("case", "department")
        .order_by("-point_at", "-id")[:limit]
    )
