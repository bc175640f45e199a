"""On PostgreSQL goodwill credits are never deleted and never edited: the only UPDATE allowed is the one decision
(pending → approved / rejected, with who and when). A reversal is a new row."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION rh_credit_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'goodwill credits are never deleted: reverse them with a new entry'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.status <> 'pending'
     OR NEW.amount <> OLD.amount OR NEW.currency <> OLD.currency OR NEW.kind <> OLD.kind
     OR NEW.customer_id <> OLD.customer_id OR NEW.case_id IS DISTINCT FROM OLD.case_id
     OR NEW.reverses_id IS DISTINCT FROM OLD.reverses_id OR NEW.issued_by_id <> OLD.issued_by_id
     OR NEW.issued_by_role <> OLD.issued_by_role OR NEW.reason_code <> OLD.reason_code
     OR NEW.note <> OLD.note OR NEW.created_at <> OLD.created_at THEN
    RAISE EXCEPTION 'goodwill credits are never edited: only a pending credit is decided, once'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    schema_editor.execute(
        "CREATE TRIGGER cases_goodwillcredit_guard BEFORE UPDATE OR DELETE ON cases_goodwillcredit "
        "FOR EACH ROW EXECUTE FUNCTION rh_credit_guard();"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP TRIGGER IF EXISTS cases_goodwillcredit_guard ON cases_goodwillcredit;")
    schema_editor.execute("DROP FUNCTION IF EXISTS rh_credit_guard();")


class Migration(migrations.Migration):
    dependencies = [("cases", "0005_credit_limit_defaults")]
    operations = [migrations.RunPython(forwards, backwards)]
