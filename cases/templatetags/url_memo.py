"""``{% url_memo %}``: Django's ``{% url %}`` (same syntax, same output, same errors) with ``reverse()`` memoised.

``reverse()`` is a pure function of the view name, its arguments, the current app, the URLconf and the script prefix
(the last two are read from the thread): the memo is keyed on all of them, bounded (``MEMO_SIZE``), per process.
Each reverse costs ~25 µs of Python; the case workspace has ~20 of them per page (docs/BENCHMARKS.md, session 4).
Loaded as a builtin (config/settings/base.py TEMPLATES): no ``{% load %}`` needed."""

import functools

from django import template
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as url_tag
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = template.Library()

MEMO_SIZE = 4096  # distinct URLs per process (a few hundred bytes each)


@functools.lru_cache(maxsize=MEMO_SIZE)
def _reverse(view_name, args, kwargs, current_app, _urlconf, _prefix) -> str:
    return reverse(view_name, args=args, kwargs=dict(kwargs), current_app=current_app)


def reverse_memo(view_name, args=(), kwargs=None, current_app=None) -> str:
    key_kwargs = tuple(sorted((kwargs or {}).items()))
    try:
        return _reverse(view_name, tuple(args), key_kwargs, current_app, get_urlconf(), get_script_prefix())
    except TypeError:  # an unhashable argument: not memoised
        return reverse(view_name, args=args, kwargs=kwargs, current_app=current_app)


class MemoURLNode(URLNode):
    def render(self, context):  # URLNode.render with reverse_memo for reverse
        args = [arg.resolve(context) for arg in self.args]
        kwargs = {k: v.resolve(context) for k, v in self.kwargs.items()}
        view_name = self.view_name.resolve(context)
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        url = ""
        try:
            url = reverse_memo(view_name, args=args, kwargs=kwargs, current_app=current_app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        if context.autoescape:
            url = conditional_escape(url)
        return url


@register.tag
def url_memo(parser, token):
    node = url_tag(parser, token)
    node.__class__ = MemoURLNode
    return node
