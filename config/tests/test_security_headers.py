"""Security headers on every page and no inline script anywhere (the CSP forbids them)."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


@pytest.mark.django_db
def test_pages_send_csp_without_inline_script_and_the_other_security_headers(client, agent):
    client.force_login(agent)
    response = client.get(reverse("cases:queues"))
    csp = response["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", csp).group(1)
    assert script_src.strip() == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_no_template_contains_an_inline_script_or_event_handler():
    offenders = []
    for template in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        text = template.read_text()
        if INLINE_SCRIPT.search(text) or INLINE_HANDLER.search(text):
            offenders.append(str(template.relative_to(settings.BASE_DIR)))
    assert offenders == []


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", "agent", "customer", "supervisor"])
def test_rendered_pages_have_no_inline_script(client, who, agent, customer, supervisor):
    user = {"agent": agent, "customer": customer.user, "supervisor": supervisor}.get(who)
    if user is not None:
        client.force_login(user)
    urls = [reverse("login")]
    if who in ("agent", "supervisor"):
        urls += [reverse("cases:queues")]
    if who == "customer":
        urls += [reverse("escalations:my_cases")]
    if who == "supervisor":
        urls += [reverse("account:otp_setup"), reverse("api-docs")]
    for url in urls:
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert not INLINE_SCRIPT.search(html), url
        assert not INLINE_HANDLER.search(html), url
