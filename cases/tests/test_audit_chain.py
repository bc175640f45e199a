import threading

import pytest
from django.db import connection, transaction

from cases.models import AuditChainHead, AuditLog
from cases.services.audit import audit_record, audit_seal, audit_verify

pytestmark = pytest.mark.django_db


def _three_entries(actor):
    with transaction.atomic():
        for i in range(3):
            audit_record(action="credit.granted", object_type="credit", object_id=str(i), actor=actor, data={"n": i})


def test_chain_verifies_and_a_tampered_row_is_named(agent):
    _three_entries(agent)
    assert audit_verify() == (3, None)
    second = AuditLog.objects.order_by("id")[1]
    with connection.cursor() as cur:
        cur.execute("ALTER TABLE cases_auditlog DISABLE TRIGGER cases_auditlog_append_only")
        cur.execute("UPDATE cases_auditlog SET data = '{\"n\": 99}' WHERE id = %s", [second.pk])
        cur.execute("ALTER TABLE cases_auditlog ENABLE TRIGGER cases_auditlog_append_only")
    checked, broken = audit_verify()
    assert checked == 1 and broken.pk == second.pk


def test_audit_rows_refuse_update_and_delete_in_postgresql(agent):
    _three_entries(agent)
    for sql in ("UPDATE cases_auditlog SET action = 'x'", "DELETE FROM cases_auditlog"):
        with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql)
    assert AuditLog.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_audit_record_outside_a_transaction_is_a_programming_error(agent):
    with pytest.raises(RuntimeError):
        audit_record(action="x", object_type="t", object_id="1", actor=agent)


def test_manage_py_audit_verify_names_the_first_broken_entry_and_exits_non_zero(agent):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    _three_entries(agent)
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert "OK: 3 audit entries" in out.getvalue()
    first = AuditLog.objects.order_by("id")[0]
    with connection.cursor() as cur:
        cur.execute("ALTER TABLE cases_auditlog DISABLE TRIGGER cases_auditlog_append_only")
        cur.execute("UPDATE cases_auditlog SET actor_label = 'mallory' WHERE id = %s", [first.pk])
        cur.execute("ALTER TABLE cases_auditlog ENABLE TRIGGER cases_auditlog_append_only")
    err = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("audit_verify", stderr=err)
    assert exc.value.returncode == 1
    assert f"#{first.pk}" in err.getvalue() and "0 entries before it verify" in err.getvalue()


@pytest.mark.django_db(transaction=True)
def test_audit_verify_command_exit_code_from_the_shell(agent):
    """The real process exit code, as a cron job or CI would see it (committed rows, separate process)."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    _three_entries(agent)
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    cmd = [sys.executable, "manage.py", "audit_verify"]
    ok = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "OK: 3 audit entries" in ok.stdout, ok.stderr
    third = AuditLog.objects.order_by("id")[2]
    with connection.cursor() as cur:
        cur.execute("ALTER TABLE cases_auditlog DISABLE TRIGGER cases_auditlog_append_only")
        cur.execute("UPDATE cases_auditlog SET ip_address = '203.0.113.66' WHERE id = %s", [third.pk])
        cur.execute("ALTER TABLE cases_auditlog ENABLE TRIGGER cases_auditlog_append_only")
    broken = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert broken.returncode == 1
    assert f"BROKEN at audit entry #{third.pk}" in broken.stderr


def _entries(actor, n):
    with transaction.atomic():
        for i in range(n):
            audit_record(action="credit.granted", object_type="credit", object_id=str(i), actor=actor, data={"n": i})


def _raw(*statements):
    with connection.cursor() as cur:
        cur.execute("ALTER TABLE cases_auditlog DISABLE TRIGGER cases_auditlog_append_only")
        for sql, params in statements:
            cur.execute(sql, params)
        cur.execute("ALTER TABLE cases_auditlog ENABLE TRIGGER cases_auditlog_append_only")


def test_entries_are_written_unsealed_and_verify_seals_them_in_order_first(agent):
    _entries(agent, 3)
    assert list(AuditLog.objects.values_list("seq", "hash")) == [(None, None)] * 3
    assert audit_verify() == (3, None)
    rows = list(AuditLog.objects.order_by("id"))
    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == "0" * 64 and rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    assert audit_seal() == 0  # nothing left


def test_a_removed_entry_is_detected_at_the_next_one(agent):
    _entries(agent, 5)
    audit_verify()
    third, fourth = AuditLog.objects.order_by("seq")[2:4]
    _raw(("DELETE FROM cases_auditlog WHERE id = %s", [third.pk]))
    checked, broken = audit_verify()
    assert checked == 2 and broken.pk == fourth.pk


def test_reordered_entries_are_detected(agent):
    _entries(agent, 4)
    audit_verify()
    second, third = AuditLog.objects.order_by("seq")[1:3]
    _raw(
        ("UPDATE cases_auditlog SET seq = -1 WHERE id = %s", [second.pk]),
        ("UPDATE cases_auditlog SET seq = 2 WHERE id = %s", [third.pk]),
        ("UPDATE cases_auditlog SET seq = 3 WHERE id = %s", [second.pk]),
    )
    checked, broken = audit_verify()
    assert checked == 1 and broken.pk == third.pk


def test_an_unsealed_then_resealed_entry_is_detected(agent):
    """Tampering by clearing a seal (to have the sequencer seal edited content again) leaves a hole."""
    _entries(agent, 3)
    audit_verify()
    second, third = AuditLog.objects.order_by("seq")[1:3]
    _raw(
        (
            "UPDATE cases_auditlog SET seq = NULL, hash = NULL, prev_hash = NULL, data = '{\"n\": 99}' WHERE id = %s",
            [second.pk],
        ),
    )
    checked, broken = audit_verify()
    assert checked == 1 and broken.pk == third.pk


def test_a_removed_last_entry_is_detected_by_the_chain_head(agent):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    _entries(agent, 3)
    audit_verify()
    last = AuditLog.objects.order_by("seq").last()
    _raw(("DELETE FROM cases_auditlog WHERE id = %s", [last.pk]))
    checked, broken = audit_verify()
    assert checked == 2 and broken.pk is None and broken.seq == 3
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("audit_verify", stderr=err)
    assert "chain position 3" in err.getvalue()


def test_the_trigger_allows_sealing_once_and_nothing_else(agent):
    _entries(agent, 2)
    first, second = AuditLog.objects.order_by("id")
    refused = [
        ("UPDATE cases_auditlog SET data = '{\"n\": 5}' WHERE id = %s", [first.pk]),  # unsealed content
        ("UPDATE cases_auditlog SET seq = 7, prev_hash = 'x', hash = 'y', action = 'z' WHERE id = %s", [first.pk]),
        ("DELETE FROM cases_auditlog WHERE id = %s", [first.pk]),
    ]
    for sql, params in refused:
        with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, params)
    assert audit_seal() == 2
    for sql, params in [
        ("UPDATE cases_auditlog SET seq = 9 WHERE id = %s", [second.pk]),  # a sealed entry is final
        ("UPDATE cases_auditlog SET seq = NULL, hash = NULL, prev_hash = NULL WHERE id = %s", [second.pk]),
    ]:
        with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, params)
    assert audit_verify() == (2, None)


@pytest.mark.django_db(transaction=True)
def test_money_writers_never_wait_for_the_chain_head(agent):
    """A sealer holding the head (for as long as it likes) does not delay any transaction that records."""
    locked, release = threading.Event(), threading.Event()
    AuditChainHead.objects.get_or_create(pk=1)

    def sealer_holding_the_head():
        try:
            with transaction.atomic():
                AuditChainHead.objects.select_for_update().get(pk=1)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=sealer_holding_the_head)
    thread.start()
    try:
        assert locked.wait(10)
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("SET LOCAL lock_timeout = '300ms'")
            audit_record(action="credit.granted", object_type="credit", object_id="1", actor=agent)
        assert audit_seal(wait=False) == 0  # the non-blocking sealer skips, leaving it to the one at work
    finally:
        release.set()
        thread.join()
    assert audit_verify() == (1, None)


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_and_sealers_build_one_unbroken_chain(agent):
    errors = []

    def writer(w):
        try:
            for i in range(15):
                with transaction.atomic():
                    audit_record(action="refund.issued", object_type="refund", object_id=f"{w}-{i}", actor=agent)
                    audit_record(action="refund.note", object_type="refund", object_id=f"{w}-{i}", actor=agent)
                audit_seal(wait=(i % 5 == 0))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert audit_verify() == (180, None)
    assert sorted(AuditLog.objects.values_list("seq", flat=True)) == list(range(1, 181))
