"""Index for take-next across departments, built CONCURRENTLY on PostgreSQL (cases is the big table)."""

from django.db import migrations, models
from django.db.models import Q

from config.migration_ops import AddIndexConcurrentlyWherePossible


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
