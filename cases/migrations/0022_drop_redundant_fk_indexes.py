"""Foreign keys without their own single-column index where a composite index leading with the same column
already serves every lookup and every foreign-key check on it: case events and messages by (case, id), cases by
(assignee, status) and (customer, created_at), SLA records by (case, level), credits by (customer, created_at) and
(issued_by, created_at), and the rest likewise. Each write to these tables kept the duplicate up to date for
nothing. Dropped CONCURRENTLY on PostgreSQL (``DropForeignKeyIndexConcurrently``)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from config.migration_ops import DropForeignKeyIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("cases", "0021_agentprofile_last_seen_at"),
        ("customers", "0002_drop_redundant_fk_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        DropForeignKeyIndexConcurrently(
            model_name="callbackattempt",
            name="callback",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="dial_attempts",
                to="cases.callback",
            ),
        ),
        DropForeignKeyIndexConcurrently(
            model_name="case",
            name="assignee",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="assigned_cases",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        DropForeignKeyIndexConcurrently(
            model_name="case",
            name="customer",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="cases",
                to="customers.customer",
            ),
        ),
        DropForeignKeyIndexConcurrently(
            model_name="caseevent",
            name="case",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="events", to="cases.case"
            ),
        ),
        DropForeignKeyIndexConcurrently(
            model_name="caseviewer",
            name="case",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="viewers", to="cases.case"
            ),
        ),
        DropForeignKeyIndexConcurrently(
            model_name="deliverydispute",
            name="customer",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="delivery_disputes",
                to="customers.customer",
            ),
        ),
        DropForeignKeyIndexConcurrently(
            model_name="goodwillcredit",
            name="customer",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="credits",
                to="customers.customer",
            ),
        ),
        DropForeignKeyIndexConcurrently(
            model_name="goodwillcredit",
            name="issued_by",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="credits_issued",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        DropForeignKeyIndexConcurrently(
            model_name="holiday",
            name="department",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="holidays",
                to="cases.department",
            ),
        ),
        DropForeignKeyIndexConcurrently(
            model_name="message",
            name="case",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="messages", to="cases.case"
            ),
        ),
        DropForeignKeyIndexConcurrently(
            model_name="notification",
            name="customer",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="notifications",
                to="customers.customer",
            ),
        ),
        DropForeignKeyIndexConcurrently(
            model_name="slarecord",
            name="case",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="sla_records", to="cases.case"
            ),
        ),
        DropForeignKeyIndexConcurrently(
            model_name="staffsession",
            name="user",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="staff_sessions",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
