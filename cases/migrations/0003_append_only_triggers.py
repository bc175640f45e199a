"""On PostgreSQL the audit log and the case timeline refuse UPDATE and DELETE (row triggers; TRUNCATE is left to grants so the test runner can flush)."""

from django.db import migrations

TABLES = ["cases_auditlog", "cases_caseevent"]

FUNCTION = """
CREATE OR REPLACE FUNCTION rh_refuse_change() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'table %% is append-only: %% refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION rh_refuse_change();"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
    schema_editor.execute("DROP FUNCTION IF EXISTS rh_refuse_change();")


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_roles_groups")]
    operations = [migrations.RunPython(forwards, backwards)]
