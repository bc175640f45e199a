"""Front-door pages: the help flow. The customer's portal pages live in ``views_portal``, live chat in
``views_live_chat``. Cases are read only through the customer gate; every write is one service call.

Help flow: Customer Service → Something Else → I need more help → assistant chat (htmx) → "Request a phone call"
→ phone form → Call me now (callback case), or the transfer offer → live-chat case. Plus an always-open
"Report phishing / suspicious activity" form that opens an urgent fraud case."""

import secrets

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods, require_POST

from cases.errors import ApplicationError
from cases.models import Channel
from cases.selectors import case_get_for_customer

from .access import customer_required
from .forms import ChatMessageForm, PhishingReportForm, PhoneForm
from .selectors import conversation_get_for_customer, conversation_transcript
from .services.assistant import (
    conversation_escalate,
    conversation_offers,
    conversation_reply,
    conversation_request_callback,
    conversation_start,
)
from .services.intake import intake_fraud_report


@customer_required
def help_home(request):
    return render(request, "escalations/help_home.html")


@customer_required
@require_http_methods(["GET", "POST"])
def help_something_else(request):
    if request.method == "POST":
        conversation = conversation_start(customer=request.customer)
        return redirect("escalations:help_chat", pk=conversation.pk)
    return render(request, "escalations/help_something_else.html")


def _chat_context(request, conversation, *, form=None, phone_form=None, error=""):
    return {
        "conversation": conversation,
        "transcript": conversation_transcript(conversation=conversation),
        "offers": conversation_offers(conversation=conversation),
        "form": form or ChatMessageForm(),
        "phone_form": phone_form or PhoneForm(),
        "error": error,
    }


def _render_chat(request, conversation, *, status=200, **kwargs):
    template = "escalations/help_chat.html#chat" if request.htmx else "escalations/help_chat.html"
    return render(request, template, _chat_context(request, conversation, **kwargs), status=status)


@customer_required
@require_http_methods(["GET", "POST"])
def help_chat(request, pk: int):
    conversation = conversation_get_for_customer(customer=request.customer, conversation_id=pk)
    if request.method == "GET":
        return _render_chat(request, conversation)
    form = ChatMessageForm(request.POST)
    if not form.is_valid():
        return _render_chat(request, conversation, form=form, status=400)
    try:
        conversation_reply(conversation_id=conversation.pk, customer=request.customer, text=form.cleaned_data["text"])
    except ApplicationError as exc:
        conversation.refresh_from_db()
        return _render_chat(request, conversation, form=form, error=exc.message, status=400)
    conversation.refresh_from_db()
    if not request.htmx:
        return redirect("escalations:help_chat", pk=conversation.pk)
    return _render_chat(request, conversation)


@customer_required
@require_POST
def help_callback(request, pk: int):
    conversation = conversation_get_for_customer(customer=request.customer, conversation_id=pk)
    phone_form = PhoneForm(request.POST)
    if not phone_form.is_valid():
        return _render_chat(request, conversation, phone_form=phone_form, status=400)
    try:
        case = conversation_request_callback(
            conversation_id=conversation.pk, customer=request.customer, phone=phone_form.cleaned_data["phone"]
        )
    except ApplicationError as exc:
        for message in exc.fields.get("phone", [exc.message]):
            phone_form.add_error("phone", message)
        return _render_chat(request, conversation, phone_form=phone_form, status=400)
    return redirect("escalations:help_callback_requested", reference=case.reference)


@customer_required
def help_callback_requested(request, reference: str):
    case = case_get_for_customer(user=request.user, reference=reference)
    return render(request, "escalations/help_callback_requested.html", {"case": case})


def _live_chat_url(case) -> str:
    try:
        return reverse("escalations:live_chat", kwargs={"reference": case.reference})
    except NoReverseMatch:
        return reverse("escalations:my_cases")


@customer_required
@require_POST
def help_transfer(request, pk: int):
    conversation = conversation_get_for_customer(customer=request.customer, conversation_id=pk)
    try:
        case = conversation_escalate(conversation_id=conversation.pk, customer=request.customer)
    except ApplicationError as exc:
        return _render_chat(request, conversation, error=exc.message, status=400)
    messages.success(
        request, f"Your chat is with our team now (case {case.reference}). An associate will join in a few minutes."
    )
    return redirect(_live_chat_url(case))


@customer_required
@require_http_methods(["GET", "POST"])
def report_phishing(request):
    """Always open (24/7): an urgent case in the fraud queue. The hidden token makes a double submit harmless."""
    if request.method == "GET":
        form = PhishingReportForm(initial={"token": secrets.token_urlsafe(16)})
        return render(request, "escalations/report_phishing.html", {"form": form})
    form = PhishingReportForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        prefix = "Suspicious account activity: " if data["kind"] == "account" else ""
        try:
            result = intake_fraud_report(
                event_id=f"web:{request.customer.pk}:{data['token']}",
                customer=request.customer,
                text=prefix + data["text"],
                url=data["url"],
                channel=Channel.WEB,
            )
        except ApplicationError as exc:
            for field, errors in exc.fields.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
            if not exc.fields:
                form.add_error(None, exc.message)
        else:
            return render(request, "escalations/report_phishing_done.html", {"case": result.case})
    return render(request, "escalations/report_phishing.html", {"form": form}, status=400)
