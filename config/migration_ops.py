"""Operations used by the migrations of our apps (customers, cases, escalations): here, not in an app, so that no
app's migrations import an app above it. Imported by migrations: keep what is here backwards compatible."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations
from django.db.models import Index


class DropForeignKeyIndexConcurrently(migrations.AlterField):
    """``AlterField`` to a foreign key with ``db_index=False`` whose single-column index a composite index leading
    with the same column makes redundant. Django's own ``AlterField`` drops the index with a plain DROP INDEX, which
    takes the table's exclusive lock and waits behind every running query on it; on PostgreSQL this drops it
    CONCURRENTLY (no lock on reads and writes) and only if it exists. The index is found by introspection, as
    ``AlterField`` finds it (the one index on exactly that column, outside ``Meta.indexes``). Backwards and on
    SQLite it is ``AlterField``. The migration using it must be ``atomic = False``."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        column = model._meta.get_field(self.name).column
        declared = {index.name for index in model._meta.indexes}
        for name in schema_editor._constraint_names(model, [column], index=True, type_=Index.suffix, exclude=declared):
            schema_editor.execute(schema_editor._delete_index_sql(model, name, concurrently=True))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        # ``AlterField`` runs backwards as its forwards with the states swapped: the index is built again
        super().database_forwards(app_label, schema_editor, from_state, to_state)


class AddIndexConcurrentlyWherePossible(AddIndexConcurrently):
    """CONCURRENTLY on PostgreSQL (cases is the big table: no write lock while it builds); a plain CREATE INDEX on
    the embedded SQLite default. The migration using it must be ``atomic = False``."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
