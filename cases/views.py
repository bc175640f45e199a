"""Back-office pages. Thin: parse, call one selector/service, render."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from cases import selectors
from cases.errors import ApplicationError
from cases.models import AgentProfile, Channel, Heartbeat, Role
from cases.services.queue import agent_set_presence, case_take_next
from cases.services.refunds.supervision import refund_retry, refunds_needing_attention


def staff_required(view):
    """Only associates, social care and supervisors reach back-office pages (customers get 404-free 403)."""

    @login_required
    def wrapper(request, *args, **kwargs):
        if selectors.agent_profile_of(request.user) is None:
            raise PermissionDenied("Back-office pages are for associates.")
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _board_context(request) -> dict:
    board = selectors.queue_board(user=request.user)
    return {
        **board,
        "profile": selectors.agent_profile_of(request.user),
        "presence_choices": AgentProfile.Presence.choices,
        "channels": [(Channel.CHAT, "Chat"), (Channel.CALLBACK, "Callback"), (Channel.SOCIAL, "Social")],
        "now": timezone.now(),
    }


@staff_required
def queue_overview(request):
    """The queue board: depths and waits per department × channel, the head of the queue, my cases, agent states
    and callback offers. The live part refreshes itself every 3 s (htmx polling of the ``board`` partial)."""
    template = "cases/queue_overview.html#board" if request.htmx else "cases/queue_overview.html"
    return render(request, template, _board_context(request))


@staff_required
@require_POST
def take_next(request):
    try:
        case = case_take_next(user=request.user, channel=request.POST.get("channel") or None)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("cases:queues")
    messages.success(request, f"You took {case.reference}.")
    url = reverse("cases:workspace", kwargs={"reference": case.reference})
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


@staff_required
@require_POST
def presence(request):
    try:
        agent_set_presence(user=request.user, presence=request.POST.get("presence", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("cases:queues")


def supervisor_required(view):
    @staff_required
    def wrapper(request, *args, **kwargs):
        if selectors.agent_profile_of(request.user).role != Role.SUPERVISOR:
            raise PermissionDenied("This page is for supervisors.")
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


@supervisor_required
def refunds_attention(request):
    """Refunds in the dead state (FAILED, with the reason) and refunds stalled in a non-final state."""
    now = timezone.now()
    refunds = list(refunds_needing_attention(now=now)[:200])
    context = {"refunds": refunds, "now": now}
    template = "cases/refunds_attention.html#refund-list" if request.htmx else "cases/refunds_attention.html"
    return render(request, template, context)


@require_POST
@supervisor_required
def refund_retry_view(request, refund_id: int):
    try:
        retry = refund_retry(refund_id=refund_id, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Retry started as refund #{retry.pk}.")
    return redirect("cases:refunds")


SLA_PERIODS = {"1": 1, "7": 7, "30": 30}


@supervisor_required
def sla_report(request):
    """SLA attainment per channel, department and priority over a period, next breaches, breach alerts."""
    from cases.selectors_sla import sla_attainment, sla_next_breaches, sla_supervisor_alerts

    now = timezone.now()
    period = request.GET.get("days", "7")
    days = SLA_PERIODS.get(period, 7)
    since = now - timedelta(days=days)
    context = {
        "now": now,
        "days": days,
        "periods": SLA_PERIODS,
        "groups": [
            ("Channel", sla_attainment(since=since, until=now, group_by="channel")),
            ("Department", sla_attainment(since=since, until=now, group_by="department")),
            ("Priority", sla_attainment(since=since, until=now, group_by="priority")),
        ],
        "next_breaches": list(sla_next_breaches(now=now)),
        "alerts": list(sla_supervisor_alerts()),
    }
    template = "cases/sla_report.html#sla-live" if request.htmx else "cases/sla_report.html"
    return render(request, template, context)


@staff_required
def worker_heartbeat(request):
    """The staff footer's proof that a Celery worker runs what beat schedules (loaded by htmx, not on every page)."""
    beat = Heartbeat.objects.filter(name="worker").first()
    return render(request, "staff_base.html#heartbeat", {"beat": beat})
