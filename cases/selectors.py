"""Reads of the back office. One access gate per audience, used by lists and details alike."""

from django.db.models import Count, Min, Q, QuerySet
from django.http import Http404

from cases.models import AgentProfile, Case, Message, Role


def agent_profile_of(user) -> AgentProfile | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.agent
    except AgentProfile.DoesNotExist:
        return None


def cases_visible_to_agent(*, user) -> QuerySet[Case]:
    """Associates see their departments' cases; supervisors see all; anyone else sees none."""
    profile = agent_profile_of(user)
    if profile is None or not user.is_active:
        return Case.objects.none()
    if profile.role == Role.SUPERVISOR:
        return Case.objects.all()
    return Case.objects.filter(department__in=profile.departments.all())


def case_get_for_agent(*, user, case_id: int | None = None, reference: str | None = None) -> Case:
    qs = cases_visible_to_agent(user=user).select_related("customer", "department", "assignee")
    lookup = {"pk": case_id} if case_id is not None else {"reference": reference}
    try:
        return qs.get(**lookup)
    except (Case.DoesNotExist, ValueError, TypeError):
        raise Http404("No such case.") from None


def cases_visible_to_customer(*, user) -> QuerySet[Case]:
    customer = getattr(user, "customer", None) if getattr(user, "is_authenticated", False) else None
    if customer is None:
        return Case.objects.none()
    return Case.objects.filter(customer=customer).exclude(status=Case.Status.MERGED)


def case_get_for_customer(*, user, reference: str) -> Case:
    try:
        return cases_visible_to_customer(user=user).select_related("department").get(reference=reference)
    except (Case.DoesNotExist, ValueError, TypeError):
        raise Http404("No such case.") from None


def queue_overview(*, user) -> list[dict]:
    """Waiting cases per department and channel, with the oldest wait: one grouped query."""
    rows = (
        cases_visible_to_agent(user=user)
        .filter(status=Case.Status.NEW)
        .values("department__name", "department__slug", "channel")
        .annotate(waiting=Count("id"), oldest=Min("queued_at"), urgent=Count("id", filter=Q(priority=1)))
        .order_by("department__name", "channel")
    )
    return list(rows)


def case_public_messages(*, case: Case, after_id: int = 0, limit: int = 200) -> list[Message]:
    """What the customer sees of a conversation: public messages (never internal notes), oldest first, one query."""
    qs = (
        Message.objects.filter(case=case, kind__in=Message.PUBLIC_KINDS, id__gt=after_id)
        .select_related("author")
        .order_by("-id")[:limit]
    )
    return list(reversed(qs))
