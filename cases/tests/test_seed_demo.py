"""`manage.py seed_demo`: a believable world, the same every time, and a second run changes nothing."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from cases.demo import DEMO_LOGINS, DEMO_PASSWORD, seed_demo
from cases.models import Callback, Case, CaseEvent, Channel, Department
from customers.models import CarrierScan, Customer, Order, SubscriptionCharge

pytestmark = pytest.mark.django_db

COUNTED = [m for app in ("customers", "cases", "escalations") for m in apps.get_app_config(app).get_models()]


def _counts() -> dict[str, int]:
    counts = {m._meta.label: m.objects.count() for m in COUNTED}
    counts["auth.User"] = get_user_model().objects.count()
    return counts


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Seed once for the module inside a transaction that is rolled back at the end (each test runs in a
    savepoint within it, so what one test adds is gone before the next)."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            seed_demo(customers=120)
            yield _counts()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def test_a_second_run_changes_nothing(seeded):
    # Given a seeded world / When seed_demo runs again (through the command, as `make run` does)
    call_command("seed_demo", "--customers", "120")
    # Then every table has exactly the same number of rows
    assert _counts() == seeded
    assert seeded["customers.Customer"] == 121 and seeded["cases.Case"] > 40


def test_it_is_deterministic_per_customer(seeded):
    # Given the first 30 customers of a 120-customer seed
    def fingerprint():
        rows = Customer.objects.filter(email__lt="customer031").order_by("email")
        return [(c.email, c.name, c.phone, [str(o.total) for o in c.orders.order_by("number")]) for c in rows]

    before = fingerprint()
    # When the world is grown to 150 customers
    seed_demo(customers=150)
    # Then the existing customers are untouched and the new ones were added
    assert fingerprint() == before
    assert Customer.objects.count() == 151


def test_every_channel_has_open_cases_in_every_department(seeded):
    open_pairs = set(Case.objects.open().values_list("department__slug", "channel"))
    expected = {(d, c) for d in Department.objects.values_list("slug", flat=True) for c in Channel.values}
    assert expected <= open_pairs
    assert len(expected) == 36


def test_cases_were_opened_through_the_services_so_timelines_are_right(seeded):
    cases = Case.objects.all()
    assert cases.filter(reference__isnull=True).count() == 0
    created = set(CaseEvent.objects.filter(type=CaseEvent.Type.CREATED).values_list("case_id", flat=True))
    assert created == set(cases.values_list("id", flat=True))
    callbacks = cases.filter(channel=Channel.CALLBACK)
    assert callbacks.exists() and Callback.objects.count() == callbacks.count()
    assert cases.filter(status=Case.Status.ASSIGNED, assignee__isnull=False).exists()
    assert not cases.filter(sla_due_at__isnull=True, status=Case.Status.NEW).exists()
    # a case opened earlier than the seeding (its wait in the queue) has its "Created" event at that time too
    assert cases.filter(created_at__lt=timezone.now() - timedelta(hours=1)).exists()
    created_events = CaseEvent.objects.filter(type=CaseEvent.Type.CREATED)
    assert not created_events.exclude(created_at=F("case__created_at")).exists()


def test_the_world_has_what_the_evidence_checks_need(seeded):
    assert Order.objects.filter(total__gt=500).exists()
    delivered = CarrierScan.objects.filter(kind=CarrierScan.Kind.DELIVERED)
    assert delivered.exclude(photo_ref="").filter(latitude__isnull=False).count() > 20
    assert Order.objects.filter(shipments__status="lost").exists()
    assert Order.objects.filter(shipments__status="delayed").exists()
    assert SubscriptionCharge.objects.filter(charged_at__gt=F("subscription__cancelled_at")).count() >= 2


def test_carol_has_her_story(seeded):
    # Given the demo customer login
    user = authenticate(username="carol", password=DEMO_PASSWORD)
    assert user is not None
    carol = user.customer
    # Then: Prime charged after she cancelled it
    assert SubscriptionCharge.objects.filter(
        subscription__customer=carol, charged_at__gt=F("subscription__cancelled_at")
    ).exists()
    # a Delivered order with a photo and a GPS point
    scan = CarrierScan.objects.filter(
        shipment__order__customer=carol, kind="delivered", photo_ref__startswith="delivery-photos/"
    ).first()
    assert scan is not None and scan.latitude is not None
    assert scan.shipment.order.status == Order.Status.DELIVERED
    # and at least one open case, one of them about that parcel
    assert carol.cases.open().filter(order=scan.shipment.order).exists()


def test_every_demo_login_works(seeded):
    for username, _role in DEMO_LOGINS:
        assert authenticate(username=username, password=DEMO_PASSWORD) is not None, username


def test_associates_start_available_and_seeded_holds_respect_capacity(seeded):
    # Given the seeded staff
    from cases.models import AgentProfile, Role
    from cases.services.queue import CAPACITY_GROUPS, agent_load

    profiles = AgentProfile.objects.select_related("user")
    # Then the associates can take work on the first click; supervisors watch the board
    assert {p.user.username for p in profiles if p.presence == AgentProfile.Presence.AVAILABLE} == {
        "alice",
        "bob",
        "sofia",
    }
    # And no seeded assignment puts anyone over capacity, and supervisors hold nothing
    for profile in profiles:
        load = agent_load(user_id=profile.user_id)
        if profile.role == Role.SUPERVISOR:
            assert sum(load.values()) == 0, profile.user.username
        for group, channels in CAPACITY_GROUPS.items():
            assert load[group] <= profile.capacity_for(channels[0]), (profile.user.username, group, load)


def test_the_console_has_credits_to_audit(seeded):
    # Given the seeded goodwill credits
    from datetime import timedelta

    from django.utils import timezone

    from cases.console_selectors import approval_queue, credit_anomalies
    from cases.models import GoodwillCredit
    from cases.services.audit import audit_verify

    sam = get_user_model().objects.get(username="sam")
    credits = GoodwillCredit.objects.all()
    # Then there are four weeks of credits by the three associates, all through the services
    assert credits.filter(kind=GoodwillCredit.Kind.CREDIT).count() > 30
    assert set(credits.values_list("issued_by__username", flat=True)) >= {"alice", "bob", "sofia"}
    # And what a supervisor acts on: one pending credit, decisions by a supervisor who did not issue, a reversal
    assert [c.issued_by.username for c in approval_queue(user=sam)] == ["alice"]
    decided = credits.filter(decided_by__isnull=False)
    assert set(decided.values_list("status", flat=True)) == {
        GoodwillCredit.Status.APPROVED,
        GoodwillCredit.Status.REJECTED,
    }
    assert all(c.decided_by_id != c.issued_by_id for c in decided)
    assert credits.filter(kind=GoodwillCredit.Kind.REVERSAL).count() == 1
    # And the anomaly flags catch Bob's repeated just-under-the-limit credits to one customer
    now = timezone.now()
    flags = credit_anomalies(user=sam, since=now - timedelta(days=30), until=now + timedelta(minutes=1))
    assert any("bob" in str(flag) for flag in flags["just_under"]), flags["just_under"]
    bobs_repeat = (
        credits.filter(issued_by__username="bob", kind=GoodwillCredit.Kind.CREDIT)
        .values("customer_id")
        .annotate(n=Count("id"))
        .filter(n__gte=3)
        .values_list("customer_id", flat=True)
    )
    assert bobs_repeat and set(bobs_repeat) <= {row["customer_id"] for row in flags["repeat_customers"]}
    # And Carol's own Message Center is not flooded with credit notices
    assert not credits.filter(customer__email="carol@example.com").exists()
    # And every credit action is in an intact audit chain
    assert audit_verify()[1] is None
