"""The workspace's memoised panels (cases.panels): the HTML is a pure function of the key, so every input the panel
reads must be in the key — change any one of them and the HTML changes; nothing a page shows can be stale."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import panels, selectors_360
from cases.models import Message
from cases.tests import test_workspace_360
from cases.tests.factories import CaseFactory
from customers.models import Order

pytestmark = pytest.mark.django_db

world = test_workspace_360.world  # the fixture: a customer with orders, shipments, scans, charges, refunds, credits


@pytest.fixture(autouse=True)
def _empty_memos():
    panels.memo_clear()
    yield
    panels.memo_clear()


def _texts(case):
    return selectors_360.customer_360_texts(customer_id=case.customer_id, case_id=case.pk)


def _edit(texts, index, change):
    """The texts with list ``index`` decoded, changed by ``change`` and encoded again (as the statement would send
    it after that change in the rows)."""
    lists = [json.loads(t) for t in texts]
    change(lists[index])
    return tuple(t if i != index else json.dumps(lists[index]) for i, t in enumerate(texts))


def test_same_input_same_html_from_the_memo(world):
    case = world["case"]
    texts = _texts(case)
    first = panels.customer_360(texts, order_id=case.order_id)
    assert panels.customer_360(tuple(texts), order_id=case.order_id) is first  # a hit: not rendered again
    assert panels._customer_360.cache_info().hits == 1
    assert panels._customer_360.cache_info().maxsize == panels.MEMO_SIZE  # bounded


def _set(key, value, at=0):
    def change(rows):
        rows[at][key] = value

    return change


def _set_item(pos, value, at=0):
    def change(rows):
        rows[at][pos] = value

    return change


@pytest.mark.parametrize(
    "index, change",
    [
        (0, _set("number", "999-CHANGED")),  # orders
        (0, _set("status", "cancelled")),
        (0, _set("total", 1.23)),
        (0, _set("placed_at", "2020-01-02T03:04:05+00:00")),
        (0, lambda rows: rows[0]["items"].append(["Spare part", 1, 2.5])),
        (0, lambda rows: rows[0]["shipments"][0][4][0].__setitem__(2, "Another hub")),  # a scan's location
        (1, _set("plan", "Music")),  # subscriptions
        (1, lambda rows: rows[0]["charges"][0].__setitem__(1, 99.99)),
        (1, _set("charge_count", 20)),
        (2, _set_item(1, 1.11)),  # refunds: amount
        (2, _set_item(2, "failed")),
        (3, _set_item(2, "somebody-else")),  # credits: issued by
        (3, _set_item(4, "reversed")),
        (4, _set_item(1, "Another subject")),  # earlier cases
        (4, _set_item(2, "new")),
    ],
)
def test_any_change_in_the_rows_changes_the_html(world, index, change):
    case = world["case"]
    texts = _texts(case)
    before = panels.customer_360(texts, order_id=case.order_id)
    after = panels.customer_360(_edit(texts, index, change), order_id=case.order_id)
    assert before != after


def test_the_cases_order_is_in_the_key(world):
    case = world["case"]
    texts = _texts(case)
    mine = panels.customer_360(texts, order_id=case.order_id)
    other = panels.customer_360(texts, order_id=None)
    assert "this case" in mine.orders and "this case" not in other.orders


def test_the_time_zone_is_in_the_key(world):
    case = world["case"]
    Order.objects.filter(pk=case.order_id).update(placed_at=datetime(2026, 3, 1, 2, 0, tzinfo=UTC))
    texts = _texts(case)
    utc = panels.customer_360(texts, order_id=case.order_id)
    with timezone.override("America/New_York"):
        new_york = panels.customer_360(texts, order_id=case.order_id)
    assert "Mar 1" in utc.orders and "Feb 28" in new_york.orders


def test_the_conversation_key_covers_messages_customer_and_limit(agent, department):
    case = CaseFactory(department=department, status="assigned", assignee=agent)
    for i in range(3):
        Message.objects.create(case=case, kind="customer", body=f"hello {i}")
    texts = selectors_360.case_rows_texts(case_id=case.pk, viewer_id=agent.pk, since=timezone.now(), messages=10)
    base = panels.conversation(texts[0], customer_name="Dana", limit=9)
    assert base.shown == 3 and not base.hidden and "Dana" in base.html
    assert panels.conversation(texts[0], customer_name="Dora", limit=9).html != base.html
    fewer = panels.conversation(texts[0], customer_name="Dana", limit=2)
    assert fewer.shown == 2 and fewer.hidden and fewer.html != base.html
    Message.objects.create(case=case, kind="note", body="a note", author=agent)
    texts2 = selectors_360.case_rows_texts(case_id=case.pk, viewer_id=agent.pk, since=timezone.now(), messages=10)
    newer = panels.conversation(texts2[0], customer_name="Dana", limit=9)
    assert "a note" in newer.html and newer.last_id > base.last_id


def test_the_timeline_key_is_its_events(world):
    case = world["case"]
    texts = selectors_360.case_rows_texts(case_id=case.pk, viewer_id=0, since=timezone.now(), messages=1)
    timeline = panels.timeline(texts[1])
    assert timeline.triage_explained == ("Delivered scan 1 day ago",)
    changed = _edit(texts, 1, lambda rows: rows[0].__setitem__(5, ["Another reason"]))
    other = panels.timeline(changed[1])
    assert other.triage_explained == ("Another reason",) and other.html != timeline.html


def test_the_orm_rows_render_the_same_panels_as_the_statement(world):
    """SQLite (embedded) feeds the memo the ORM's rows in the statement's format: the same HTML."""
    case = world["case"]
    rows = selectors_360.customer_360_rows_orm(customer_id=case.customer_id, case_id=case.pk)
    orm_texts = tuple(json.dumps(r, default=str) for r in rows)
    assert panels.customer_360(orm_texts, order_id=case.order_id) == panels.customer_360(
        _texts(case), order_id=case.order_id
    )


def test_the_page_shows_a_change_at_once(client, agent, world):
    """Rows changed behind the ORM's back (QuerySet.update: no signal) show on the next page view."""
    case = world["case"]
    client.force_login(agent)
    url = reverse("cases:workspace", kwargs={"reference": case.reference})
    assert "222-NEW" in client.get(url).content.decode()
    Order.objects.filter(pk=case.order_id).update(number="333-RENAMED", total=Decimal("1.00"))
    body = client.get(url).content.decode()
    assert "333-RENAMED" in body and "222-NEW" not in body
    Message.objects.create(case=case, kind="customer", body="still waiting")
    assert "still waiting" in client.get(url).content.decode()


def _work(**changes):
    inputs = {
        "case": SimpleNamespace(reference="CS-2026-000001", status="assigned", is_open=True),
        "is_holder": True,
        "is_supervisor": False,
        "departments": [{"pk": 1, "name": "Billing"}],
        "reasons": [("solved", "Solved")],
        "csrf_token": "abc123",
    }
    inputs.update(changes)
    return panels.work(**inputs)


@pytest.mark.parametrize(
    "change",
    [
        {"case": SimpleNamespace(reference="CS-2026-000002", status="assigned", is_open=True)},
        {"case": SimpleNamespace(reference="CS-2026-000001", status="waiting_customer", is_open=True)},
        {"case": SimpleNamespace(reference="CS-2026-000001", status="resolved", is_open=False)},
        {"is_holder": False},
        {"is_supervisor": True},
        {"departments": [{"pk": 1, "name": "Billing"}, {"pk": 2, "name": "Pharmacy"}]},
        {"departments": [{"pk": 3, "name": "Billing"}]},
        {"reasons": [("solved", "Solved"), ("duplicate", "Duplicate")]},
        {"csrf_token": "xyz789"},
    ],
)
def test_any_input_of_the_work_panel_changes_it(change):
    assert _work(**change) != _work()


def test_the_work_panel_carries_the_requests_token():
    html = _work(csrf_token="Tok3n")
    assert 'name="csrfmiddlewaretoken" value="Tok3n"' in html and panels._CSRF_STAND_IN not in html
    assert _work(csrf_token="Other") == html.replace("Tok3n", "Other")  # from the memo, another token put in


def test_the_pages_forms_post_with_its_token(agent, department):
    """Every form of the page carries the one token of the request, and it passes the CSRF check."""
    import re

    from django.test import Client

    case = CaseFactory(department=department, status="assigned", assignee=agent)
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    body = client.get(reverse("cases:workspace", kwargs={"reference": case.reference})).content.decode()
    tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', body))
    assert len(tokens) == 1
    (token,) = tokens
    response = client.post(
        reverse("cases:case_action", kwargs={"reference": case.reference, "action": "wait"}),
        {"csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == "waiting_customer"


def test_nothing_is_memoised_with_debug_on(world, settings):
    settings.DEBUG = True  # development: templates change while the server runs
    case = world["case"]
    first = panels.customer_360(_texts(case), order_id=case.order_id)
    assert panels.customer_360(_texts(case), order_id=case.order_id) == first
    assert panels._customer_360.cache_info().currsize == 0


# The case head as it was inline in cases/workspace.html before it was memoised (session 5): the memo must render
# exactly this, from the case itself.
_INLINE_HEAD = {
    "meta": """<span class="badge s-{{ case.status }}" id="case-status">{{ case.get_status_display }}</span>
      <span class="pri p{{ case.priority }}">{{ case.get_priority_display }}</span>
      <span class="chan {{ case.channel }}">{{ case.get_channel_display }}</span>
      <span>{{ case.department.name }}</span>
      <span>Intent: {{ case.get_intent_display }}</span>
      <span>With: <strong>{{ case.assignee.get_username|default:"nobody (in queue)" }}</strong></span>""",
    "customer": """<section class="panel">
      <h2>Customer</h2>
      <p><strong>{{ case.customer.name }}</strong><br>{{ case.customer.email }}<br>{{ case.customer.phone|default:"no phone" }}{% if case.customer.social_handle %} · {{ case.customer.social_handle }}{% endif %}<br>
      <span class="muted">Customer since {{ case.customer.created_at|date:"M Y" }}</span></p>
    </section>""",
    "triage": """{% if case.triage or case.escalation_reasons %}
    <details class="triage"><summary>Why it is here: {% for r in case.escalation_reasons %}<span class="badge">{{ r.trigger|default:r.code|default:r }}</span> {% endfor %}{% if case.triage.intent %}<span class="muted">intent {{ case.triage.intent }}{% if case.triage.confidence %} ({{ case.triage.confidence }}){% endif %}</span>{% endif %}</summary>
      <ul class="explained">
      {% for line in triage_explained %}<li>{{ line }}</li>{% endfor %}
      {% for r in case.escalation_reasons %}{% if r.detail %}<li>{{ r.detail }}</li>{% endif %}{% endfor %}
      </ul>
      {% if case.triage.delivery_evidence %}<p class="small"><strong>Delivery evidence:</strong> {% for k, v in case.triage.delivery_evidence.items %}{{ k }}: {{ v }}{% if not forloop.last %} · {% endif %}{% endfor %}</p>{% endif %}
    </details>
    {% endif %}""",
}


def _rich_head_case(agent, department):
    from customers.tests.factories import CustomerFactory

    customer = CustomerFactory(name="Dana <O'Neil>", phone="", social_handle="@dana&co")
    return CaseFactory(
        department=department,
        customer=customer,
        status="assigned",
        assignee=agent,
        priority=1,
        channel="social",
        intent="refund",
        triage={
            "intent": "refund",
            "confidence": 0.91,
            "delivery_evidence": {"photo": "p<1>.jpg", "gps_m": 222, "signed": False},
        },
        escalation_reasons=[
            {"code": "value", "trigger": "high value", "detail": "over 500 <EUR>"},
            {"code": "sentiment"},
        ],
    )


@pytest.mark.parametrize("kind", ["rich", "bare"])
def test_the_case_head_is_what_the_page_rendered_inline(agent, department, kind):
    from django.template import engines

    from cases.selectors import case_get_for_agent

    made = _rich_head_case(agent, department) if kind == "rich" else CaseFactory(department=department)
    case = case_get_for_agent(user=agent, reference=made.reference) if kind == "rich" else made
    explained = ("triage said <refund>", "photo 222 m off") if kind == "rich" else ()
    head = panels.case_head(case=case, triage_explained=explained)
    for part, source in _INLINE_HEAD.items():
        inline = engines["django"].from_string(source).render({"case": case, "triage_explained": list(explained)})
        assert getattr(head, part) == inline, part
    assert (kind == "rich") == ("Delivery evidence" in head.triage)


def test_an_escalation_reason_without_a_code_or_as_plain_text_still_shows(agent, department, client):
    # given a case whose reasons were stored without a code (a plain string, a dict with only a detail)
    case = CaseFactory(
        department=department,
        status="assigned",
        assignee=agent,
        escalation_reasons=["security", {"detail": "asked twice <for> a human"}, {"trigger": "", "code": "value"}],
    )
    # when its associate opens the workspace, the page is served (no VariableDoesNotExist) and shows each reason
    client.force_login(agent)
    response = client.get(reverse("cases:workspace", kwargs={"reference": case.reference}))
    assert response.status_code == 200
    body = response.content.decode()
    assert '<span class="badge">security</span>' in body and '<span class="badge">value</span>' in body
    assert "<li>asked twice &lt;for&gt; a human</li>" in body


def _head(**changes):
    inputs = {
        "status": "assigned",
        "priority": 2,
        "channel": "chat",
        "intent": "tracking",
        "department": SimpleNamespace(name="Billing"),
        "assignee_id": 7,
        "assignee": SimpleNamespace(get_username=lambda: "alice"),
        "triage": {"intent": "tracking", "confidence": 0.5},
        "escalation_reasons": [{"code": "sentiment", "detail": "angry"}],
        "customer": SimpleNamespace(
            name="Carol",
            email="c@example.com",
            phone="+1",
            social_handle="",
            created_at=datetime(2025, 3, 1, tzinfo=UTC),
        ),
    }
    explained = changes.pop("triage_explained", ("line one",))
    customer = changes.pop("customer", {})
    inputs.update(changes)
    inputs["customer"] = SimpleNamespace(**{**vars(inputs["customer"]), **customer})
    return panels.case_head(case=SimpleNamespace(**inputs), triage_explained=explained)


@pytest.mark.parametrize(
    "change",
    [
        {"status": "waiting_customer"},
        {"priority": 1},
        {"channel": "email"},
        {"intent": "refund"},
        {"department": SimpleNamespace(name="Pharmacy")},
        {"assignee_id": None, "assignee": None},
        {"assignee": SimpleNamespace(get_username=lambda: "bob")},
        {"triage": {"intent": "tracking", "confidence": 0.6}},
        {"triage": {"intent": "tracking", "confidence": 0.5, "delivery_evidence": {"photo": "x"}}},
        {"triage": {}, "escalation_reasons": []},
        {"escalation_reasons": [{"code": "sentiment", "detail": "calm"}]},
        {"escalation_reasons": [{"code": "sentiment", "detail": "angry"}, {"code": "value", "trigger": "high value"}]},
        {"customer": {"name": "Caroline"}},
        {"customer": {"email": "d@example.com"}},
        {"customer": {"phone": ""}},
        {"customer": {"social_handle": "@carol"}},
        {"customer": {"created_at": datetime(2024, 3, 1, tzinfo=UTC)}},
        {"triage_explained": ("line two",)},
    ],
)
def test_any_input_of_the_case_head_changes_it(change):
    assert _head(**change) != _head()


def test_the_case_head_comes_from_the_memo():
    first = _head()
    assert _head() is first
    assert panels._case_head.cache_info().hits == 1
    assert panels._case_head.cache_info().maxsize == panels.MEMO_SIZE


def test_the_pages_one_statement_reads_what_the_two_reads_do(world, agent, supervisor):
    from datetime import timedelta

    from cases.models import CaseViewer
    from cases.services.workspace import VIEWER_FRESH, VIEWER_TTL

    case = world["case"]
    Message.objects.create(case=case, kind="customer", body="where is it?")
    now = timezone.now()
    CaseViewer.objects.create(case=case, user=supervisor, last_seen_at=now - timedelta(seconds=3))
    rows = {"case_id": case.pk, "viewer_id": agent.pk, "since": now - VIEWER_TTL, "messages": 51}
    texts, case_texts, written = selectors_360.workspace_texts_touching(
        customer_id=case.customer_id, **rows, now=now, fresh=now - VIEWER_FRESH
    )
    assert texts == _texts(case)
    assert case_texts == selectors_360.case_rows_texts(**rows)
    assert written and CaseViewer.objects.get(case=case, user=agent).last_seen_at == now
    assert supervisor.username in case_texts[2] and agent.username not in case_texts[2]
    _, _, written = selectors_360.workspace_texts_touching(
        customer_id=case.customer_id,
        **rows,
        now=now + timedelta(seconds=1),
        fresh=now + timedelta(seconds=1) - VIEWER_FRESH,
    )
    assert not written and CaseViewer.objects.get(case=case, user=agent).last_seen_at == now
