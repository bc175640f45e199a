"""The case workspace's heavier panels, rendered as a pure function of their whole input and memoised.

The customer 360 (orders and shipments, subscription, refunds and credits, earlier cases), the conversation and
the timeline are rendered from the JSON texts of the workspace's two statements (``cases.selectors_360``) and the
few values passed with them — and from nothing else: each panel is a partial of ``cases/workspace/_panels.html``
(the conversation: ``cases/workspace.html#messages``, which the poll shares) rendered with a context built only
from those inputs, no request and no context processors. The same inputs therefore give the same HTML, and the
rendered HTML is kept in a bounded per-process LRU keyed by the inputs themselves (plus what the rendering reads
from the thread: time zone, language, URL prefix and URLconf). Nothing can be stale: every page view runs the
statements, and any change in a row is a change in the key; there is nothing to invalidate.

"Work the case" (the actions for the case's state and the viewer's role) is memoised the same way on its own whole
input; the request's CSRF token is put into it after the memo (see ``work``).

With DEBUG on (development: templates edited while the server runs) nothing is memoised.

A hit skips decoding the JSON and rendering (~half of the page's template time, docs/BENCHMARKS.md session 4); a
miss costs what rendering always did, plus hashing the texts.
"""

import functools
import json
import secrets
from decimal import Decimal
from types import SimpleNamespace
from typing import NamedTuple

from django.conf import settings
from django.template import loader
from django.urls import get_script_prefix, get_urlconf
from django.utils import timezone, translation
from django.utils.safestring import mark_safe

from cases import selectors_360

PANELS_TEMPLATE = "cases/workspace/_panels.html"
MESSAGES_TEMPLATE = "cases/workspace.html#messages"
MEMO_SIZE = 128  # entries per panel kind and process: key texts + HTML are a few KB to ~60 KB, so ≲ 10 MB a kind


class Customer360(NamedTuple):
    orders: str  # the Orders and Subscription panels
    money: str  # the refunds and credits table
    earlier: str  # the earlier cases list


class Conversation(NamedTuple):
    html: str
    shown: int  # messages shown
    hidden: bool  # older messages exist and are not shown
    last_id: int  # the newest message's id (the poll asks for what comes after it)


class Timeline(NamedTuple):
    html: str
    triage_explained: tuple[str, ...]  # the triage decision's explanation ("Why it is here")


def _environment() -> tuple:
    """What rendering reads from the thread besides its context: part of every key."""
    return (timezone.get_current_timezone_name(), translation.get_language(), get_script_prefix(), get_urlconf())


def _memo(cached):
    """The memoised function, or (DEBUG: templates are edited and reloaded while the server runs) the plain one."""
    return cached.__wrapped__ if settings.DEBUG else cached


def _render(name: str, context: dict) -> str:
    return loader.get_template(name).render(context)


def customer_360(texts: tuple[str, ...], *, order_id: int | None) -> Customer360:
    """``texts``: ``selectors_360.customer_360_texts``; ``order_id``: the case's order (opened and marked)."""
    return _memo(_customer_360)(tuple(texts), order_id, _environment())


@functools.lru_cache(maxsize=MEMO_SIZE)
def _customer_360(texts, order_id, _env) -> Customer360:
    context = {**selectors_360._shape(*(_decode(t) for t in texts)), "order_id": order_id}
    return Customer360(*(_render(f"{PANELS_TEMPLATE}#{part}", context) for part in Customer360._fields))


def conversation(text: str, *, customer_name: str, limit: int) -> Conversation:
    """``text``: the statement's latest messages, newest first (``limit`` + 1 of them read, ``limit`` shown)."""
    return _memo(_conversation)(text, customer_name, limit, _environment())


@functools.lru_cache(maxsize=MEMO_SIZE)
def _conversation(text, customer_name, limit, _env) -> Conversation:
    latest = selectors_360.shape_messages(_decode(text))
    shown = latest[:limit][::-1]
    html = _render(MESSAGES_TEMPLATE, {"chat_messages": shown, "customer_name": customer_name})
    return Conversation(html, len(shown), len(latest) > limit, shown[-1]["pk"] if shown else 0)


def timeline(text: str) -> Timeline:
    """``text``: the statement's latest events, newest first."""
    return _memo(_timeline)(text, _environment())


@functools.lru_cache(maxsize=MEMO_SIZE)
def _timeline(text, _env) -> Timeline:
    from cases.models import CaseEvent

    events = selectors_360.shape_events(_decode(text))
    explained = tuple(line for ev in events if ev["type"] == CaseEvent.Type.TRIAGE for line in ev["explained"])
    return Timeline(_render(f"{PANELS_TEMPLATE}#timeline", {"events": events}), explained)


class CaseHead(NamedTuple):
    meta: str  # status, priority, channel, department, intent and holder (the SLA countdown stays in the page)
    customer: str  # the Customer panel
    triage: str  # "Why it is here" (empty without a triage decision or escalation reasons)


def case_head(*, case, triage_explained) -> CaseHead:
    """The case's header line (but the SLA countdown, which moves with the clock, and the value at stake), the
    Customer panel and "Why it is here". Their whole input: the case's status, priority, channel, intent, department
    name, holder's username, triage and escalation reasons (as their JSON text: a key of exactly the decoded values),
    the customer's name, email, phone, social handle and since-when, and the triage explanation lines (from the
    timeline)."""
    customer = case.customer
    key = (
        case.status,
        case.priority,
        case.channel,
        case.intent,
        case.department.name,
        case.assignee.get_username() if case.assignee_id else None,
        json.dumps([case.triage, case.escalation_reasons]),
        (customer.name, customer.email, customer.phone, customer.social_handle, customer.created_at),
        tuple(triage_explained),
    )
    return _memo(_case_head)(key, _environment())


@functools.lru_cache(maxsize=MEMO_SIZE)
def _case_head(key, _env) -> CaseHead:
    from cases.models import Case

    status, priority, channel, intent, department, holder, triage_json, customer, explained = key
    triage, reasons = json.loads(triage_json)
    name, email, phone, social_handle, created_at = customer
    labels = Case(status=status, priority=priority, channel=channel, intent=intent)  # never saved: its labels
    context = {
        "case": SimpleNamespace(
            status=status, priority=priority, channel=channel, triage=triage, escalation_reasons=reasons
        ),
        "status_label": labels.get_status_display(),
        "priority_label": labels.get_priority_display(),
        "channel_label": labels.get_channel_display(),
        "intent_label": labels.get_intent_display(),
        "department": department,
        "holder": holder,
        "customer": SimpleNamespace(
            name=name, email=email, phone=phone, social_handle=social_handle, created_at=created_at
        ),
        "triage_explained": list(explained),
    }
    return CaseHead(*(_render(f"{PANELS_TEMPLATE}#{part}", context) for part in CaseHead._fields))


# "Work the case" is the same for every view of a case in one state, but for the request's CSRF token: it is rendered
# with this stand-in (random per process, so no input can contain it) and the token put in its place afterwards. The
# token is letters and digits (Django's masked token), which HTML-escaping leaves as they are.
_CSRF_STAND_IN = "rhcsrf" + secrets.token_hex(16)


def work(*, case, is_holder: bool, is_supervisor: bool, departments, reasons, csrf_token) -> str:
    """The "Work the case" panel: the actions this viewer may take on the case in its state. Its whole input is
    the case's reference and status, whether the viewer holds the case or supervises, the transfer departments and
    the resolution reasons (and the CSRF token, put in after the memo)."""
    key = (
        case.reference,
        case.status,
        case.is_open,
        is_holder,
        is_supervisor,
        tuple((d["pk"], d["name"]) for d in departments),
        tuple((str(value), str(label)) for value, label in reasons),
    )
    csrf_token = str(csrf_token or "")
    if not csrf_token.isalnum() or csrf_token == "NOTPROVIDED":  # no usable token: rendered as it is, no memo
        return _render(f"{PANELS_TEMPLATE}#work", _work_context(key, csrf_token))
    return mark_safe(_memo(_work)(key, _environment()).replace(_CSRF_STAND_IN, csrf_token))


def _work_context(key: tuple, csrf_token: str) -> dict:
    reference, status, is_open, is_holder, is_supervisor, departments, reasons = key
    return {
        "case": SimpleNamespace(reference=reference, status=status, is_open=is_open),
        "profile": SimpleNamespace(is_supervisor=is_supervisor),
        "is_holder": is_holder,
        "departments": [{"pk": pk, "name": name} for pk, name in departments],
        "reasons": list(reasons),
        "csrf_token": csrf_token,
    }


@functools.lru_cache(maxsize=MEMO_SIZE)
def _work(key: tuple, _env) -> str:
    return _render(f"{PANELS_TEMPLATE}#work", _work_context(key, _CSRF_STAND_IN))


def _decode(text: str):
    return json.loads(text, parse_float=Decimal)


def memo_clear() -> None:
    """Empty the memos (tests; templates reloaded in development)."""
    for memo in (_customer_360, _conversation, _timeline, _work, _case_head):
        memo.cache_clear()
