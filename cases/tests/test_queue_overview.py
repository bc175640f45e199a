"""The queue overview: what an associate sees first. Counts per department and channel, only their departments."""

import pytest

from cases.models import Case, Priority, Role
from cases.selectors import queue_overview
from cases.tests.factories import AgentFactory, CaseFactory, DepartmentFactory


@pytest.fixture
def world(db):
    general = DepartmentFactory(slug="general", name="General support")
    pharmacy = DepartmentFactory(slug="pharmacy", name="Pharmacy")
    for _ in range(3):
        CaseFactory(department=general, channel="chat")
    CaseFactory(department=general, channel="chat", priority=Priority.URGENT)
    CaseFactory(department=general, channel="callback")
    CaseFactory(department=pharmacy, channel="email")
    CaseFactory(department=pharmacy, channel="email", status=Case.Status.RESOLVED)  # not waiting
    return general, pharmacy


def _counts(rows):
    return {(r["department__slug"], r["channel"]): (r["waiting"], r["urgent"]) for r in rows}


def test_an_associate_counts_only_waiting_cases_of_their_own_departments(world):
    general, _pharmacy = world
    alice = AgentFactory(departments=[general]).user
    assert _counts(queue_overview(user=alice)) == {("general", "chat"): (4, 1), ("general", "callback"): (1, 0)}


def test_a_supervisor_sees_every_department(world):
    sam = AgentFactory(role=Role.SUPERVISOR).user
    assert _counts(queue_overview(user=sam)) == {
        ("general", "chat"): (4, 1),
        ("general", "callback"): (1, 0),
        ("pharmacy", "email"): (1, 0),
    }


def test_the_page_shows_the_counts_and_hides_other_departments(client, world, django_assert_max_num_queries):
    general, _pharmacy = world
    alice = AgentFactory(departments=[general]).user
    client.force_login(alice)
    # The board (docs/WORKSPACE.md): counts, head of the queue, my cases, team, callback offers, load.
    with django_assert_max_num_queries(7):
        response = client.get("/agent/queues/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "General support" in html and "Pharmacy" not in html
    assert response.context["total_waiting"] == 5


def test_the_htmx_refresh_returns_only_the_fragment(client, world):
    sam = AgentFactory(role=Role.SUPERVISOR).user
    client.force_login(sam)
    response = client.get("/agent/queues/", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="overview"' in html and "<html" not in html
    assert "<strong>6</strong> cases waiting" in html


def test_the_query_count_does_not_grow_with_departments(client, db, django_assert_num_queries):
    sam = AgentFactory(role=Role.SUPERVISOR).user
    client.force_login(sam)
    for i in range(12):
        CaseFactory(department=DepartmentFactory(slug=f"d{i}"), channel=["chat", "social", "phone"][i % 3])
    # 8 (was 9): the viewer's own load is read from their row of the team, not by a query of its own
    with django_assert_num_queries(7):
        response = client.get("/agent/queues/")
    assert response.status_code == 200 and response.context["total_waiting"] == 12
