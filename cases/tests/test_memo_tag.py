"""``{% memo %}`` (cases/templatetags/memo.py): the body rendered from the named values only, memoised on them — the
same HTML as the body without the tag, any named value changes it, and nothing else reaches it."""

import re
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
import time_machine
from django.template import Context, Engine, TemplateSyntaxError
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from cases.templatetags.memo import CSRF_STAND_IN, MemoNode
from cases.tests import test_workspace_360
from cases.tests.factories import CaseFactory

ENGINE = Engine(libraries={"memo": "cases.templatetags.memo"}, builtins=["cases.templatetags.url_memo"])

BODY = (
    "<p>{{ user.name }} ({{ user.role|default:'none' }}) {{ n }} {{ price }} {{ when|date:'M j H:i' }}"
    "{% for m in items %}[{{ m.pk }}:{{ m.title }}]{% endfor %}{% if flag %} flagged{% endif %}"
    " <a href=\"{% url_memo 'cases:workspace' ref %}\">go</a></p>"
)
NAMES = "user.name user.role n price when items flag ref"


def _memo_template(body=BODY, names=NAMES):
    return ENGINE.from_string("{% load memo %}{% memo " + names + " %}" + body + "{% endmemo %}")


def _node(template) -> MemoNode:
    (node,) = template.nodelist.get_nodes_by_type(MemoNode)
    return node


def _values(**change):
    values = {
        "user": SimpleNamespace(name="Ann <admin>", role="supervisor"),
        "n": 3,
        "price": Decimal("12.50"),
        "when": datetime(2026, 11, 24, 18, 5, tzinfo=UTC),
        "items": [{"pk": 1, "title": "A & B"}, {"pk": 2, "title": "C"}],
        "flag": True,
        "ref": "CS-1",
    }
    values.update(change)
    return values


def test_the_same_html_as_the_body_without_the_tag():
    memo, plain = _memo_template(), ENGINE.from_string(BODY)
    for values in (_values(), _values(user=SimpleNamespace(name="Bo")), _values(items=[], flag=False)):
        assert memo.render(Context(values)) == plain.render(Context(values))
    node = _node(memo)
    assert len(node._memo) == 3
    assert memo.render(Context(_values())) == plain.render(Context(_values()))  # from the memo
    assert len(node._memo) == 3


@pytest.mark.parametrize(
    "change",
    [
        {"user": SimpleNamespace(name="Ann <admin>", role="associate")},
        {"user": SimpleNamespace(name="Ann", role="supervisor")},
        {"user": SimpleNamespace(name="Ann <admin>")},  # a value that does not resolve
        {"n": 4},
        {"n": True},  # equal to 1 but not the same text
        {"price": Decimal("12.5")},  # equal, rendered differently
        {"when": datetime(2026, 11, 24, 18, 6, tzinfo=UTC)},
        {"items": [{"pk": 1, "title": "A & B"}]},
        {"items": [{"pk": 1, "title": "A &amp; B"}, {"pk": 2, "title": "C"}]},
        {"flag": False},
        {"ref": "CS-2"},
    ],
)
def test_any_named_value_changes_the_html(change):
    template = _memo_template()
    before = template.render(Context(_values()))
    after = template.render(Context(_values(**change)))
    assert after != before
    assert after == ENGINE.from_string(BODY).render(Context(_values(**change)))


def test_safe_and_plain_strings_are_different_keys():
    template = _memo_template("{{ s }}", "s")
    assert template.render(Context({"s": "<b>"})) == "&lt;b&gt;"
    assert template.render(Context({"s": mark_safe("<b>")})) == "<b>"


def test_the_body_reads_nothing_but_the_named_values():
    template = _memo_template("{{ user.name }}|{{ secret }}|{{ user.email }}", "user.name")
    html = template.render(Context({"user": SimpleNamespace(name="Ann", email="a@x"), "secret": "s3"}))
    assert html == "Ann||"


def test_a_value_that_is_not_plain_data_renders_the_body_as_it_is_and_is_not_memoised():
    template = _memo_template("{{ obj.name }}", "obj")
    assert template.render(Context({"obj": SimpleNamespace(name="Ann")})) == "Ann"
    assert len(_node(template)._memo) == 0


def test_the_requests_csrf_token_is_put_in_after_the_memo():
    template = _memo_template("<form>{% csrf_token %}</form>{{ csrf_token }}", "")
    first = template.render(Context({"csrf_token": "Tok3n"}))
    assert first == '<form><input type="hidden" name="csrfmiddlewaretoken" value="Tok3n"></form>Tok3n'
    second = template.render(Context({"csrf_token": "Other"}))
    assert second == first.replace("Tok3n", "Other") and CSRF_STAND_IN not in second
    assert len(_node(template)._memo) == 1
    assert template.render(Context({"csrf_token": ""})) == "<form></form>"  # no usable token: as without the tag


def test_the_current_app_and_the_script_prefix_are_in_the_key():
    from django.urls import set_script_prefix

    template = _memo_template("{% url_memo 'cases:workspace' ref %}", "ref")
    assert template.render(Context({"ref": "CS-1"})) == "/agent/cases/CS-1/"
    set_script_prefix("/hub/")
    try:
        assert template.render(Context({"ref": "CS-1"})) == "/hub/agent/cases/CS-1/"
    finally:
        set_script_prefix("/")


def test_nothing_is_memoised_with_debug_on(settings):
    settings.DEBUG = True
    template = _memo_template()
    assert template.render(Context(_values())) == ENGINE.from_string(BODY).render(Context(_values()))
    assert len(_node(template)._memo) == 0


@pytest.mark.parametrize(
    "source",
    [
        "{% load memo %}{% memo a %}{% block x %}{% endblock %}{% endmemo %}",
        "{% load memo %}{% memo user user.name %}{% endmemo %}",
        "{% load memo %}{% memo 'text' %}{% endmemo %}",
    ],
)
def test_refused_at_parse_time(source):
    with pytest.raises(TemplateSyntaxError):
        ENGINE.from_string(source)


def _page(client, url):
    html = client.get(url).content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value=""', html)
    return re.sub(r'"X-CSRFToken": "[^"]+"', '"X-CSRFToken": ""', html)


world = test_workspace_360.world  # a case about an order item, with orders, shipments, refunds, credits, earlier cases


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["holder", "supervisor"])
@pytest.mark.parametrize("rich", [True, False])
def test_the_pages_are_what_they_are_without_the_memos(agent, supervisor, department, monkeypatch, who, rich, world):
    """The workspace (and the staff chrome every back-office page shares) with the memos equals the page rendered
    with every ``{% memo %}`` rendering its body from the page's context."""
    from cases.models import Macro

    Macro.objects.create(title="Hello <b>", body="Hi")
    case = world["case"] if rich else CaseFactory(department=department, status="assigned", assignee=agent)
    client = Client()
    client.force_login(agent if who == "holder" else supervisor)
    for url in (reverse("cases:workspace", kwargs={"reference": case.reference}), reverse("cases:queues")):
        with time_machine.travel(timezone.now(), tick=False):  # the countdowns and waits stand still
            memoised = [_page(client, url), _page(client, url)]  # a miss, then a hit
            with monkeypatch.context() as m:
                m.setattr(MemoNode, "render", lambda self, context: self.nodelist.render(context))
                plain = _page(client, url)
        assert memoised[0] == memoised[1] == plain


@pytest.mark.django_db
def test_the_chrome_shows_a_change_of_the_user_at_once(client, agent, department):
    from cases.models import Role

    case = CaseFactory(department=department, status="assigned", assignee=agent)
    client.force_login(agent)
    url = reverse("cases:workspace", kwargs={"reference": case.reference})
    body = client.get(url).content.decode()
    assert "Console</a>" not in body
    agent.first_name, agent.last_name = "Zed", "Quill"
    agent.save()
    agent.agent.role = Role.SUPERVISOR
    agent.agent.save()
    body = client.get(url).content.decode()
    assert "<span>Zed Quill</span>" in body and "Console</a>" in body


def test_a_request_less_render_is_unaffected():
    """The tag's inner context carries no request: ``{% url %}`` inside still reverses (no current app)."""
    request = RequestFactory().get("/")
    template = _memo_template("{% url_memo 'cases:queues' %}", "")
    assert template.render(Context({"request": request})) == "/agent/queues/"


def test_memo_clear_empties_every_tag():
    from cases.templatetags import memo

    template = _memo_template()
    template.render(Context(_values()))
    assert len(_node(template)._memo) == 1
    memo.memo_clear()
    assert len(_node(template)._memo) == 0
