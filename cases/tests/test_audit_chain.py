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
