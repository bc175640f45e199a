"""Index for take-next across departments, built CONCURRENTLY on PostgreSQL (cases is the big table)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models
from django.db.models import Q


class AddIndexConcurrentlyWherePossible(AddIndexConcurrently):
    """CONCURRENTLY on PostgreSQL; a plain CREATE INDEX on the embedded SQLite default."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("cases", "0016_api_idempotency_records")]

    operations = [
        AddIndexConcurrentlyWherePossible(
            model_name="case",
            index=models.Index(
                condition=Q(status="new"),
                fields=["priority", "sla_due_at", "queued_at", "id"],
                name="case_take_next_order",
            ),
        ),
    ]
