"""Shared fixtures: agent, supervisor, customer, api_client (CONVENTIONS: Tests)."""

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
