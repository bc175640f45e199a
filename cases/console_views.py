"""Supervisor console (credits, refunds, approvals, anomalies, limits, CSV, dashboard) and the case credit panel.

Thin views: parse with a form, call one selector or service, render the page or its htmx partial.
"""

import csv
from datetime import UTC, datetime, time, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from cases import charts
from cases import console_selectors as sel
from cases.console_forms import (
    CreditFilterForm,
    CreditGrantForm,
    CreditLimitForm,
    DecisionForm,
    NoteForm,
    RefundFilterForm,
    RoleForm,
)
from cases.errors import ApplicationError
from cases.models import GoodwillCredit
from cases.selectors import case_get_for_agent
from cases.services import credits as credit_services
from cases.views import staff_required

PAGE_SIZE = 100


def client_ip(request) -> str | None:
    """Where the request came from, for the audit log. REMOTE_ADDR: a proxy in front must set it (see docs)."""
    return request.META.get("REMOTE_ADDR") or None


def supervisor_required(view):
    @staff_required
    def wrapper(request, *args, **kwargs):
        if not sel.is_supervisor(request.user):
            raise PermissionDenied("The console is for supervisors.")
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _page(request, qs):
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


# --- credits ------------------------------------------------------------------------------------------------------


@require_GET
@supervisor_required
def credits_list(request):
    form = CreditFilterForm(request.GET or None)
    qs = sel.credits_for_console(user=request.user, filters=form.filters())
    context = {
        "form": form,
        "page": _page(request, qs),
        "totals": sel.credit_totals_per_agent(qs),
        "query": _query_without_page(request),
        "section": "credits",
    }
    template = "cases/console/credits.html#results" if request.htmx else "cases/console/credits.html"
    return render(request, template, context)


def _safe_cell(value) -> str:
    """Spreadsheet-safe CSV cell: a leading = + - @ would be run as a formula by Excel/Sheets."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    def write(self, value):
        return value


def _csv_response(filename: str, header: list[str], rows) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def stream():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([_safe_cell(v) for v in row])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@supervisor_required
def credits_csv(request):
    form = CreditFilterForm(request.GET or None)
    qs = sel.credits_for_console(user=request.user, filters=form.filters())
    header = ["id", "created_at_utc", "kind", "reverses", "status", "amount", "currency", "reason", "agent", "role"]
    header += ["decided_by", "decided_at_utc", "customer", "case", "department", "note"]
    rows = (
        [
            c.pk,
            c.created_at.astimezone(UTC).isoformat(),
            c.kind,
            c.reverses_id or "",
            c.status,
            c.amount,
            c.currency,
            c.reason_code,
            c.issued_by.get_username(),
            c.issued_by_role,
            c.decided_by.get_username() if c.decided_by else "",
            c.decided_at.astimezone(UTC).isoformat() if c.decided_at else "",
            c.customer.name,
            c.case.reference if c.case else "",
            c.case.department.name if c.case else "",
            c.note,
        ]
        for c in qs.iterator(chunk_size=2000)
    )
    return _csv_response("credits.csv", header, rows)


# --- refunds ------------------------------------------------------------------------------------------------------


@require_GET
@supervisor_required
def refunds_list(request):
    form = RefundFilterForm(request.GET or None)
    qs = sel.refunds_for_console(user=request.user, filters=form.filters())
    context = {"form": form, "page": _page(request, qs), "query": _query_without_page(request), "section": "refunds"}
    template = "cases/console/refunds.html#results" if request.htmx else "cases/console/refunds.html"
    return render(request, template, context)


@require_GET
@supervisor_required
def refunds_csv(request):
    form = RefundFilterForm(request.GET or None)
    qs = sel.refunds_for_console(user=request.user, filters=form.filters())
    header = ["id", "created_at_utc", "status", "amount", "currency", "source", "requested_by", "customer", "case"]
    header += ["department", "reason", "provider_ref"]
    rows = (
        [
            r.pk,
            r.created_at.astimezone(UTC).isoformat(),
            r.status,
            r.amount,
            r.currency,
            r.source,
            r.requested_by.get_username() if r.requested_by else "",
            r.customer.name,
            r.case.reference if r.case else "",
            r.case.department.name if r.case else "",
            r.reason,
            r.provider_ref,
        ]
        for r in qs.iterator(chunk_size=2000)
    )
    return _csv_response("refunds.csv", header, rows)


# --- approvals ----------------------------------------------------------------------------------------------------


@require_GET
@supervisor_required
def approvals(request):
    context = {"pending": sel.approval_queue(user=request.user)[:200], "section": "approvals"}
    return render(request, "cases/console/approvals.html", context)


@require_POST
@supervisor_required
def approval_decide(request, credit_id: int):
    form = DecisionForm(request.POST)
    credit = None
    error = ""
    status = 200
    if not form.is_valid():
        error, status = "Choose approve or reject.", 400
    else:
        service = (
            credit_services.credit_approve
            if form.cleaned_data["decision"] == "approve"
            else credit_services.credit_reject
        )
        try:
            credit = service(
                credit_id=credit_id, actor=request.user, note=form.cleaned_data["note"], ip_address=client_ip(request)
            )
        except ApplicationError as exc:
            error, status = exc.message, exc.http_status
    if credit is None:
        credit = sel.approval_queue(user=request.user).filter(pk=credit_id).first() or (
            GoodwillCredit.objects.select_related("issued_by", "customer", "case", "case__department")
            .filter(pk=credit_id)
            .first()
        )
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("cases:console_approvals")
    response = render(request, "cases/console/approvals.html#row", {"c": credit, "error": error}, status=status)
    if status != 200:
        # htmx does not swap 4xx by default: re-target the row so the supervisor sees why.
        response["HX-Retarget"] = f"#credit-{credit_id}"
        response["HX-Reswap"] = "outerHTML"
    return response


# --- anomalies ----------------------------------------------------------------------------------------------------


def _period(request, default_days: int = 30) -> tuple[datetime, datetime, int]:
    try:
        days = max(1, min(366, int(request.GET.get("days", default_days))))
    except ValueError:
        days = default_days
    until = datetime.combine(timezone.now().astimezone(UTC).date() + timedelta(days=1), time.min, tzinfo=UTC)
    return until - timedelta(days=days), until, days


@require_GET
@supervisor_required
def anomalies(request):
    since, until, days = _period(request)
    context = {
        "flags": sel.credit_anomalies(user=request.user, since=since, until=until),
        "days": days,
        "since": since,
        "section": "anomalies",
        "z_threshold": sel.Z_THRESHOLD,
    }
    return render(request, "cases/console/anomalies.html", context)


# --- limits and roles ---------------------------------------------------------------------------------------------


@supervisor_required
def limits(request):
    form = CreditLimitForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                credit_services.credit_limit_set(**form.cleaned_data, actor=request.user, ip_address=client_ip(request))
                messages.success(request, "Limit saved.")
                return redirect("cases:console_limits")
            except ApplicationError as exc:
                for name, errors in exc.fields.items():
                    form.add_error(name if name in form.fields else None, errors)
                if not exc.fields:
                    form.add_error(None, exc.message)
    context = {
        "form": form,
        "limits": sel.credit_limits(user=request.user),
        "agents": sel.agents_with_roles(user=request.user),
        "roles": RoleForm.base_fields["role"].choices,
        "section": "limits",
    }
    return render(request, "cases/console/limits.html", context, status=400 if form.errors else 200)


@require_POST
@supervisor_required
def agent_role(request, agent_id: int):
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid role.")
    else:
        try:
            credit_services.agent_role_set(
                agent_id=agent_id, role=form.cleaned_data["role"], actor=request.user, ip_address=client_ip(request)
            )
            messages.success(request, "Role changed.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return redirect("cases:console_limits")


# --- dashboard ----------------------------------------------------------------------------------------------------


@require_GET
@supervisor_required
def dashboard(request):
    since, until, days = _period(request, default_days=14)
    sla_rows = sel.sla_attainment_by_channel(user=request.user, since=since)
    backlog = sel.backlog_by_queue(user=request.user)
    over_time = sel.credits_per_agent_over_time(user=request.user, since=since, until=until)
    context = {
        "days": days,
        "sla_rows": sla_rows,
        "sla_chart": charts.attainment_chart(
            sla_rows, title=f"First-response SLA attainment by channel, last {days} days"
        ),
        "backlog": backlog,
        "backlog_chart": charts.hbar_chart(
            [(r["department__name"], r["open"]) for r in backlog], title="Open cases by queue"
        ),
        "credits_chart": charts.line_chart(
            over_time["days"],
            over_time["series"],
            title=f"Approved credits per agent per day (USD), last {days} days",
            width=1100,
            height=300,
        ),
        "pending_count": sel.approval_queue(user=request.user).count(),
        "section": "dashboard",
    }
    return render(request, "cases/console/dashboard.html", context)


# --- the case credit panel (for associates; included in the case workspace) ---------------------------------------


def _case_panel_context(request, case, form=None, error=""):
    return {
        "case": case,
        "credits": sel.credits_for_case(case=case),
        "form": form or CreditGrantForm(),
        "error": error,
        "reverse_form": NoteForm(),
    }


@staff_required
def case_credits(request, case_id: int):
    case = case_get_for_agent(user=request.user, case_id=case_id)
    form = CreditGrantForm(request.POST or None)
    error, status = "", 200
    if request.method == "POST":
        if form.is_valid():
            try:
                credit = credit_services.credit_grant(
                    case_id=case.pk, **form.cleaned_data, actor=request.user, ip_address=client_ip(request)
                )
                if credit.status == GoodwillCredit.Status.PENDING:
                    messages.info(request, f"Above your limit: ${credit.amount} is waiting for a supervisor.")
                else:
                    messages.success(request, f"Credit of ${credit.amount} issued; the customer has been told.")
                if not request.htmx:
                    return redirect("cases:case_credits", case_id=case.pk)
                form = CreditGrantForm()
            except ApplicationError as exc:
                error, status = exc.message, exc.http_status
                for name, errors in exc.fields.items():
                    if name in form.fields:
                        form.add_error(name, errors)
        else:
            status = 400
    context = _case_panel_context(request, case, form=form, error=error)
    template = "cases/credits/case_credits.html#credit_panel" if request.htmx else "cases/credits/case_credits.html"
    response = render(request, template, context, status=status)
    if request.htmx and status != 200:
        response["HX-Retarget"] = "#credit-panel"
        response["HX-Reswap"] = "outerHTML"
    return response


@require_POST
@staff_required
def credit_reverse(request, case_id: int, credit_id: int):
    case = case_get_for_agent(user=request.user, case_id=case_id)
    form = NoteForm(request.POST)
    error, status = "", 200
    if not form.is_valid():
        error, status = "Write why the credit is reversed.", 400
    elif not GoodwillCredit.objects.filter(pk=credit_id, case=case).exists():
        error, status = "No such credit on this case.", 404
    else:
        try:
            credit_services.credit_reverse(
                credit_id=credit_id, actor=request.user, note=form.cleaned_data["note"], ip_address=client_ip(request)
            )
            messages.success(request, "Credit reversed; the customer has been told.")
        except ApplicationError as exc:
            error, status = exc.message, exc.http_status
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("cases:case_credits", case_id=case.pk)
    response = render(
        request,
        "cases/credits/case_credits.html#credit_panel",
        _case_panel_context(request, case, error=error),
        status=status,
    )
    if status != 200:
        response["HX-Retarget"] = "#credit-panel"
        response["HX-Reswap"] = "outerHTML"
    return response
