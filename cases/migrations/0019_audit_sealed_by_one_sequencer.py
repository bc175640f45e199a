"""The audit chain is sealed by one sequencer instead of being locked by every money transaction.

Entries get a chain position (``seq``); ``prev_hash``/``hash`` are NULL until sealed. Existing entries (sealed
under the old scheme, chained in id order) get ``seq`` = their rank by id, so their hashes stay valid. On
PostgreSQL the append-only trigger of ``cases_auditlog`` is replaced by one that allows exactly one UPDATE of a
row — sealing it (NULL → seq/prev_hash/hash, every recorded field unchanged) — and refuses everything else.
"""

from django.db import migrations, models

SEAL_ONLY = """
CREATE OR REPLACE FUNCTION rh_auditlog_seal_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND OLD.seq IS NULL AND OLD.hash IS NULL AND OLD.prev_hash IS NULL
     AND NEW.seq IS NOT NULL AND NEW.hash IS NOT NULL AND NEW.prev_hash IS NOT NULL
     AND NEW.id = OLD.id
     AND NEW.occurred_at = OLD.occurred_at
     AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id
     AND NEW.actor_label = OLD.actor_label
     AND NEW.action = OLD.action
     AND NEW.object_type = OLD.object_type
     AND NEW.object_id = OLD.object_id
     AND NEW.data = OLD.data
     AND NEW.ip_address IS NOT DISTINCT FROM OLD.ip_address THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'table %% is append-only: %% refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def number_existing_and_install_trigger(apps, schema_editor):
    pg = schema_editor.connection.vendor == "postgresql"
    if pg:
        schema_editor.execute("DROP TRIGGER IF EXISTS cases_auditlog_append_only ON cases_auditlog;")
        schema_editor.execute(
            "UPDATE cases_auditlog a SET seq = r.n FROM "
            "(SELECT id, row_number() OVER (ORDER BY id) AS n FROM cases_auditlog) r WHERE a.id = r.id;"
        )
    else:
        schema_editor.execute(
            "UPDATE cases_auditlog SET seq = (SELECT count(*) FROM cases_auditlog b WHERE b.id <= cases_auditlog.id);"
        )
    schema_editor.execute("UPDATE cases_auditchainhead SET last_seq = (SELECT count(*) FROM cases_auditlog);")
    if pg:
        schema_editor.execute(SEAL_ONLY)
        schema_editor.execute(
            "CREATE TRIGGER cases_auditlog_append_only BEFORE UPDATE OR DELETE ON cases_auditlog "
            "FOR EACH ROW EXECUTE FUNCTION rh_auditlog_seal_only();"
        )


def restore_refuse_all(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP TRIGGER IF EXISTS cases_auditlog_append_only ON cases_auditlog;")
    schema_editor.execute("DROP FUNCTION IF EXISTS rh_auditlog_seal_only();")
    schema_editor.execute(
        "CREATE TRIGGER cases_auditlog_append_only BEFORE UPDATE OR DELETE ON cases_auditlog "
        "FOR EACH ROW EXECUTE FUNCTION rh_refuse_change();"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0018_case_board_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditchainhead",
            name="last_seq",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="auditlog",
            name="seq",
            field=models.BigIntegerField(
                blank=True, help_text="Chain position; NULL until sealed.", null=True, unique=True
            ),
        ),
        migrations.AlterField(
            model_name="auditlog",
            name="hash",
            field=models.CharField(blank=True, max_length=64, null=True, unique=True),
        ),
        migrations.AlterField(
            model_name="auditlog",
            name="prev_hash",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.RunPython(number_existing_and_install_trigger, restore_refuse_all),
        migrations.AddIndex(
            model_name="auditlog",
            index=models.Index(condition=models.Q(("seq__isnull", True)), fields=["id"], name="audit_unsealed"),
        ),
    ]
