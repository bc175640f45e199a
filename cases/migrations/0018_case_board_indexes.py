"""Indexes for the queue board, built CONCURRENTLY on PostgreSQL (cases is the big table): waiting counts per
department × channel, the head of the queue with its department, and held cases per associate × channel, all
read by index-only scans (docs/BENCHMARKS.md, "Queue board")."""

from django.db import migrations, models
from django.db.models import Q

from config.migration_ops import AddIndexConcurrentlyWherePossible


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("cases", "0017_case_take_next_order")]

    operations = [
        AddIndexConcurrentlyWherePossible(
            model_name="case",
            index=models.Index(
                condition=Q(status="new"),
                fields=["department", "channel", "priority", "queued_at"],
                name="case_waiting_counts",
            ),
        ),
        AddIndexConcurrentlyWherePossible(
            model_name="case",
            index=models.Index(
                condition=Q(status="new"),
                fields=["priority", "sla_due_at", "queued_at", "id"],
                include=["department"],
                name="case_queue_head",
            ),
        ),
        AddIndexConcurrentlyWherePossible(
            model_name="case",
            index=models.Index(
                condition=Q(status__in=["assigned", "waiting_customer"]),
                fields=["assignee", "channel", "priority", "sla_due_at", "id"],
                name="case_held_load",
            ),
        ),
    ]
