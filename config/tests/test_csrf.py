"""Every state-changing request to a page or a session-authenticated API endpoint needs the CSRF token.

Generated from the URLconf: a new route is covered the moment it is added."""

import pytest
from django.test import Client
from django.utils.crypto import get_random_string
from rest_framework.authentication import SessionAuthentication

from config.tests.routes import all_routes

UNSAFE = ("post", "put", "patch", "delete")
# Routes whose only sign-in is an API key sent in a header (no cookie, so CSRF does not apply) are exempt.


def _uses_session_auth(route) -> bool:
    cls = route.view_class
    if cls is None or not hasattr(cls, "authentication_classes"):
        return True  # a plain Django view: the cookie is its sign-in
    return any(issubclass(a, SessionAuthentication) for a in cls.authentication_classes)


def _accepted_with_token(browser, method, path) -> bool:
    """The same request with the token is not refused with 403: so it was the missing token that was refused."""
    token = get_random_string(32)
    browser.cookies["csrftoken"] = token
    again = getattr(browser, method)(path, data="{}", content_type="application/json", HTTP_X_CSRFTOKEN=token)
    return again.status_code != 403


def test_every_route_resolves_to_a_sample_path():
    unresolved = [r.template for r in all_routes() if not r.path]
    assert unresolved == [], "teach config/tests/routes.py a sample for these placeholders"


@pytest.mark.django_db
def test_every_state_change_without_the_token_is_refused(supervisor, customer, django_user_model):
    supervisor.is_staff = supervisor.is_superuser = True
    supervisor.save()
    browsers = {"staff": Client(enforce_csrf_checks=True), "customer": Client(enforce_csrf_checks=True)}
    browsers["staff"].force_login(supervisor)
    browsers["customer"].force_login(customer.user)
    browsers["anonymous"] = Client(enforce_csrf_checks=True)
    checked, accepted = 0, []
    for route in all_routes():
        if not _uses_session_auth(route):
            continue
        # Django's CSRF middleware treats every unsafe method alike: POST and DELETE stand for them on plain views;
        # DRF views are checked with all four.
        methods = UNSAFE if route.view_class is not None else ("post", "delete")
        for who, browser in browsers.items():
            for method in methods if who == "staff" else ("post",):
                response = getattr(browser, method)(route.path, data="{}", content_type="application/json")
                checked += 1
                refused_for_csrf = response.status_code == 403 and (
                    b"CSRF" in response.content or _accepted_with_token(browser, method, route.path)
                )
                if not refused_for_csrf and not (who == "anonymous" and route.view_class is not None and route.is_api):
                    accepted.append(f"{who} {method.upper()} {route.template} -> {response.status_code}")
    assert checked > 100
    assert accepted == [], "\n".join(accepted)
