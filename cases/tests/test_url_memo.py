"""{% url_memo %} is {% url %} with reverse() memoised: the same output, and the key covers what reverse reads."""

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, set_script_prefix


def _both(body, **context):
    url = Template("{% url " + body + " %}").render(Context(context))
    memo = Template("{% url_memo " + body + " %}").render(Context(context))
    return url, memo


@pytest.mark.parametrize(
    "body, context",
    [
        ("'cases:workspace' ref", {"ref": "CS-2026-000001"}),
        ("'cases:case_action' ref 'resolve'", {"ref": "CS-2026-000002"}),
        ("'cases:case_action' reference=ref action='wait'", {"ref": "CS-2026-000003"}),
        ("'cases:case_credits' 42", {}),
        ("'cases:queues'", {}),
        ("'cases:workspace' ref", {"ref": "a b&c"}),  # quoted and escaped alike
    ],
)
def test_the_same_url_as_the_url_tag(body, context):
    url, memo = _both(body, **context)
    assert memo == url and memo
    assert _both(body, **context)[1] == url  # again, from the memo


def test_the_script_prefix_is_in_the_key():
    first = Template("{% url_memo 'cases:queues' %}").render(Context())
    try:
        set_script_prefix("/hub/")
        prefixed = Template("{% url_memo 'cases:queues' %}").render(Context())
    finally:
        set_script_prefix("/")
    assert prefixed == "/hub" + first


def test_as_var_and_errors_like_the_url_tag():
    assert Template("{% url_memo 'no-such-view' as u %}[{{ u }}]").render(Context()) == "[]"
    with pytest.raises(NoReverseMatch):
        Template("{% url_memo 'no-such-view' %}").render(Context())
