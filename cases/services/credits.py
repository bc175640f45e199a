"""Goodwill credits: humans only, per-role limits, four-eyes approval above them, never edited (reversal = new row).

Rules enforced here (and, where possible, again by the database):

- Only a human member of staff (an active user with an ``AgentProfile``) may issue, approve, reject or reverse.
  API keys (``cases.auth.ApiClient``), the assistant, anonymous users and customers are refused; the refusal is
  written to the audit log as a failed authorisation (``credit.grant.refused`` ...) in its own transaction.
- A reason code and a non-empty note are required.
- Limits come from ``CreditLimit`` for the issuer's role: per credit and per day. The *day* is the UTC calendar day
  ``[00:00 UTC, 24:00 UTC)`` of the moment the credit is issued, whatever the issuer's or the server's time zone
  (one rule for a team spread over several time zones; documented in docs/CREDITS_AND_AUDIT.md). The day's usage
  is the sum of the issuer's credits approved on their own authority that day (pending, rejected and
  supervisor-approved credits do not use it; reversals do not give it back). The issuer's profile row is locked
  while counting, so two credits issued at once cannot both slip under the limit.
- Above either limit the credit is PENDING until a *different* supervisor approves or rejects it (service check +
  ``credit_no_self_approval`` check constraint). The credit row is locked while deciding, so two supervisors
  deciding at once produce exactly one decision; the second gets a ``Conflict``.
- The customer is told in the Message Center when a credit is approved (at once or after approval) or reversed.
- Every money action writes ``audit_record`` in the same transaction: who, what, when (UTC), from where (IP),
  which object.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from cases.errors import ApplicationError, Conflict, NotAllowed
from cases.models import AgentProfile, CaseEvent, CreditLimit, GoodwillCredit, Notification, Role
from cases.services.audit import audit_record
from cases.services.cases import case_event_record
from cases.services.notifications import notification_send

NOTE_MAX = 2000


@dataclass(frozen=True)
class Limits:
    per_credit: Decimal
    per_day: Decimal


def credit_day_bounds(when: datetime) -> tuple[datetime, datetime]:
    """The limit day containing ``when``: the UTC calendar day, independent of any active time zone."""
    utc = when.astimezone(UTC)
    start = utc.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def credit_limits_for(role: str) -> Limits:
    limit = CreditLimit.objects.filter(role=role).first()
    if limit is None:  # no row for the role: nothing may be issued without approval
        return Limits(Decimal("0.00"), Decimal("0.00"))
    return Limits(limit.per_credit, limit.per_day)


def credit_day_used(*, issuer_id: int, when: datetime) -> Decimal:
    start, end = credit_day_bounds(when)
    total = GoodwillCredit.objects.filter(
        issued_by_id=issuer_id,
        kind=GoodwillCredit.Kind.CREDIT,
        status=GoodwillCredit.Status.APPROVED,
        decided_by__isnull=True,
        created_at__gte=start,
        created_at__lt=end,
    ).aggregate(total=Sum("amount"))["total"]
    return total or Decimal("0.00")


def _staff_profile(actor) -> AgentProfile | None:
    """The actor's staff profile, or None for API clients, the assistant, anonymous users and customers."""
    if actor is None or getattr(actor, "pk", None) is None or not getattr(actor, "is_authenticated", False):
        return None
    if not getattr(actor, "is_active", False):
        return None
    try:
        return AgentProfile.objects.get(user_id=actor.pk)
    except AgentProfile.DoesNotExist:
        return None


def _refuse(*, action: str, actor, reason: str, object_type: str, object_id, ip_address, data: dict | None = None):
    """Audit a failed authorisation (committed even though the caller gets an error), then raise NotAllowed."""
    with transaction.atomic():
        audit_record(
            action=f"{action}.refused",
            object_type=object_type,
            object_id=str(object_id or ""),
            actor=actor if getattr(actor, "pk", None) else None,
            actor_label=_label(actor),
            data={"reason": reason, **(data or {})},
            ip_address=ip_address,
        )
    raise NotAllowed(reason, code="not_allowed")


def _label(actor) -> str:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return "anonymous"
    return actor.get_username() if hasattr(actor, "get_username") else str(actor)


def _money(amount) -> Decimal:
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"))
    except (InvalidOperation, TypeError, ValueError):
        raise ApplicationError("Enter an amount such as 25.00.", fields={"amount": ["Enter a valid amount."]}) from None
    if not value.is_finite() or value <= 0:
        raise ApplicationError("The amount must be positive.", fields={"amount": ["Must be greater than 0."]})
    if value >= Decimal("10") ** 10:
        raise ApplicationError("The amount is too large.", fields={"amount": ["Too large."]})
    return value


def _note(note: str, *, required: bool = True, why: str = "Explain the credit in a note.") -> str:
    text = (note or "").strip()
    if required and not text:
        raise ApplicationError(why, fields={"note": ["This field may not be blank."]})
    if len(text) > NOTE_MAX:
        raise ApplicationError(f"Notes are limited to {NOTE_MAX} characters.", fields={"note": ["Too long."]})
    from cases.redaction import redact

    return redact(text)


def _fmt(amount: Decimal, currency: str) -> str:
    return f"${amount}" if currency == "USD" else f"{amount} {currency}"


def _notify_customer(credit: GoodwillCredit, *, reversed_credit: GoodwillCredit | None = None) -> None:
    amount = _fmt(credit.amount, credit.currency)
    if reversed_credit is not None:
        title = f"A goodwill credit of {amount} was reversed"
        body = "A goodwill credit on your account was reversed. Reply to your case if you have questions."
    else:
        title = f"You received a goodwill credit of {amount}"
        body = f"We added a goodwill credit of {amount} to your account ({credit.get_reason_code_display()})."
    notification_send(customer=credit.customer, case=credit.case, kind=Notification.Kind.CREDIT, title=title, body=body)


def _payload(credit: GoodwillCredit, **extra) -> dict:
    return {
        "credit_id": credit.pk,
        "kind": credit.kind,
        "amount": str(credit.amount),
        "currency": credit.currency,
        "reason_code": credit.reason_code,
        "status": credit.status,
        "customer_id": credit.customer_id,
        "case_id": credit.case_id,
        **extra,
    }


def credit_grant(
    *,
    case_id: int,
    amount,
    reason_code: str,
    note: str,
    actor,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> GoodwillCredit:
    """Issue a goodwill credit on a case: APPROVED within the issuer's limits, PENDING (four eyes) above them."""
    profile = _staff_profile(actor)
    if profile is None:
        _refuse(
            action="credit.grant",
            actor=actor,
            reason="Only human staff can issue goodwill credits.",
            object_type="cases.case",
            object_id=case_id,
            ip_address=ip_address,
            data={"amount": str(amount)},
        )
    if reason_code not in GoodwillCredit.Reason.values:
        raise ApplicationError("Choose a reason code.", fields={"reason_code": ["Choose a valid reason."]})
    value = _money(amount)
    text = _note(note)
    now = now or timezone.now()
    from cases.selectors import cases_visible_to_agent

    with transaction.atomic():
        case = (
            cases_visible_to_agent(user=actor)
            .select_for_update(no_key=True, of=("self",))
            .select_related("customer")
            .filter(pk=case_id)
            .first()
        )
        if case is None:
            raise ApplicationError("No such case.", fields={"case_id": ["Not found."]}, code="not_found")
        # Serialise this issuer's credits so the day's usage cannot be raced past the limit.
        profile = AgentProfile.objects.select_for_update().get(pk=profile.pk)
        limits = credit_limits_for(profile.role)
        used = credit_day_used(issuer_id=actor.pk, when=now)
        over = []
        if value > limits.per_credit:
            over.append("per_credit")
        if used + value > limits.per_day:
            over.append("per_day")
        credit = GoodwillCredit.objects.create(
            case=case,
            customer=case.customer,
            kind=GoodwillCredit.Kind.CREDIT,
            amount=value,
            currency=case.currency,
            reason_code=reason_code,
            note=text,
            issued_by=actor,
            issued_by_role=profile.role,
            status=GoodwillCredit.Status.PENDING if over else GoodwillCredit.Status.APPROVED,
            decided_at=None if over else now,
            created_at=now,
        )
        data = _payload(
            credit,
            role=profile.role,
            limit_per_credit=str(limits.per_credit),
            limit_per_day=str(limits.per_day),
            day_used_before=str(used),
            over_limit=over,
        )
        audit_record(action="credit.granted", obj=credit, actor=actor, data=data, ip_address=ip_address)
        case_event_record(
            case=case,
            type=CaseEvent.Type.CREDIT,
            actor=actor,
            new=credit.status,
            data=data,
            public=not over,
        )
        if not over:
            _notify_customer(credit)
    return credit


def _decide(*, credit_id: int, actor, note: str, approve: bool, ip_address: str | None) -> GoodwillCredit:
    action = "credit.approve" if approve else "credit.reject"
    profile = _staff_profile(actor)
    if profile is None or profile.role != Role.SUPERVISOR:
        _refuse(
            action=action,
            actor=actor,
            reason="Only a supervisor can decide on a credit above the limit.",
            object_type="cases.goodwillcredit",
            object_id=credit_id,
            ip_address=ip_address,
        )
    text = _note(note, required=not approve, why="Write why the credit is rejected.")[:300]
    # The issuer never changes, so this check needs no lock; it runs outside the transaction so the refusal's
    # audit entry is committed. The database refuses decided_by = issued_by as well.
    issuer_id = GoodwillCredit.objects.filter(pk=credit_id).values_list("issued_by_id", flat=True).first()
    if issuer_id is None:
        raise ApplicationError("No such credit.", code="not_found")
    if issuer_id == actor.pk:
        _refuse(
            action=action,
            actor=actor,
            reason="A different supervisor must decide on your own credit.",
            object_type="cases.goodwillcredit",
            object_id=credit_id,
            ip_address=ip_address,
        )
    with transaction.atomic():
        credit = (
            GoodwillCredit.objects.select_for_update(of=("self",)).select_related("customer", "case").get(pk=credit_id)
        )
        if credit.status != GoodwillCredit.Status.PENDING:
            raise Conflict(f"This credit was already {credit.get_status_display().lower()}.", code="already_decided")
        old = credit.status
        now = timezone.now()
        credit.status = GoodwillCredit.Status.APPROVED if approve else GoodwillCredit.Status.REJECTED
        credit.decided_by = actor
        credit.decided_at = now
        credit.decision_note = text
        credit.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        data = _payload(credit, decision_note=text, issued_by_id=credit.issued_by_id)
        audit_record(
            action="credit.approved" if approve else "credit.rejected",
            obj=credit,
            actor=actor,
            data=data,
            ip_address=ip_address,
        )
        if credit.case_id:
            case_event_record(
                case=credit.case,
                type=CaseEvent.Type.CREDIT,
                actor=actor,
                old=old,
                new=credit.status,
                data=data,
                public=approve,
            )
        if approve:
            _notify_customer(credit)
    return credit


def credit_approve(*, credit_id: int, actor, note: str = "", ip_address: str | None = None) -> GoodwillCredit:
    return _decide(credit_id=credit_id, actor=actor, note=note, approve=True, ip_address=ip_address)


def credit_reject(*, credit_id: int, actor, note: str, ip_address: str | None = None) -> GoodwillCredit:
    return _decide(credit_id=credit_id, actor=actor, note=note, approve=False, ip_address=ip_address)


def credit_reverse(*, credit_id: int, actor, note: str, ip_address: str | None = None) -> GoodwillCredit:
    """Reverse an approved credit with a new REVERSAL entry (the original row is never changed).

    Allowed to the credit's issuer and to supervisors. A credit is reversed at most once (one-to-one ``reverses``).
    """
    profile = _staff_profile(actor)
    if profile is None:
        _refuse(
            action="credit.reverse",
            actor=actor,
            reason="Only human staff can reverse goodwill credits.",
            object_type="cases.goodwillcredit",
            object_id=credit_id,
            ip_address=ip_address,
        )
    text = _note(note)
    issuer_id = GoodwillCredit.objects.filter(pk=credit_id).values_list("issued_by_id", flat=True).first()
    if issuer_id is None:
        raise ApplicationError("No such credit.", code="not_found")
    if profile.role != Role.SUPERVISOR and issuer_id != actor.pk:
        _refuse(
            action="credit.reverse",
            actor=actor,
            reason="Only the issuer or a supervisor can reverse a credit.",
            object_type="cases.goodwillcredit",
            object_id=credit_id,
            ip_address=ip_address,
        )
    with transaction.atomic():
        credit = (
            GoodwillCredit.objects.select_for_update(of=("self",)).select_related("customer", "case").get(pk=credit_id)
        )
        if credit.kind != GoodwillCredit.Kind.CREDIT or credit.status != GoodwillCredit.Status.APPROVED:
            raise Conflict("Only an approved credit can be reversed.", code="not_reversible")
        if GoodwillCredit.objects.filter(reverses=credit).exists():
            raise Conflict("This credit was already reversed.", code="already_reversed")
        now = timezone.now()
        reversal = GoodwillCredit.objects.create(
            case=credit.case,
            customer=credit.customer,
            kind=GoodwillCredit.Kind.REVERSAL,
            reverses=credit,
            amount=credit.amount,
            currency=credit.currency,
            reason_code=credit.reason_code,
            note=text,
            issued_by=actor,
            issued_by_role=profile.role,
            status=GoodwillCredit.Status.APPROVED,
            decided_at=now,
            created_at=now,
        )
        data = _payload(reversal, reverses=credit.pk)
        audit_record(action="credit.reversed", obj=reversal, actor=actor, data=data, ip_address=ip_address)
        if credit.case_id:
            case_event_record(
                case=credit.case,
                type=CaseEvent.Type.CREDIT,
                actor=actor,
                old="approved",
                new="reversed",
                data=data,
                public=True,
            )
        _notify_customer(reversal, reversed_credit=credit)
    return reversal


def _require_supervisor(*, action: str, actor, object_type: str, object_id, ip_address) -> AgentProfile:
    profile = _staff_profile(actor)
    if profile is None or profile.role != Role.SUPERVISOR:
        _refuse(
            action=action,
            actor=actor,
            reason="Only supervisors can change this.",
            object_type=object_type,
            object_id=object_id,
            ip_address=ip_address,
        )
    return profile


def credit_limit_set(*, role: str, per_credit, per_day, actor, ip_address: str | None = None) -> CreditLimit:
    """Supervisors change a role's limits; the old and new values are audited."""
    if role not in Role.values:
        raise ApplicationError("Unknown role.", fields={"role": ["Choose a valid role."]})
    _require_supervisor(
        action="credit_limit.change",
        actor=actor,
        object_type="cases.creditlimit",
        object_id=role,
        ip_address=ip_address,
    )
    per_credit_value = _money(per_credit)
    try:
        per_day_value = _money(per_day)
    except ApplicationError:
        raise ApplicationError(
            "Enter a positive daily limit.", fields={"per_day": ["Must be greater than 0."]}
        ) from None
    if per_day_value < per_credit_value:
        raise ApplicationError(
            "The daily limit cannot be below the per-credit limit.",
            fields={"per_day": ["Must be at least the per-credit limit."]},
        )
    with transaction.atomic():
        limit = CreditLimit.objects.select_for_update().filter(role=role).first()
        old = {"per_credit": str(limit.per_credit), "per_day": str(limit.per_day)} if limit else None
        if limit is None:
            limit = CreditLimit(role=role)
        limit.per_credit = per_credit_value
        limit.per_day = per_day_value
        limit.save()
        audit_record(
            action="credit_limit.changed",
            obj=limit,
            actor=actor,
            data={
                "role": role,
                "old": old,
                "new": {"per_credit": str(per_credit_value), "per_day": str(per_day_value)},
            },
            ip_address=ip_address,
        )
    return limit


def agent_role_set(*, agent_id: int, role: str, actor, ip_address: str | None = None) -> AgentProfile:
    """Supervisors change an associate's role (and so their credit limits); audited with old and new role."""
    if role not in Role.values:
        raise ApplicationError("Unknown role.", fields={"role": ["Choose a valid role."]})
    _require_supervisor(
        action="agent_role.change",
        actor=actor,
        object_type="cases.agentprofile",
        object_id=agent_id,
        ip_address=ip_address,
    )
    if AgentProfile.objects.filter(pk=agent_id, user_id=actor.pk).exists():
        _refuse(
            action="agent_role.change",
            actor=actor,
            reason="You cannot change your own role.",
            object_type="cases.agentprofile",
            object_id=agent_id,
            ip_address=ip_address,
        )
    with transaction.atomic():
        profile = AgentProfile.objects.select_for_update().select_related("user").get(pk=agent_id)
        old = profile.role
        profile.role = role
        profile.save(update_fields=["role"])
        from django.contrib.auth.models import Group

        group = Group.objects.filter(name=role).first()
        if group is not None:
            profile.user.groups.remove(*Group.objects.filter(name__in=Role.values))
            profile.user.groups.add(group)
        audit_record(
            action="agent_role.changed",
            obj=profile,
            actor=actor,
            data={"user": profile.user.get_username(), "old": old, "new": role},
            ip_address=ip_address,
        )
    return profile


__all__ = [
    "Limits",
    "agent_role_set",
    "credit_approve",
    "credit_day_bounds",
    "credit_day_used",
    "credit_grant",
    "credit_limit_set",
    "credit_limits_for",
    "credit_reject",
    "credit_reverse",
]
