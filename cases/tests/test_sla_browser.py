"""The supervisor's SLA page in a real headless Chromium (and its screenshot for the docs)."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from cases.models import Role
from cases.services.cases import case_create
from cases.services.sla import sla_sweep
from cases.tests.factories import AgentFactory, DepartmentFactory
from customers.tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_supervisor_watches_attainment_and_next_breaches(browser, screenshot, live_server):
    # Given the default policies, a supervisor, and cases on several channels, some already breached
    importlib.import_module("cases.migrations.0011_seed_default_sla_policies").seed(apps, None)
    general = DepartmentFactory(slug="general", name="General support")
    fraud = DepartmentFactory(slug="fraud", name="Fraud & account security")
    AgentFactory(user__username="sam", role=Role.SUPERVISOR, departments=[general, fraud])
    customer = CustomerFactory(name="Carol Diaz")
    now = timezone.now()
    for minutes, channel, dept, priority in [
        (45, "chat", general, 3),
        (30, "social", general, 3),
        (2, "chat", general, 3),
        (20, "callback", general, 2),
        (1, "web", fraud, 1),
        (0, "email", general, 3),
        (90, "phone", general, 3),
    ]:
        case_create(
            customer=customer,
            channel=channel,
            department=dept,
            subject="Help",
            priority=priority,
            now=now - timedelta(minutes=minutes),
        )
    sla_sweep()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("pass-word-123")
    page.get_by_role("button", name="Sign in").click()
    page.goto(live_server.url + reverse("cases:sla-report"))
    # Then the attainment tables and the live panels are there
    assert page.get_by_role("heading", name="SLA attainment").is_visible()
    assert page.get_by_text("By channel").is_visible()
    assert page.get_by_role("heading", name="Next breaches").is_visible()
    assert page.get_by_text("supervisor notified").first.is_visible()
    screenshot(page, "supervisor-sla-report.png")
    context.close()
