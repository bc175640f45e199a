"""The customer's live chat page. Reads the case only through the customer gate; posts through the live chat
service (which calls ``message_post``). Transport: long polling (``?wait=1``), woken by the message service's
publish after commit (cases/live.py; docs/WORKSPACE.md explains the choice)."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from cases import live
from cases.errors import ApplicationError
from cases.selectors import case_get_for_customer, case_public_messages, customer_chat_has_news, live_token_customer
from cases.services.live_chat import live_chat_customer_post

TEMPLATE = "escalations/live_chat.html"


def _after(request) -> int:
    try:
        return max(0, int(request.GET.get("after", "0")))
    except ValueError:
        return 0


def _context(case, messages, **extra) -> dict:
    last_id = messages[-1].pk if messages else extra.pop("after", 0)
    extra.pop("after", None)
    return {
        "case": case,
        "chat_messages": messages,
        "last_id": last_id,
        "live_state": live_token_customer(case=case),
        **extra,
    }


@login_required
@require_http_methods(["GET", "POST"])
def live_chat(request, reference: str):
    case = case_get_for_customer(user=request.user, reference=reference)
    error = ""
    if request.method == "POST":
        try:
            live_chat_customer_post(case_id=case.pk, body=request.POST.get("body", ""), author=request.user)
        except ApplicationError as exc:
            error = exc.message
        if request.htmx:
            response = render(request, f"{TEMPLATE}#chat_form", {"case": case, "error": error, "draft": ""})
            if not error:
                response["HX-Trigger"] = "chat-refresh"
            return response
        if not error:
            return redirect("escalations:live_chat", reference=case.reference)
    messages = case_public_messages(case=case)
    return render(request, TEMPLATE, _context(case, messages, error=error, draft=request.POST.get("body", "")))


@login_required
@require_GET
def live_chat_poll(request, reference: str):
    """New public messages after ``?after=<id>`` appended out of band, plus the status line and a fresh poller.

    With ``?wait=1`` (what the page sends) and nothing new since ``after`` and the status line ``state`` the page
    shows, the request waits (bounded) until the case's next public message or status change, then answers."""
    case = case_get_for_customer(user=request.user, reference=reference)
    after = _after(request)
    retry_in = None
    if request.GET.get("wait") == "1":
        state = request.GET.get("state", "")[:64]
        outcome = live.live_wait(
            case_id=case.pk,
            kinds=(live.MESSAGE, live.CASE),
            ready=lambda: customer_chat_has_news(case_id=case.pk, after_id=after, token=state),
        )
        if outcome == live.BUSY:
            retry_in = settings.RH_LIVE["BUSY_RETRY_SECONDS"]
        else:  # the status line may have changed while we waited
            case = case_get_for_customer(user=request.user, reference=reference)
    messages = case_public_messages(case=case, after_id=after)
    response = render(request, f"{TEMPLATE}#poll", _context(case, messages, after=after, retry_in=retry_in))
    live.live_done()
    return response
