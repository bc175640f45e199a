"""Two sweeps at once (real transactions, two connections): each breach is recorded exactly once."""

import importlib
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction

from cases.models import Case, CaseEvent, Channel, SlaRecord
from cases.services.cases import case_create
from cases.services.sla import sla_sweep, sla_sweep_batch


@pytest.fixture
def default_policies(db):
    """transaction=True tests flush the tables the data migration seeded: seed the defaults again."""
    from django.apps import apps

    migration = importlib.import_module("cases.migrations.0011_seed_default_sla_policies")
    migration.seed(apps, None)


START = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("America/New_York"))


def _run_in_thread(fn, barrier, results, errors):
    def target():
        try:
            barrier.wait(timeout=10)
            results.append(fn())
        except Exception as exc:  # pragma: no cover - surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    return threading.Thread(target=target)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_record_each_breach_once(department, customer, default_policies):
    # Given 40 chat cases whose first response fell due while nothing swept
    for i in range(40):
        case_create(
            customer=customer,
            channel=Channel.CHAT,
            department=department,
            subject="Help",
            now=START + timedelta(seconds=i),
        )
    later = START + timedelta(minutes=30)
    # When two sweeps start at the same moment with small batches
    barrier, results, errors = threading.Barrier(2), [], []
    threads = [_run_in_thread(lambda: sla_sweep(now=later, batch_size=5), barrier, results, errors) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    # Then both finished, and every case has each breach exactly once between them
    assert not errors
    assert sum(r.cases for r in results) >= 40
    breaches = SlaRecord.objects.filter(level="breach", target="first_response")
    per_case = {}
    for case_id, due in breaches.values_list("case_id", "due_at"):
        per_case.setdefault(case_id, []).append(due)
    assert len(per_case) == 40
    assert all(len(dues) == len(set(dues)) for dues in per_case.values())
    assert sum(r.breaches for r in results) == SlaRecord.objects.filter(level="breach").count()
    assert (
        CaseEvent.objects.filter(type=CaseEvent.Type.SLA_BREACH).count()
        == SlaRecord.objects.filter(level="breach").count()
    )
    assert not Case.objects.filter(sla_next_check_at__lte=later).exists()


@pytest.mark.django_db(transaction=True)
def test_sweep_skips_a_case_locked_by_a_write_and_the_next_sweep_catches_it(department, customer, default_policies):
    case = case_create(customer=customer, channel=Channel.CHAT, department=department, subject="Help", now=START)
    later = START + timedelta(minutes=10)
    holding, release = threading.Event(), threading.Event()

    def writer():
        try:
            with transaction.atomic():
                Case.objects.select_for_update().get(pk=case.pk)
                holding.set()
                release.wait(timeout=10)
        finally:
            connection.close()

    t = threading.Thread(target=writer)
    t.start()
    assert holding.wait(timeout=10)
    # When a sweep runs while another transaction holds the row: it skips it, no wait, no record
    skipped = sla_sweep_batch(now=later)
    assert skipped.cases == 0 and not SlaRecord.objects.filter(case=case).exists()
    release.set()
    t.join(timeout=10)
    # Then the next sweep records the breach
    assert sla_sweep(now=later).breaches >= 1
    assert SlaRecord.objects.filter(case=case, level="breach", target="first_response").count() >= 1
