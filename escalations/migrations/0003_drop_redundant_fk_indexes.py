"""A foreign key without its own single-column index where a composite index leading with the same column already
serves every lookup and every foreign-key check on it: conversations by (customer, started_at). Each write to the
table kept the duplicate up to date for nothing. Dropped CONCURRENTLY on PostgreSQL
(``DropForeignKeyIndexConcurrently`` of config.migration_ops)."""

import django.db.models.deletion
from django.db import migrations, models

from config.migration_ops import DropForeignKeyIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("customers", "0002_drop_redundant_fk_indexes"),
        ("escalations", "0002_supervisor_admin_view_permissions"),
    ]

    operations = [
        DropForeignKeyIndexConcurrently(
            model_name="conversation",
            name="customer",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="conversations",
                to="customers.customer",
            ),
        ),
    ]
