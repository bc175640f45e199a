"""The customer's portal: My cases, case detail with its public timeline, Message Center, refunds and credits,
Call Me Now. Reads cases only through the customer gate (``case_get_for_customer``): another customer's case,
a guessed reference or an id all give the same 404."""

import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from cases.errors import ApplicationError
from cases.models import Department, Message
from cases.selectors import case_get_for_customer, cases_visible_to_customer
from cases.selectors_customer import (
    case_public_timeline,
    customer_money,
    customer_notifications,
    customer_unread_count,
)
from cases.services.callbacks import callback_request
from cases.services.customer import case_can_reopen, case_reopen_by_customer, notifications_mark_read
from cases.services.messages import message_post

from .access import customer_required
from .forms import CallbackForm, CustomerSignInForm, ReopenForm, ReplyForm, SettlementClaimForm
from .services.intake import intake_settlement_claim

CALLBACK_RING_SECONDS = 60


def _render(request, template, context):
    context.setdefault("unread", customer_unread_count(customer=request.customer))
    return render(request, template, context)


class CustomerSignInView(auth_views.LoginView):
    template_name = "escalations/portal/signin.html"
    authentication_form = CustomerSignInForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return reverse("escalations:my_cases")


@customer_required
def my_cases(request):
    cases = cases_visible_to_customer(user=request.user).select_related("department").order_by("-created_at")[:50]
    return _render(request, "escalations/portal/my_cases.html", {"cases": cases})


def _case_context(request, case, **extra):
    context = {
        "case": case,
        "timeline": case_public_timeline(case=case),
        "can_reopen": case_can_reopen(case=case),
        "reply_form": ReplyForm(),
        "reopen_form": ReopenForm(),
    }
    context.update(extra)
    return context


@customer_required
def case_detail(request, reference):
    case = case_get_for_customer(user=request.user, reference=reference)
    context = _case_context(request, case)
    if request.htmx:
        return render(request, "escalations/portal/case_detail.html#timeline", context)
    return _render(request, "escalations/portal/case_detail.html", context)


@customer_required
@require_POST
def case_reply(request, reference):
    case = case_get_for_customer(user=request.user, reference=reference)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            message_post(
                case_id=case.pk, kind=Message.Kind.CUSTOMER, body=form.cleaned_data["body"], author=request.user
            )
        except ApplicationError as exc:
            form.add_error("body", exc.message)
        else:
            if not request.htmx:
                messages.success(request, "Your reply was sent.")
                return redirect("escalations:case_detail", reference=case.reference)
            case.refresh_from_db()
            form = ReplyForm()
    context = _case_context(request, case, reply_form=form)
    if request.htmx:
        return render(request, "escalations/portal/case_detail.html#conversation", context)
    return _render(request, "escalations/portal/case_detail.html", context)


@customer_required
@require_POST
def case_reopen(request, reference):
    case = case_get_for_customer(user=request.user, reference=reference)
    form = ReopenForm(request.POST)
    if form.is_valid():
        try:
            case_reopen_by_customer(case_id=case.pk, actor=request.user, reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Your case is open again. An associate will pick it up.")
    return redirect("escalations:case_detail", reference=case.reference)


@customer_required
def message_center(request):
    notes = list(customer_notifications(customer=request.customer)[:100])
    unread_ids = [n.pk for n in notes if n.read_at is None]
    response = _render(request, "escalations/portal/message_center.html", {"notes": notes, "unread": len(unread_ids)})
    if unread_ids:
        notifications_mark_read(customer=request.customer, notification_ids=unread_ids)
    return response


@customer_required
def money(request):
    return _render(request, "escalations/portal/money.html", {"rows": customer_money(customer=request.customer)})


@customer_required
def callback_new(request):
    form = CallbackForm(request.POST or None, initial={"phone": request.customer.phone})
    if request.method == "POST" and form.is_valid():
        department = Department.objects.filter(slug="general").first()
        if department is None:
            form.add_error(None, "Callbacks are not available right now. Please start a chat instead.")
        else:
            try:
                with transaction.atomic():
                    case = callback_request(
                        customer=request.customer,
                        phone=form.cleaned_data["phone"],
                        department=department,
                        subject="Call me now: " + (form.cleaned_data["topic"] or "help with my account"),
                        first_message=form.cleaned_data["topic"],
                        actor=request.user,
                    )
            except (ValidationError, ApplicationError) as exc:
                form.add_error("phone", getattr(exc, "message", None) or "; ".join(exc.messages))
            else:
                messages.success(request, f"Your phone should ring within {CALLBACK_RING_SECONDS} seconds.")
                return redirect("escalations:case_detail", reference=case.reference)
    return _render(request, "escalations/portal/callback.html", {"form": form, "ring_seconds": CALLBACK_RING_SECONDS})


@customer_required
def claim_new(request):
    """Settlement claim form: one claims case per submission (the hidden token makes a double submit harmless)."""
    if request.method == "POST":
        form = SettlementClaimForm(request.POST)
    else:
        form = SettlementClaimForm(initial={"token": secrets.token_urlsafe(16), "membership_email": request.user.email})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        body = (
            f"Membership e-mail: {data['membership_email']}\n"
            f"Charged from {data['period_start']:%Y-%m-%d} until {data['period_end']:%Y-%m-%d}\n\n{data['details']}"
        )
        try:
            result = intake_settlement_claim(
                event_id=f"portal-claim:{request.customer.pk}:{data['token']}",
                customer=request.customer,
                subject="Subscription settlement claim",
                body=body,
                claim_number=data["claim_number"],
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                f"Your claim was received as {result.case.reference}. Claims are answered within business days.",
            )
            return redirect("escalations:case_detail", reference=result.case.reference)
    context = {"form": form, "claims_email": settings.RH["CLAIMS_EMAIL"]}
    return _render(request, "escalations/portal/claim.html", context)
