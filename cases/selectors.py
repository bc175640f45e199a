"""Reads of the back office. One access gate per audience, used by lists and details alike."""

from django.db.models import Count, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
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


# --- Queue board and workspace (fixed query counts; pinned in tests) -------------------------------------------


def queue_waiting(*, user, limit: int = 50) -> list[Case]:
    """The head of the visible queues, in take-next order (priority, SLA due, queue time)."""
    return list(
        cases_visible_to_agent(user=user)
        .filter(status=Case.Status.NEW)
        .select_related("customer", "department")
        .order_by("priority", "sla_due_at", "queued_at", "id")[:limit]
    )


def cases_held_by(*, user) -> list[Case]:
    return list(
        Case.objects.filter(assignee=user, status__in=(Case.Status.ASSIGNED, Case.Status.WAITING_CUSTOMER))
        .select_related("customer", "department", "callback")
        .order_by("priority", "sla_due_at", "id")
    )


def agents_board(*, user) -> list[AgentProfile]:
    """Associates of the viewer's departments (everyone for supervisors) with their presence and open load."""
    profile = agent_profile_of(user)
    if profile is None:
        return []

    # Open load per channel group as correlated subqueries on (assignee, status): a join over every case an agent
    # ever held (resolved ones included) took seconds at 1,000,000 cases (docs/BENCHMARKS.md).
    def held(*channels: str):
        open_cases = (
            Case.objects.filter(
                assignee_id=OuterRef("user_id"),
                status__in=(Case.Status.ASSIGNED, Case.Status.WAITING_CUSTOMER),
                channel__in=channels,
            )
            .order_by()
            .values("assignee_id")
            .annotate(n=Count("id"))
            .values("n")
        )
        return Coalesce(Subquery(open_cases), 0)

    qs = AgentProfile.objects.select_related("user").annotate(
        chats=held("chat"), calls=held("callback", "phone"), socials=held("social")
    )
    if not profile.is_supervisor:
        qs = qs.filter(departments__in=profile.departments.all()).distinct()
    return list(qs.order_by("presence", "user__username"))


def callback_offers_for(*, user) -> list:
    from cases.models import Callback

    return list(
        Callback.objects.filter(
            offered_to=user, status__in=(Callback.Status.OFFERED, Callback.Status.DIALING), case__assignee=user
        )
        .select_related("case", "case__customer", "case__department")
        .order_by("requested_at")
    )


def workspace_data(*, case: Case, user) -> dict:
    """Everything the case workspace shows, with a fixed number of queries whatever the history length."""
    from django.db.models import Prefetch

    from cases.models import Callback, CallbackAttempt, GoodwillCredit, Macro, Refund
    from customers.models import CarrierScan, Order, Shipment

    customer = case.customer
    orders = list(
        Order.objects.filter(customer=customer)
        .select_related("shipping_address")
        .prefetch_related(
            "items",
            Prefetch(
                "shipments",
                queryset=Shipment.objects.prefetch_related(
                    Prefetch("scans", queryset=CarrierScan.objects.order_by("occurred_at"))
                ),
            ),
        )
        .order_by("-placed_at")[:20]
    )
    subscriptions = list(customer.subscriptions.prefetch_related("charges").order_by("-started_at"))
    messages = list(case.messages.select_related("author").order_by("id"))
    events = list(case.events.select_related("actor").order_by("-id")[:100])
    earlier = list(
        Case.objects.filter(customer=customer)
        .exclude(pk=case.pk)
        .select_related("department")
        .order_by("-created_at")[:10]
    )
    refunds = list(Refund.objects.filter(customer=customer).select_related("order_item").order_by("-created_at")[:20])
    credits = list(
        GoodwillCredit.objects.filter(customer=customer).select_related("issued_by").order_by("-created_at")[:20]
    )
    macros = list(Macro.objects.filter(Q(department__isnull=True) | Q(department=case.department_id), is_active=True))
    callback = (
        Callback.objects.filter(case=case)
        .prefetch_related(Prefetch("dial_attempts", queryset=CallbackAttempt.objects.select_related("agent")))
        .first()
    )
    viewers = case_viewers(case=case, exclude_user=user)
    return {
        "orders": orders,
        "subscriptions": subscriptions,
        "chat_messages": messages,
        "events": events,
        "earlier_cases": earlier,
        "refunds": refunds,
        "credits": credits,
        "macros": macros,
        "callback": callback,
        "viewers": viewers,
        "last_id": messages[-1].pk if messages else 0,
    }


def case_viewers(*, case: Case, exclude_user=None) -> list:
    from django.utils import timezone

    from cases.models import CaseViewer
    from cases.services.workspace import VIEWER_TTL

    qs = CaseViewer.objects.filter(case=case, last_seen_at__gte=timezone.now() - VIEWER_TTL).select_related("user")
    if exclude_user is not None:
        qs = qs.exclude(user=exclude_user)
    return [v.user for v in qs]


def case_messages_after(*, case: Case, after_id: int) -> list[Message]:
    """Agent view of the conversation (notes included) after a message id: the workspace chat poll."""
    return list(case.messages.filter(id__gt=after_id).select_related("author").order_by("id")[:200])


def customer_get_for_agent(*, user, customer_id: int):
    """A customer's 360 is open to staff who can see at least one of their cases (supervisors: everyone)."""
    from customers.models import Customer

    visible = cases_visible_to_agent(user=user).filter(customer_id=customer_id)
    profile = agent_profile_of(user)
    if profile is None or not (profile.role == Role.SUPERVISOR or visible.exists()):
        raise Http404("No such customer.")
    try:
        return Customer.objects.get(pk=customer_id)
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise Http404("No such customer.") from None


def customer_orders(*, customer) -> QuerySet:
    from customers.models import Order

    return Order.objects.filter(customer=customer).prefetch_related("items").order_by("-placed_at", "-id")


def customer_shipments(*, customer) -> QuerySet:
    from customers.models import Shipment

    return (
        Shipment.objects.filter(order__customer=customer)
        .select_related("order")
        .prefetch_related("scans")
        .order_by("-id")
    )
