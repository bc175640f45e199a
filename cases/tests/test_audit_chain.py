import pytest
from django.db import connection, transaction

from cases.models import AuditLog
from cases.services.audit import audit_record, audit_verify

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
