"""Back-office pages. Thin: parse, call one selector/service, render."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone

from cases import selectors
from cases.models import Heartbeat


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


@staff_required
def queue_overview(request):
    rows = selectors.queue_overview(user=request.user)
    now = timezone.now()
    for row in rows:
        row["oldest_wait"] = now - row["oldest"] if row["oldest"] else None
    context = {
        "rows": rows,
        "total_waiting": sum(r["waiting"] for r in rows),
        "heartbeat": Heartbeat.objects.filter(name="worker").first(),
        "now": now,
    }
    template = "cases/queue_overview.html#overview" if request.htmx else "cases/queue_overview.html"
    return render(request, template, context)
