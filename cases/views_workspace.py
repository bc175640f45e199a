"""The case workspace: one page per case, a live conversation panel (htmx long polling, cases/live.py), action forms.
Thin: every write is one service call; every read goes through the agent gate."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from cases import live, panels, selectors
from cases.errors import ApplicationError
from cases.models import Case, Macro, Message
from cases.services import workspace as ws
from cases.services.callbacks import callback_dial, callback_record_outcome
from cases.services.messages import message_post
from cases.services.queue import case_assign, case_release
from cases.services.refunds.disputes import delivery_dispute_open
from cases.views import staff_required

TEMPLATE = "cases/workspace.html"


def _case(request, reference: str) -> Case:
    return selectors.case_get_for_agent(user=request.user, reference=reference)


@staff_required
@require_GET
def workspace(request, reference: str):
    case = selectors.case_get_for_agent(
        user=request.user, reference=reference, related=selectors.WORKSPACE_CASE_RELATED
    )
    data = ws.case_workspace_open(case=case, user=request.user)  # records the viewer, reads the page's rows
    profile = selectors.agent_profile_of(request.user)
    is_holder = case.assignee_id == request.user.pk
    csrf_token = get_token(request)  # one token for the page (the memoised panel gets it put in)
    context = {
        "case": case,
        **data,
        "head": panels.case_head(case=case, triage_explained=data["triage_explained"]),
        "live_state": selectors.live_token_viewers(user_ids=[u.pk for u in data["viewers"]]),
        "work": panels.work(
            case=case,
            is_holder=is_holder,
            is_supervisor=profile.is_supervisor,
            departments=[d for d in selectors.department_choices() if d["pk"] != case.department_id],
            reasons=Case.ResolutionReason.choices,
            csrf_token=csrf_token,
        ),
        "csrf_token": csrf_token,
        "is_holder": is_holder,
        "profile": profile,
    }
    return render(request, TEMPLATE, context)


@staff_required
@require_GET
def workspace_assignees(request, reference: str):
    """The supervisor's assign control, loaded when it is opened: who can take the case, with presence and load."""
    case = _case(request, reference)
    profile = selectors.agent_profile_of(request.user)
    if not profile.is_supervisor:
        raise PermissionDenied("Only supervisors assign cases.")
    context = {"case": case, "assignable": selectors.assignable_agents(case=case)}
    return render(request, f"{TEMPLATE}#assign_form", context)


@staff_required
@require_GET
def workspace_poll(request, reference: str):
    """New messages after ``?after=<id>`` (appended out of band) and who else is viewing.

    With ``?wait=1`` (what the page sends) and nothing new since ``after`` and the viewers ``state`` the page
    shows, the request waits (bounded) for the case's next message, note or arriving viewer, then answers."""
    case = _case(request, reference)
    ws.case_viewer_touch(case=case, user=request.user)
    try:
        after = max(0, int(request.GET.get("after", "0")))
    except ValueError:
        after = 0
    retry_in = None
    if request.GET.get("wait") == "1":
        state = request.GET.get("state", "")[:512]
        outcome = live.live_wait(
            case_id=case.pk,
            kinds=(live.MESSAGE, live.NOTE, live.VIEWER),
            ready=lambda: selectors.workspace_chat_has_news(case=case, user=request.user, after_id=after, token=state),
        )
        if outcome == live.BUSY:
            retry_in = settings.RH_LIVE["BUSY_RETRY_SECONDS"]
        else:  # still allowed to see it after the wait (a transfer may have taken it away)
            case = _case(request, reference)
    new = selectors.case_messages_after(case=case, after_id=after)
    viewers = selectors.case_viewers(case=case, exclude_user=request.user)
    context = {
        "case": case,
        "chat_messages": new,
        "customer_name": case.customer.name,
        "last_id": new[-1].pk if new else after,
        "viewers": viewers,
        "live_state": selectors.live_token_viewers(user_ids=[u.pk for u in viewers]),
        "is_holder": case.assignee_id == request.user.pk,
        "retry_in": retry_in,
    }
    response = render(request, f"{TEMPLATE}#poll", context)
    live.live_done()
    return response


@staff_required
@require_POST
def workspace_reply(request, reference: str):
    """Reply to the customer (only the holder) or add an internal note (anyone who sees the case)."""
    case = _case(request, reference)
    kind = Message.Kind.NOTE if request.POST.get("kind") == "note" else Message.Kind.AGENT
    error = ""
    try:
        message_post(case_id=case.pk, kind=kind, body=request.POST.get("body", ""), author=request.user)
    except ApplicationError as exc:
        error = exc.message
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("cases:workspace", reference=case.reference)
    context = {"case": case, "error": error, "draft": request.POST.get("body", "") if error else "", "kind": kind}
    response = render(request, f"{TEMPLATE}#reply_form", context)
    if not error:
        response["HX-Trigger"] = "chat-refresh"
    return response


@staff_required
@require_GET
def macro_fill(request, reference: str):
    case = _case(request, reference)
    macro = Macro.objects.filter(pk=request.GET.get("macro") or 0, is_active=True).first()
    draft = ws.macro_render(macro=macro, case=case, agent=request.user) if macro else ""
    return render(request, f"{TEMPLATE}#reply_form", {"case": case, "draft": draft, "kind": "agent"})


def _dispatch(action: str, case: Case, post, user):
    if action == "transfer":
        return ws.case_transfer(
            case_id=case.pk, department_id=int(post.get("department") or 0), actor=user, note=post.get("note", "")
        )
    if action == "escalate":
        return ws.case_escalate(case_id=case.pk, to=post.get("to", ""), actor=user, note=post.get("note", ""))
    if action == "merge":
        return ws.case_merge(case_id=case.pk, into_reference=post.get("into", ""), actor=user)
    if action == "wait":
        return ws.case_wait_on_customer(case_id=case.pk, actor=user)
    if action == "resolve":
        return ws.case_resolve(case_id=case.pk, reason=post.get("reason", ""), actor=user, note=post.get("note", ""))
    if action == "reopen":
        return ws.case_reopen(case_id=case.pk, actor=user)
    if action == "release":
        return case_release(case_id=case.pk, actor=user, reason=post.get("note", ""))
    if action == "assign":
        from django.contrib.auth import get_user_model

        assignee = get_user_model().objects.filter(pk=int(post.get("assignee") or 0)).first()
        if assignee is None:
            raise ApplicationError("Choose an associate.", fields={"assignee": ["Not a valid choice."]})
        return case_assign(case_id=case.pk, assignee=assignee, actor=user)
    if action == "dial":
        return callback_dial(callback_id=case.callback.pk, actor=user)
    if action == "outcome":
        return callback_record_outcome(
            callback_id=case.callback.pk, outcome=post.get("outcome", ""), actor=user, note=post.get("note", "")
        )
    if action == "delivery_check":
        if case.order_item_id is None:
            raise ApplicationError("This case is not about an order item.", code="no_order_item")
        return delivery_dispute_open(customer=case.customer, order_item=case.order_item, actor=user, case=case)
    raise ApplicationError("Unknown action.", code="unknown_action")


ACTION_DONE = {
    "transfer": "Transferred.",
    "escalate": "Escalated.",
    "merge": "Merged.",
    "wait": "Waiting on the customer: the SLA clock is paused.",
    "resolve": "Resolved.",
    "reopen": "Reopened.",
    "release": "Released to the queue.",
    "assign": "Assigned.",
    "dial": "Dialing…",
    "outcome": "Outcome recorded.",
    "delivery_check": "Delivery evidence is being checked: the verdict appears on the timeline.",
}


@staff_required
@require_POST
def case_action(request, reference: str, action: str):
    """Workspace buttons. A broken rule becomes a message on the page; nothing is half-written (one service,
    one transaction)."""
    case = _case(request, reference)
    try:
        if action in ("dial", "outcome") and not hasattr(case, "callback"):
            raise ApplicationError("This case has no callback.", code="no_callback")
        _dispatch(action, case, request.POST, request.user)
    except (ApplicationError, ValueError) as exc:
        messages.error(request, getattr(exc, "message", "Check the form and try again."))
    else:
        messages.success(request, ACTION_DONE.get(action, "Done."))
    return redirect("cases:workspace", reference=case.reference)
