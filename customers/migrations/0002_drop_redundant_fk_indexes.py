"""Foreign keys without their own single-column index where a composite index leading with the same column
already serves every lookup and every foreign-key check on it: orders by (customer, placed_at), carrier scans by
(shipment, occurred_at). Each write to these tables kept the duplicate up to date for nothing. Dropped CONCURRENTLY
on PostgreSQL (``DropForeignKeyIndexConcurrently`` of config.migration_ops)."""

import django.db.models.deletion
from django.db import migrations, models

from config.migration_ops import DropForeignKeyIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("customers", "0001_initial"),
    ]

    operations = [
        DropForeignKeyIndexConcurrently(
            model_name="carrierscan",
            name="shipment",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="scans",
                to="customers.shipment",
            ),
        ),
        DropForeignKeyIndexConcurrently(
            model_name="order",
            name="customer",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="orders",
                to="customers.customer",
            ),
        ),
    ]
