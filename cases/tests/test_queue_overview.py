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


def test_an_associate_of_two_departments_or_none_counts_exactly_their_departments(world):
    general, pharmacy = world
    CaseFactory(department=DepartmentFactory(slug="other"), channel="chat")  # nobody below works it
    both = AgentFactory(departments=[general, pharmacy]).user
    assert _counts(queue_overview(user=both)) == {
        ("general", "chat"): (4, 1),
        ("general", "callback"): (1, 0),
        ("pharmacy", "email"): (1, 0),
    }
    assert queue_overview(user=AgentFactory(departments=[]).user) == []
    former = AgentFactory(departments=[general]).user
    former.is_active = False
    assert queue_overview(user=former) == []


def test_the_departments_as_an_array_are_the_same_access_rule(world):
    """The waiting counts' form of the rule (``= ANY(ARRAY(...))`` on PostgreSQL, one index scan in grouping order;
    docs/BENCHMARKS.md, session 9) sees exactly the cases the gate's semi-join sees, for every kind of viewer."""
    from django.db import connection

    from cases.selectors import cases_visible_to_agent

    general, pharmacy = world  # waiting and resolved cases in both, none in "other"
    CaseFactory(department=DepartmentFactory(slug="other"), channel="chat")
    viewers = [
        AgentFactory(departments=[general]).user,
        AgentFactory(departments=[general, pharmacy]).user,
        AgentFactory(departments=[]).user,
        AgentFactory(role=Role.SUPERVISOR).user,
    ]
    for viewer in viewers:
        as_array = cases_visible_to_agent(user=viewer, departments_as_array=True)
        semi_join = cases_visible_to_agent(user=viewer)
        assert sorted(as_array.values_list("pk", flat=True)) == sorted(semi_join.values_list("pk", flat=True))
    if connection.vendor == "postgresql":
        assert "= ANY(ARRAY(SELECT" in str(cases_visible_to_agent(user=viewers[1], departments_as_array=True).query)
