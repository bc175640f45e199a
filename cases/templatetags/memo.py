"""``{% memo a.b c.d %}…{% endmemo %}``: a template fragment rendered as a pure function of the values the tag names,
and memoised on them.

The body is rendered with a context holding the named values only, projected into the shape the names give
(``user.agent.role`` becomes ``user`` → ``agent`` → ``role``), never the page's context: a body that reads
anything else finds nothing there (a test comparing it with the plain render says so). The same values therefore
give the same HTML, and the HTML is kept in a bounded per-process LRU per tag, keyed by the values themselves
(with their types, so ``1`` is not ``True`` and ``Decimal("1.0")`` is not ``Decimal("1.00")``), by what rendering
reads from the thread (time zone, language, URL prefix, URLconf), the context's autoescape / localisation flags and
the current app that ``{% url %}`` / ``{% url_memo %}`` reverse with. There is nothing to invalidate: a change in a
value is a new key. A name that does not resolve is left out of the projection (it fails the same way inside).

Values must be plain data: ``str`` (safe or not), ``int``, ``bool``, ``None``, ``float``, ``Decimal``, dates and
times, and lists, tuples and ``dict``s of them. Anything else (a model instance, a lazy object) renders the body
with the page's context, as if there were no tag — correct, just not memoised; so does DEBUG (templates edited
while the server runs).

A body with ``{% csrf_token %}`` or ``{{ csrf_token }}`` (or marked ``csrf``, e.g. when an ``{% include %}`` inside
renders one) is rendered with a per-process random stand-in for the token, which is replaced by the request's token
after the memo (as ``cases.panels.work`` does); without a usable token (none, or ``NOTPROVIDED``) the body is
rendered with the page's context. ``{% block %}`` is not allowed inside (a child template's block would not be in
the key).

Usage: ``{% load memo %}`` then ``{% memo user.get_full_name user.get_username %}…{% endmemo %}``; ``{% memo %}``
alone for a fragment of constants (``{% static %}``, ``{% url_memo %}``)."""

import secrets
import threading
import weakref
from collections import OrderedDict
from datetime import date, datetime, time
from decimal import Decimal
from types import SimpleNamespace

from django import template
from django.conf import settings
from django.template import Context, TemplateSyntaxError, Variable, VariableDoesNotExist
from django.template.base import VariableNode
from django.template.defaulttags import CsrfTokenNode
from django.template.loader_tags import BlockNode
from django.urls import get_script_prefix, get_urlconf
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

MEMO_SIZE = 128  # entries per tag and process (as cases.panels: the workspace's fragments hold its panels' HTML)
CSRF_STAND_IN = "rhmemocsrf" + secrets.token_hex(16)  # letters and digits: escaping leaves it as it is
_PLAIN = {str, SafeString, int, bool, type(None)}  # keyed by value (and type)
_BY_REPR = {float, Decimal, date, datetime, time}  # keyed by repr: equal values that render differently differ
_MISSING = object()
_NODES: "weakref.WeakSet[MemoNode]" = weakref.WeakSet()  # every parsed tag, for memo_clear
_MISSING_KEY = ("<missing>",)


class _NotPlainData(Exception):
    pass


def _frozen(value):
    """``value`` as a key: equal keys render the same."""
    kind = type(value)
    if kind in _PLAIN:
        return (kind, value)
    if kind in _BY_REPR:
        return (kind, repr(value))
    if kind is list or kind is tuple:
        return (kind, tuple(_frozen(v) for v in value))
    if kind is dict:  # in its order: a loop over it renders in that order
        return (kind, tuple((_frozen(k), _frozen(v)) for k, v in value.items()))
    raise _NotPlainData(kind)


def _environment() -> tuple:
    return (timezone.get_current_timezone_name(), translation.get_language(), get_script_prefix(), get_urlconf())


def _current_app(context):
    """What ``{% url %}`` reverses with (``URLNode.render``'s rule)."""
    try:
        return context.request.current_app
    except AttributeError:
        try:
            return context.request.resolver_match.namespace
        except AttributeError:
            return None


class MemoNode(template.Node):
    def __init__(self, paths: list[str], nodelist, csrf: bool):
        self.paths = paths
        self.variables = [Variable(p) for p in paths]
        self.nodelist = nodelist
        self.csrf = csrf
        self._memo: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        _NODES.add(self)

    def __repr__(self):
        return f"<MemoNode {' '.join(self.paths)}>"

    def render(self, context):
        if settings.DEBUG:
            return self.nodelist.render(context)
        values = []
        for variable in self.variables:
            try:
                values.append(variable.resolve(context))
            except VariableDoesNotExist:
                values.append(_MISSING)
        token = ""
        if self.csrf:
            token = str(context.get("csrf_token") or "")
            if not token.isalnum() or token == "NOTPROVIDED":
                return self.nodelist.render(context)
        current_app = _current_app(context)
        try:
            key = (
                _environment(),
                current_app,
                context.autoescape,
                context.use_l10n,
                context.use_tz,
                tuple(_MISSING_KEY if v is _MISSING else _frozen(v) for v in values),
            )
        except _NotPlainData:
            return self.nodelist.render(context)
        with self._lock:
            html = self._memo.get(key)
            if html is not None:
                self._memo.move_to_end(key)
        if html is None:
            html = self.nodelist.render(self._inner(context, values, current_app))
            with self._lock:
                self._memo[key] = html
                if len(self._memo) > MEMO_SIZE:
                    self._memo.popitem(last=False)
        if token:
            return mark_safe(html.replace(CSRF_STAND_IN, token))
        return html

    def _inner(self, context, values, current_app) -> Context:
        """A context of the named values only, in the shape their names give."""
        data: dict = {}
        for path, value in zip(self.paths, values, strict=True):
            if value is _MISSING:
                continue
            *parents, last = path.split(".")
            if not parents:
                data[last] = value
                continue
            node = data.setdefault(parents[0], SimpleNamespace())
            for name in parents[1:]:
                if not hasattr(node, name):
                    setattr(node, name, SimpleNamespace())
                node = getattr(node, name)
            setattr(node, last, value)
        if self.csrf:
            data["csrf_token"] = CSRF_STAND_IN
        inner = Context(data, autoescape=context.autoescape, use_l10n=context.use_l10n, use_tz=context.use_tz)
        inner.template = context.template  # {% include %} loads through its engine
        inner.request = SimpleNamespace(current_app=current_app)  # for {% url %} only: no template variable
        return inner

    def memo_clear(self) -> None:
        with self._lock:
            self._memo.clear()


def memo_clear() -> None:
    """Empty every tag's memo (tests; bench/workspace_cpu.py --cold)."""
    for node in list(_NODES):
        node.memo_clear()


def _reads_csrf_token(nodelist) -> bool:
    if nodelist.get_nodes_by_type(CsrfTokenNode):
        return True
    for node in nodelist.get_nodes_by_type(VariableNode):
        var = node.filter_expression.var
        if isinstance(var, Variable) and var.lookups and var.lookups[0] == "csrf_token":
            return True
    return False


@register.tag
def memo(parser, token):
    bits = token.split_contents()[1:]
    csrf = False
    if bits and bits[-1] == "csrf":
        csrf, bits = True, bits[:-1]
    for path in bits:
        var = Variable(path)
        if var.lookups is None or "|" in path:
            raise TemplateSyntaxError(f"memo: {path!r} is not a variable name")
    for path in bits:
        for other in bits:
            if other != path and other.startswith(path + "."):
                raise TemplateSyntaxError(f"memo: {path!r} and {other!r}: name the values, not what holds them")
    nodelist = parser.parse(("endmemo",))
    parser.delete_first_token()
    if nodelist.get_nodes_by_type(BlockNode):
        raise TemplateSyntaxError("memo: no {% block %} inside (a child template's block would not be in the key)")
    return MemoNode(bits, nodelist, csrf or _reads_csrf_token(nodelist))
