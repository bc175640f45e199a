"""Reads of the supervisor console: credit and refund lists, per-agent totals, anomaly flags, dashboard series.

Every function takes the requesting user and returns nothing for anyone but a supervisor (the views check too).
"""

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from cases.models import AgentProfile, Case, CreditLimit, GoodwillCredit, Refund, Role
from cases.selectors import agent_profile_of

ZERO = Value(Decimal("0.00"), output_field=DecimalField(max_digits=14, decimal_places=2))


def is_supervisor(user) -> bool:
    profile = agent_profile_of(user)
    return profile is not None and user.is_active and profile.role == Role.SUPERVISOR


@dataclass
class MoneyFilters:
    """Cleaned console filters. Dates are UTC calendar days, inclusive."""

    agent_id: int | None = None
    department_id: int | None = None
    reason: str = ""
    status: str = ""
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    date_from: date | None = None
    date_to: date | None = None
    extra: dict = field(default_factory=dict)

    def period(self) -> tuple[datetime | None, datetime | None]:
        start = datetime.combine(self.date_from, time.min, tzinfo=UTC) if self.date_from else None
        end = datetime.combine(self.date_to + timedelta(days=1), time.min, tzinfo=UTC) if self.date_to else None
        return start, end


def _period_q(filters: MoneyFilters, column: str = "created_at") -> Q:
    start, end = filters.period()
    q = Q()
    if start:
        q &= Q(**{f"{column}__gte": start})
    if end:
        q &= Q(**{f"{column}__lt": end})
    return q


def _money_filters_q(filters: MoneyFilters, *, agent_field: str, reason_field: str) -> Q:
    """The console's filters for one money table (credits: issuer and reason code; refunds: requester and source)."""
    q = _period_q(filters)
    conditions = {
        agent_field: filters.agent_id,
        "case__department_id": filters.department_id,
        reason_field: filters.reason,
        "status": filters.status,
    }
    for lookup, value in conditions.items():
        if value:
            q &= Q(**{lookup: value})
    if filters.amount_min is not None:
        q &= Q(amount__gte=filters.amount_min)
    if filters.amount_max is not None:
        q &= Q(amount__lte=filters.amount_max)
    return q


def credits_for_console(*, user, filters: MoneyFilters) -> QuerySet[GoodwillCredit]:
    if not is_supervisor(user):
        return GoodwillCredit.objects.none()
    qs = GoodwillCredit.objects.filter(
        _money_filters_q(filters, agent_field="issued_by_id", reason_field="reason_code")
    )
    return qs.select_related("issued_by", "decided_by", "customer", "case", "case__department").order_by(
        "-created_at", "-id"
    )


def refunds_for_console(*, user, filters: MoneyFilters) -> QuerySet[Refund]:
    if not is_supervisor(user):
        return Refund.objects.none()
    qs = Refund.objects.filter(_money_filters_q(filters, agent_field="requested_by_id", reason_field="source"))
    return qs.select_related("requested_by", "customer", "case", "case__department").order_by("-created_at", "-id")


def credit_totals_per_agent(qs: QuerySet[GoodwillCredit]) -> list[dict]:
    """Per-agent totals of a (filtered) credit queryset: one grouped query."""
    credit = Q(kind=GoodwillCredit.Kind.CREDIT)
    rows = (
        qs.order_by()
        .values("issued_by_id", "issued_by__username")
        .annotate(
            credits=Count("id", filter=credit),
            approved=Coalesce(Sum("amount", filter=credit & Q(status="approved")), ZERO),
            pending=Coalesce(Sum("amount", filter=credit & Q(status="pending")), ZERO),
            rejected=Coalesce(Sum("amount", filter=credit & Q(status="rejected")), ZERO),
            reversed=Coalesce(Sum("amount", filter=Q(kind=GoodwillCredit.Kind.REVERSAL)), ZERO),
        )
        .order_by("-approved", "issued_by__username")
    )
    out = list(rows)
    for row in out:
        row["net"] = row["approved"] - row["reversed"]
    return out


# The per-agent credit report (also what bench/credit_report.py measures against raw SQL).
CREDIT_REPORT_SQL = """
SELECT c.issued_by_id, u.username,
       COUNT(*) FILTER (WHERE c.kind = 'credit') AS credits,
       COALESCE(SUM(c.amount) FILTER (WHERE c.kind = 'credit' AND c.status = 'approved'), 0) AS approved,
       COALESCE(SUM(c.amount) FILTER (WHERE c.kind = 'credit' AND c.status = 'pending'), 0) AS pending,
       COALESCE(SUM(c.amount) FILTER (WHERE c.kind = 'credit' AND c.status = 'rejected'), 0) AS rejected,
       COALESCE(SUM(c.amount) FILTER (WHERE c.kind = 'reversal'), 0) AS reversed
FROM cases_goodwillcredit c JOIN auth_user u ON u.id = c.issued_by_id
WHERE c.created_at >= %s AND c.created_at < %s
GROUP BY c.issued_by_id, u.username
ORDER BY approved DESC, u.username
"""


def credit_report_per_agent(*, user, since: datetime, until: datetime) -> list[dict]:
    return credit_totals_per_agent(
        credits_for_console(user=user, filters=MoneyFilters()).filter(created_at__gte=since, created_at__lt=until)
    )


def credit_report_per_agent_sql(*, since: datetime, until: datetime) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(CREDIT_REPORT_SQL, [since, until])
        return cur.fetchall()


def approval_queue(*, user) -> QuerySet[GoodwillCredit]:
    if not is_supervisor(user):
        return GoodwillCredit.objects.none()
    return (
        GoodwillCredit.objects.filter(status=GoodwillCredit.Status.PENDING)
        .select_related("issued_by", "customer", "case", "case__department")
        .order_by("created_at", "id")
    )


# ---------------------------------------------------------------------------------------------------------------
# Anomaly flags
# ---------------------------------------------------------------------------------------------------------------

Z_THRESHOLD = 3.0
REPEAT_CUSTOMER_MIN = 3
JUST_UNDER_SHARE = Decimal("0.90")  # within 10 % under the per-credit limit
JUST_UNDER_MIN = 3
JUST_UNDER_FRACTION = 0.5
NEW_ACCOUNT_DAYS = 30


def _peer_z(value: float, peers: list[float]) -> float:
    """Leave-one-out z-score of ``value`` against the other agents of the department.

    The spread has a floor (one credit, or 10 % of the peers' mean) so a department of identical agents does not
    flag an agent for issuing one credit more than the others.
    """
    if len(peers) < 2:
        return 0.0
    mean = sum(peers) / len(peers)
    std = math.sqrt(sum((p - mean) ** 2 for p in peers) / len(peers))
    std = max(std, 1.0, 0.1 * mean)
    return (value - mean) / std


def credit_anomalies(*, user, since: datetime, until: datetime) -> dict:
    """Flags over credits created in [since, until). Returns lists of dicts, each with a human ``why``."""
    if not is_supervisor(user):
        return {"rate": [], "repeat_customers": [], "just_under": [], "new_accounts": []}
    credits = GoodwillCredit.objects.filter(
        kind=GoodwillCredit.Kind.CREDIT, created_at__gte=since, created_at__lt=until
    )

    # 1. Credit rate out of line with department peers (credits per agent in the period, per case department).
    counts: dict[int, dict[int, int]] = {}
    names: dict[int, str] = {}
    dept_names: dict[int, str] = {}
    for row in (
        credits.exclude(case__isnull=True)
        .values("case__department_id", "case__department__name", "issued_by_id", "issued_by__username")
        .annotate(n=Count("id"))
        .order_by()
    ):
        counts.setdefault(row["case__department_id"], {})[row["issued_by_id"]] = row["n"]
        names[row["issued_by_id"]] = row["issued_by__username"]
        dept_names[row["case__department_id"]] = row["case__department__name"]
    members = (
        AgentProfile.objects.filter(departments__in=list(counts))
        .exclude(role=Role.SUPERVISOR)
        .values_list("departments", "user_id", "user__username")
    )
    for dept_id, user_id, username in members:
        if dept_id in counts:
            counts[dept_id].setdefault(user_id, 0)
            names.setdefault(user_id, username)
    rate = []
    for dept_id, per_agent in counts.items():
        for agent_id, n in per_agent.items():
            peers = [float(v) for k, v in per_agent.items() if k != agent_id]
            z = _peer_z(float(n), peers)
            if z >= Z_THRESHOLD:
                mean = sum(peers) / len(peers)
                rate.append(
                    {
                        "agent_id": agent_id,
                        "agent": names[agent_id],
                        "department": dept_names[dept_id],
                        "credits": n,
                        "peer_mean": round(mean, 1),
                        "z": round(z, 1),
                        "why": f"{n} credits vs a peer mean of {mean:.1f} in {dept_names[dept_id]} (z = {z:.1f})",
                    }
                )
    rate.sort(key=lambda r: -r["z"])

    # 2. Repeat credits to one customer.
    repeat = [
        {**row, "why": f"{row['n']} credits ({row['total']}) to {row['customer__name']} from {row['agents']} agent(s)"}
        for row in credits.exclude(status=GoodwillCredit.Status.REJECTED)
        .values("customer_id", "customer__name")
        .annotate(n=Count("id"), total=Sum("amount"), agents=Count("issued_by_id", distinct=True))
        .filter(n__gte=REPEAT_CUSTOMER_MIN)
        .order_by("-n", "customer__name")
    ]

    # 3. Amounts just under the issuer's per-credit limit, again and again.
    limits = dict(CreditLimit.objects.values_list("role", "per_credit"))
    under_q = Q(pk__in=[])
    for role, per_credit in limits.items():
        under_q |= Q(issued_by_role=role, amount__gte=per_credit * JUST_UNDER_SHARE, amount__lte=per_credit)
    just_under = []
    for row in (
        credits.values("issued_by_id", "issued_by__username", "issued_by_role")
        .annotate(n=Count("id"), under=Count("id", filter=under_q))
        .filter(under__gte=JUST_UNDER_MIN)
        .order_by("-under")
    ):
        if row["under"] / row["n"] >= JUST_UNDER_FRACTION:
            limit = limits.get(row["issued_by_role"])
            just_under.append(
                {
                    **row,
                    "limit": limit,
                    "why": f"{row['under']} of {row['n']} credits within 10 % under the ${limit} limit",
                }
            )

    # 4. Credits on accounts younger than 30 days at the time of the credit.
    new_accounts = [
        {
            "credit": c,
            "account_age_days": (c.created_at - c.customer.created_at).days,
            "why": f"account {(c.created_at - c.customer.created_at).days} days old when credited",
        }
        for c in credits.filter(created_at__lt=F("customer__created_at") + timedelta(days=NEW_ACCOUNT_DAYS))
        .select_related("customer", "issued_by")
        .order_by("-created_at")[:100]
    ]
    return {"rate": rate, "repeat_customers": repeat, "just_under": just_under, "new_accounts": new_accounts}


# ---------------------------------------------------------------------------------------------------------------
# Dashboard series
# ---------------------------------------------------------------------------------------------------------------


def sla_attainment_by_channel(*, user, since: datetime, until: datetime | None = None) -> list[dict]:
    """First-response attainment per channel for cases created in ``[since, until)``, from the SLA engine's
    ``sla_attainment`` selector (missed = a first-response breach was recorded; hit = answered without one)."""
    if not is_supervisor(user):
        return []
    from cases.models import SlaTarget
    from cases.selectors_sla import sla_attainment

    until = until or timezone.now() + timedelta(seconds=1)
    return [
        {
            "channel": row["key"],
            "label": row["label"],
            "hit": row["hit"],
            "missed": row["missed"],
            "open": row["in_progress"],
            "total": row["total"],
            "pct": row["attainment"],
        }
        for row in sla_attainment(since=since, until=until, group_by="channel", target=SlaTarget.FIRST_RESPONSE)
    ]


def backlog_by_queue(*, user) -> list[dict]:
    if not is_supervisor(user):
        return []
    return list(
        Case.objects.open()
        .values("department__name")
        .annotate(waiting=Count("id", filter=Q(status=Case.Status.NEW)), open=Count("id"))
        .order_by("-open", "department__name")
    )


def credits_per_agent_over_time(*, user, since: datetime, until: datetime, top: int = 6) -> dict:
    """Daily approved credit amount per agent (UTC days), for the ``top`` agents by total."""
    if not is_supervisor(user):
        return {"days": [], "series": {}}
    rows = (
        GoodwillCredit.objects.filter(
            kind=GoodwillCredit.Kind.CREDIT,
            status=GoodwillCredit.Status.APPROVED,
            created_at__gte=since,
            created_at__lt=until,
        )
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day", "issued_by__username")
        .annotate(total=Sum("amount"))
        .order_by("day")
    )
    days = []
    d = since.astimezone(UTC).date()
    while datetime.combine(d, time.min, tzinfo=UTC) < until and len(days) < 366:
        days.append(d)
        d += timedelta(days=1)
    per_agent: dict[str, dict[date, Decimal]] = {}
    for row in rows:
        per_agent.setdefault(row["issued_by__username"], {})[row["day"]] = row["total"]
    ranked = sorted(per_agent, key=lambda name: -sum(per_agent[name].values()))[:top]
    series = {name: [per_agent[name].get(day, Decimal("0")) for day in days] for name in ranked}
    return {"days": days, "series": series}


def credits_for_case(*, case: Case) -> QuerySet[GoodwillCredit]:
    """The credits (and reversals) of one case the caller already passed through ``case_get_for_agent``."""
    return (
        GoodwillCredit.objects.filter(case=case)
        .select_related("issued_by", "decided_by", "reverses")
        .annotate(is_reversed=Count("reversal"))
        .order_by("-created_at", "-id")
    )


def agents_with_roles(*, user) -> QuerySet[AgentProfile]:
    if not is_supervisor(user):
        return AgentProfile.objects.none()
    return AgentProfile.objects.select_related("user").order_by("user__username")


def credit_limits(*, user) -> QuerySet[CreditLimit]:
    if not is_supervisor(user):
        return CreditLimit.objects.none()
    return CreditLimit.objects.order_by("per_credit")
