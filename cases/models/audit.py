"""Append-only, hash-chained audit log of every money action, role/limit change and refused money action."""

from django.db import models
from django.utils import timezone

from .core import AppendOnlyModel


class AuditLog(AppendOnlyModel):
    occurred_at = models.DateTimeField(default=timezone.now)
    actor_id = models.BigIntegerField(null=True, blank=True, help_text="User id; kept even if the user goes away.")
    actor_label = models.CharField(max_length=150, help_text="Username, 'system' or 'api-key:<name>'.")
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id} by {self.actor_label}"


class AuditChainHead(models.Model):
    """A single row locked while appending, so the chain is written in one order by concurrent transactions."""

    last_hash = models.CharField(max_length=64, default="0" * 64)
    last_id = models.BigIntegerField(default=0)
