"""Append-only, hash-chained audit log of every money action, role/limit change and refused money action.

An entry is written (INSERT only, no lock) in the transaction of the change it records, *unsealed*: ``seq``,
``prev_hash`` and ``hash`` are NULL. A single sequencer (``cases.services.audit.audit_seal``, holding the
``AuditChainHead`` row lock) later gives committed entries their chain position and hash in one UPDATE; the
PostgreSQL trigger allows exactly that one change (NULL → sealed, content untouched) and refuses every other
UPDATE and every DELETE. See docs/CREDITS_AND_AUDIT.md.
"""

from django.db import models
from django.db.models import Q
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
    seq = models.BigIntegerField(null=True, blank=True, unique=True, help_text="Chain position; NULL until sealed.")
    prev_hash = models.CharField(max_length=64, null=True, blank=True)
    hash = models.CharField(max_length=64, unique=True, null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["id"], condition=Q(seq__isnull=True), name="audit_unsealed"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id} by {self.actor_label}"


class AuditChainHead(models.Model):
    """The chain's tip. Only the sealer locks it (never a money transaction), so the chain is sealed in one order."""

    last_hash = models.CharField(max_length=64, default="0" * 64)
    last_id = models.BigIntegerField(default=0)
    last_seq = models.BigIntegerField(default=0)
