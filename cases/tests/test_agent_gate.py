"""The agent gate (``case_get_for_agent``): its statement is compiled once per connection and re-executed, and it
must still answer exactly what the rule's QuerySet answers — the same rows, the same instances, the same 404s."""

import pytest
from django.db import connection
from django.db.models.query import MAX_GET_RESULTS
from django.http import Http404

from cases import rawrows, selectors
from cases.models import Callback, Case, Role
from cases.tests.factories import AgentFactory, CaseFactory, DepartmentFactory
from customers.tests.factories import OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db


def _values(obj):
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def _same(got, expected, related):
    assert type(got) is Case and _values(got) == _values(expected)
    for name in ("customer", "department", "assignee", *related):
        field = Case._meta.get_field(name)
        assert field.is_cached(got), f"{name} is not joined"  # no query when the page reads it
        if field.is_cached(expected) and field.get_cached_value(expected) is None:
            assert field.get_cached_value(got) is None
        else:
            assert _values(getattr(got, name)) == _values(getattr(expected, name))


@pytest.fixture
def world(department):
    other = DepartmentFactory(slug="billing", name="Billing")
    item = OrderItemFactory(order=OrderFactory())
    mine = CaseFactory(department=department, order=item.order, order_item=item)
    Callback.objects.create(case=mine, phone="+15555550100")
    theirs = CaseFactory(department=other)
    return mine, theirs, other


@pytest.mark.parametrize("related", [(), selectors.WORKSPACE_CASE_RELATED])
@pytest.mark.parametrize("by", ["reference", "case_id"])
def test_the_gate_builds_what_the_querysets_get_builds(agent, supervisor, world, related, by):
    mine, theirs, _ = world
    for user, cases in ((agent, [mine]), (supervisor, [mine, theirs])):
        for case in cases:
            lookup = {"reference": case.reference} if by == "reference" else {"case_id": case.pk}
            expected = (
                selectors.cases_visible_to_agent(user=user)
                .select_related("customer", "department", "assignee", *related)
                .get(pk=case.pk)
            )
            for _ in range(2):  # compiled on the first call, re-executed on the second
                _same(selectors.case_get_for_agent(user=user, related=related, **lookup), expected, related)


def test_a_case_without_callback_has_none_joined(supervisor, department):
    case = CaseFactory(department=department)
    got = selectors.case_get_for_agent(user=supervisor, reference=case.reference, related=("callback",))
    with pytest.raises(Callback.DoesNotExist):
        got.callback


def test_the_statement_is_the_rules_own_sql(agent, supervisor, world):
    mine, _, _ = world
    for user in (agent, supervisor):
        selectors.case_get_for_agent(user=user, reference=mine.reference)
        role = user.agent.role
        compiled = connection._rh_compiled[("case_get_for_agent", role, "reference", ())]
        qs = (
            selectors.cases_visible_to_agent(user=user)
            .select_related("customer", "department", "assignee")
            .filter(reference=mine.reference)[:MAX_GET_RESULTS]
        )
        sql, params = qs.query.get_compiler(connection=connection).as_sql()
        slots = {i for where in compiled.positions.values() for i in where}
        assert compiled.sql == sql  # the same statement, only the slots' values differ
        assert [p for i, p in enumerate(compiled.params) if i not in slots] == [
            p for i, p in enumerate(params) if i not in slots
        ]


def test_associates_see_only_their_departments_and_changes_show_at_once(agent, world):
    mine, theirs, other = world
    assert selectors.case_get_for_agent(user=agent, reference=mine.reference).pk == mine.pk
    with pytest.raises(Http404):
        selectors.case_get_for_agent(user=agent, reference=theirs.reference)
    with pytest.raises(Http404):
        selectors.case_get_for_agent(user=agent, case_id=theirs.pk)
    # joining the other department: its cases are visible on the next call (nothing about the rows is kept)
    agent.agent.departments.add(other)
    assert selectors.case_get_for_agent(user=agent, reference=theirs.reference).pk == theirs.pk
    agent.agent.departments.remove(other)
    with pytest.raises(Http404):
        selectors.case_get_for_agent(user=agent, reference=theirs.reference)


def test_another_associate_gets_their_own_departments(agent, world):
    mine, theirs, other = world
    selectors.case_get_for_agent(user=agent, reference=mine.reference)  # compiled for associates with alice
    bob = AgentFactory(user__username="bob", departments=[other]).user
    assert selectors.case_get_for_agent(user=bob, reference=theirs.reference).pk == theirs.pk
    with pytest.raises(Http404):
        selectors.case_get_for_agent(user=bob, reference=mine.reference)


def test_a_promoted_associate_sees_everything(agent, world):
    _, theirs, _ = world
    with pytest.raises(Http404):
        selectors.case_get_for_agent(user=agent, reference=theirs.reference)
    agent.agent.role = Role.SUPERVISOR
    agent.agent.save()
    assert selectors.case_get_for_agent(user=agent, reference=theirs.reference).pk == theirs.pk


@pytest.mark.parametrize(
    "lookup",
    [{"case_id": "abc"}, {"case_id": None, "reference": None}, {"reference": "CS-0000-000000"}, {"case_id": -1}],
)
def test_bad_or_unknown_lookups_are_404(supervisor, lookup):
    with pytest.raises(Http404):
        selectors.case_get_for_agent(user=supervisor, **lookup)


def test_no_profile_or_inactive_is_404(supervisor, world, django_user_model):
    mine, _, _ = world
    nobody = django_user_model.objects.create_user("nobody", password="x")
    with pytest.raises(Http404):
        selectors.case_get_for_agent(user=nobody, reference=mine.reference)
    supervisor.is_active = False
    with pytest.raises(Http404):
        selectors.case_get_for_agent(user=supervisor, reference=mine.reference)


def test_compiled_once_per_connection(supervisor, world, monkeypatch):
    mine, theirs, _ = world
    selectors.case_get_for_agent(user=supervisor, reference=mine.reference)
    compiles = []
    real = rawrows.CompiledQuery.__init__
    monkeypatch.setattr(
        rawrows.CompiledQuery, "__init__", lambda self, *a, **k: compiles.append(1) or real(self, *a, **k)
    )
    for case in (mine, theirs, mine):
        assert selectors.case_get_for_agent(user=supervisor, reference=case.reference).pk == case.pk
    assert compiles == []
