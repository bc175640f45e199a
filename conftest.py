"""Shared fixtures: agent, supervisor, customer, api_client (CONVENTIONS: Tests)."""

import os
from pathlib import Path

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from cases.models import Role
from cases.tests.factories import AgentFactory, DepartmentFactory
from customers.tests.factories import CustomerFactory


@pytest.fixture
def department(db):
    return DepartmentFactory(slug="general", name="General support")


@pytest.fixture
def agent(db, department):
    return AgentFactory(user__username="alice", departments=[department]).user


@pytest.fixture
def supervisor(db, department):
    return AgentFactory(user__username="sam", role=Role.SUPERVISOR, departments=[department]).user


@pytest.fixture
def customer(db):
    return CustomerFactory(user__username="carol")


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in the cache: every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _no_live_poll_left_waiting(request):
    """A browser test leaves its pages' long polls waiting in the live server's threads (each with a database
    connection): end them when the test ends, before the database is flushed or dropped (cases/live.py)."""
    yield
    if "live_server" in request.fixturenames:
        from cases.live import hub

        hub.drain()
        hub.resume()


# --- Browser tests: Playwright drives Debian's Chromium (scripts/browser.sh installs it; no browser download) ---
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
SCREENSHOTS = Path(__file__).resolve().parent / "docs" / "screenshots"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM would refuse to run beside it.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def screenshot():
    """``screenshot(page, "name.png", full_page=True)`` writes docs/screenshots/<name> only when RH_SCREENSHOTS=1,
    so a test run never dirties the tree."""

    def take(page, name: str, *, full_page: bool = True) -> None:
        if os.environ.get("RH_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / name), full_page=full_page)

    return take
