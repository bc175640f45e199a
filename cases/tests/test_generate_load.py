"""generate_load: exactly the requested rows, consistent with each other and with the database constraints."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import F

from cases.loadgen import generate_load
from cases.models import AgentProfile, Case, CaseEvent, Department, GoodwillCredit, Message
from cases.services.cases import case_create
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
    assert not Case.objects.open().filter(sla_next_check_at__isnull=True).exists()
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
