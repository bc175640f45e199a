"""Display helpers for the queue board (no business rules)."""

from functools import cache

from django import template

register = template.Library()


@cache
def _labels(model: type, field_name: str) -> dict:
    # Lazy labels kept as they are: the active language still applies when they are rendered.
    return dict(model._meta.get_field(field_name).flatchoices)


@register.filter
def label(obj, field_name: str):
    """``{{ case|label:"priority" }}``: the choice label of a field, like ``get_priority_display`` but with the
    choices mapped once per process (``get_FOO_display`` rebuilds the mapping on every call: the board shows
    ~200 of them every 3 s)."""
    value = getattr(obj, field_name)
    return _labels(type(obj), field_name).get(value, value)
