"""Anomaly flags on built data with known outliers, and no false flag on the normal agents."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cases.console_selectors import credit_anomalies
from cases.models import GoodwillCredit, Role
from cases.tests.factories import AgentFactory, CaseFactory, DepartmentFactory
from customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def credit(issuer, amount, *, department, customer=None, days_ago=1.0, status="approved"):
    customer = customer or CustomerFactory()
    case = CaseFactory(department=department, customer=customer)
    when = NOW - timedelta(days=days_ago)
    return GoodwillCredit.objects.create(
        case=case,
        customer=customer,
        amount=Decimal(amount),
        reason_code="late_delivery",
        note="built data",
        issued_by=issuer,
        issued_by_role=issuer.agent.role,
        status=status,
        decided_at=when if status != "pending" else None,
        created_at=when,
    )


@pytest.fixture
def world(supervisor):
    """Six associates in one department. Normal ones issue 4–6 ordinary credits each over the month.

    Known outliers: olga issues 30 credits; uma issues 4 of her 5 credits at $47–$49.99 (limit $50); rita (a
    customer) gets 4 credits from two normal agents; nina (a customer) opened her account 10 days before her credit.
    """
    general = DepartmentFactory(slug="general")
    names = ["ann", "ben", "cat", "dan", "olga", "uma"]
    agents = {n: AgentFactory(user__username=n, role=Role.ASSOCIATE, departments=[general]).user for n in names}
    normal_counts = {"ann": 4, "ben": 5, "cat": 6, "dan": 5}
    amounts = ["12.00", "25.00", "8.50", "30.00", "15.00", "20.00"]
    for name, n in normal_counts.items():
        for i in range(n):
            credit(agents[name], amounts[i % len(amounts)], department=general, days_ago=1 + i * 4)
    # One ordinary amount near the limit from a normal agent is not a pattern.
    credit(agents["ben"], "48.00", department=general, days_ago=3)
    for i in range(30):
        credit(agents["olga"], amounts[i % len(amounts)], department=general, days_ago=0.5 + i * 0.9)
    for amount in ("49.99", "48.00", "47.50", "49.00", "10.00"):
        credit(agents["uma"], amount, department=general, days_ago=2)
    rita = CustomerFactory(name="Rita Repeat")
    for issuer in ("ann", "ann", "dan", "dan"):
        credit(agents[issuer], "10.00", department=general, customer=rita, days_ago=5)
    # A customer with two credits is normal.
    twice = CustomerFactory(name="Tom Twice")
    credit(agents["cat"], "10.00", department=general, customer=twice, days_ago=6)
    credit(agents["cat"], "10.00", department=general, customer=twice, days_ago=9)
    nina = CustomerFactory(name="Nina New", created_at=NOW - timedelta(days=12))
    new_credit = credit(agents["ben"], "20.00", department=general, customer=nina, days_ago=2)
    # An old account credited long ago, and an account that was new 60 days ago but credited at 40 days old.
    older = CustomerFactory(name="Olive Older", created_at=NOW - timedelta(days=45))
    credit(agents["ann"], "20.00", department=general, customer=older, days_ago=5)
    return {"agents": agents, "new_credit": new_credit, "general": general}


def test_each_known_outlier_is_flagged_and_no_normal_agent_is(world, supervisor):
    flags = credit_anomalies(user=supervisor, since=NOW - timedelta(days=30), until=NOW + timedelta(days=1))

    assert [f["agent"] for f in flags["rate"]] == ["olga"]
    assert flags["rate"][0]["z"] >= 3
    assert [f["customer__name"] for f in flags["repeat_customers"]] == ["Rita Repeat"]
    assert flags["repeat_customers"][0]["agents"] == 2
    assert [f["issued_by__username"] for f in flags["just_under"]] == ["uma"]
    assert flags["just_under"][0]["under"] == 4
    assert [f["credit"].pk for f in flags["new_accounts"]] == [world["new_credit"].pk]


def test_a_department_of_similar_agents_raises_no_rate_flag(supervisor):
    dept = DepartmentFactory(slug="social")
    agents = [AgentFactory(role=Role.SOCIAL_CARE, departments=[dept]).user for _ in range(5)]
    for agent, n in zip(agents, [5, 5, 5, 5, 6], strict=True):
        for i in range(n):
            credit(agent, "20.00", department=dept, days_ago=1 + i)
    flags = credit_anomalies(user=supervisor, since=NOW - timedelta(days=30), until=NOW + timedelta(days=1))
    assert flags == {"rate": [], "repeat_customers": [], "just_under": [], "new_accounts": []}


def test_agents_without_credits_count_as_peers(supervisor):
    """One agent crediting while four department colleagues issue none is out of line."""
    dept = DepartmentFactory(slug="claims")
    agents = [AgentFactory(departments=[dept]).user for _ in range(5)]
    for i in range(8):
        credit(agents[0], "20.00", department=dept, days_ago=1 + i)
    flags = credit_anomalies(user=supervisor, since=NOW - timedelta(days=30), until=NOW + timedelta(days=1))
    assert [f["agent_id"] for f in flags["rate"]] == [agents[0].pk]


def test_flags_only_look_at_the_period(world, supervisor):
    flags = credit_anomalies(user=supervisor, since=NOW - timedelta(days=400), until=NOW - timedelta(days=100))
    assert flags == {"rate": [], "repeat_customers": [], "just_under": [], "new_accounts": []}


def test_flags_are_for_supervisors_only(world, agent):
    flags = credit_anomalies(user=agent, since=NOW - timedelta(days=30), until=NOW + timedelta(days=1))
    assert flags == {"rate": [], "repeat_customers": [], "just_under": [], "new_accounts": []}
