"""generate_load: exactly the requested rows, consistent with each other and with the database constraints."""

import re
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import F, Max

from cases.loadgen import SLA_FIELDS, generate_load
from cases.models import AgentProfile, Case, CaseEvent, Department, GoodwillCredit, Message, SlaRecord
from cases.services.cases import case_create
from cases.services.queue import case_take_next
from cases.services.sla import sla_prepare, sla_sweep
from cases.tests.factories import AgentFactory
from cases.tests.test_take_next_round_trips import _round_trips
from customers.models import Address, Customer, Order, OrderItem

pytestmark = pytest.mark.django_db
REFERENCE = re.compile(r"^CS-\d{4}-\d{6,}$")


def quiet(desc, total):
    class Bar:
        def update(self, n):
            pass

        def close(self):
            pass

    return Bar()


@pytest.mark.parametrize("method", ["copy", "orm"])
def test_creates_exactly_the_requested_rows_and_they_hang_together(method):
    # given an empty world
    # when load is generated with the COPY writer (PostgreSQL) or the bulk_create writer (SQLite's path)
    result = generate_load(
        customers=40, orders=120, cases=300, open_cases=70, credits=90, agents=8, method=method, progress_factory=quiet
    )

    # then the counts are exactly those requested
    assert (Customer.objects.count(), Order.objects.count(), Case.objects.count()) == (40, 120, 300)
    assert Case.objects.open().count() == 70 == result.open_cases
    assert GoodwillCredit.objects.count() == 90
    assert AgentProfile.objects.count() == 8
    assert Address.objects.count() == 40
    assert OrderItem.objects.count() == result.items >= 120
    assert Message.objects.count() == 300
    assert CaseEvent.objects.filter(type="created").count() == 300
    assert set(Department.objects.values_list("slug", flat=True)) >= {"general", "fraud", "social", "pharmacy"}

    # references are what case_create would have written
    for pk, reference, created in Case.objects.values_list("pk", "reference", "created_at"):
        assert REFERENCE.match(reference)
        assert reference == Case.make_reference(pk, created.year)

    # a case's order belongs to the case's customer, its item to its order, its value is the item's price
    for case in Case.objects.filter(order__isnull=False).select_related("order", "order_item"):
        assert case.order.customer_id == case.customer_id
        assert case.order_item.order_id == case.order_id
        assert case.value_at_stake == case.order_item.unit_price

    # order totals are the sum of their items
    for order in Order.objects.prefetch_related("items")[:50]:
        assert order.total == sum(i.unit_price * i.quantity for i in order.items.all())

    # worked cases have an assignee; open cases carry SLA due fields; resolved ones are out of the sweep index
    assert not Case.objects.exclude(status="new").filter(assignee__isnull=True).exists()
    assert not Case.objects.open().filter(resolution_due_at__isnull=True).exists()
    assert not Case.objects.exclude(status__in=Case.OPEN_STATUSES).filter(sla_next_check_at__isnull=False).exists()
    assert not GoodwillCredit.objects.filter(decided_by=F("issued_by")).exists()


def test_sequences_are_reset_so_ordinary_inserts_follow(customer):
    # given generated load
    generate_load(customers=5, orders=5, cases=10, open_cases=3, credits=4, agents=3, progress_factory=quiet)

    # when a case is opened the ordinary way
    case = case_create(
        customer=customer, channel="chat", department=Department.objects.get(slug="general"), subject="Help"
    )

    # then it gets the next id and a fresh reference
    assert case.pk == Case.objects.order_by("-pk").values_list("pk", flat=True)[0]
    assert Case.objects.filter(reference=case.reference).count() == 1


def test_command_reports_counts_and_rejects_impossible_requests():
    out = StringIO()
    call_command("generate_load", "--customers=3", "--orders=4", "--cases=6", "--open=2", "--credits=2", stdout=out)
    assert "cases=6" in out.getvalue()
    assert Case.objects.count() == 6

    with pytest.raises(Exception, match="cannot exceed"):
        call_command("generate_load", "--cases=2", "--open=5", stdout=StringIO())


def test_a_dangling_reference_written_by_the_fast_path_is_caught():
    from django.db import connection, transaction

    from cases.loadgen import _check_foreign_keys

    # given a message row pointing at a case that does not exist, written with the FK triggers off
    with pytest.raises(RuntimeError, match=r"Message\.case point at nothing"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(
                "INSERT INTO cases_message (id, case_id, kind, body, created_at) "
                "VALUES (987654, 987654, 'customer', 'x', now())"
            )
            cursor.execute("SET LOCAL session_replication_role = origin")
        # when the set-based check runs, then the load is refused (and rolled back)
        _check_foreign_keys({Message: 987654})
    assert not Message.objects.filter(pk=987654).exists()


NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # a Tuesday: the business-hours departments are open


def _sla_state(case):
    return tuple(getattr(case, name) for name in SLA_FIELDS)


@pytest.mark.parametrize("method", ["copy", "orm"])
def test_open_cases_hold_the_sla_state_the_app_would_have_stored(method):
    # given generated load with a fifth of the open cases due for the sweep
    result = generate_load(
        customers=30, orders=60, cases=400, open_cases=150, credits=0, agents=6, due_fraction=0.2, now=NOW,
        method=method, progress_factory=quiet,
    )  # fmt: skip

    # when the SLA engine recomputes every open case from what is in the database (policy, calendar, messages,
    # recorded points: nothing passed in)
    due = []
    for case in Case.objects.open().select_related("department"):
        stored = _sla_state(case)
        update = sla_prepare(case=case, now=NOW)
        # then it would store exactly what was generated, and has no breach met late left to record
        assert _sla_state(case) == stored, case.reference
        assert update.late == []
        if case.sla_next_check_at is not None and case.sla_next_check_at <= NOW:
            due.append(case.pk)
    # every point already passed is recorded (as the sweep would have), except on the due cases
    assert result.sla_records == SlaRecord.objects.count() > 0
    assert not SlaRecord.objects.filter(point_at__gt=NOW).exists()
    assert 10 <= len(due) <= 50  # ≈ 20 % of 150
    assert Case.objects.open().filter(sla_policy__isnull=False).count() == 150


def test_the_sweep_finds_exactly_the_due_cases_and_one_new_point_on_each():
    # given generated load, some of it due
    generate_load(
        customers=30, orders=60, cases=300, open_cases=120, credits=0, agents=6, due_fraction=0.2, now=NOW,
        progress_factory=quiet,
    )  # fmt: skip
    due = set(Case.objects.filter(sla_next_check_at__lte=NOW).values_list("pk", flat=True))
    last = SlaRecord.objects.aggregate(last=Max("pk"))["last"] or 0
    assert due

    # when the sweep runs at that moment
    result = sla_sweep(now=NOW)

    # then it worked on the due cases only, recorded one point on each, and left none due
    assert result.cases == len(due)
    new = SlaRecord.objects.filter(pk__gt=last)
    assert set(new.values_list("case_id", flat=True)) == due
    assert new.count() == len(due)
    assert not Case.objects.filter(sla_next_check_at__lte=NOW).exists()


@pytest.mark.django_db(transaction=True)
def test_a_claim_on_generated_data_sends_nothing_after_its_commit():
    # given generated load (bench/take_next.py claims from it) and an associate of every department
    generate_load(customers=30, orders=60, cases=300, open_cases=150, credits=0, agents=4, progress_factory=quiet)
    associate = AgentFactory(
        user__username="claimer",
        departments=list(Department.objects.all()),
        capacity_chat=50, capacity_call=50, capacity_social=50, capacity_async=50,
    ).user  # fmt: skip
    case_take_next(user=associate)  # statements prepared

    # when they take next again and again
    for _ in range(10):
        head = Case.objects.filter(status=Case.Status.NEW).order_by("priority", "sla_due_at", "queued_at", "id")[0]
        case, trips = _round_trips(lambda: case_take_next(user=associate))
        # then each claim is its one round trip: the due times it computes are the ones stored, nothing to settle
        assert trips == 1
        assert case.pk == head.pk
        assert _sla_state(Case.objects.get(pk=case.pk)) == _sla_state(head)
