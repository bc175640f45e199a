"""The local payments sandbox: the default adapter records every payout here (one row per idempotency key)."""

from django.db import models
from django.utils import timezone


class SandboxPayout(models.Model):
    idempotency_key = models.CharField(max_length=200, unique=True, help_text="refund:<the refund's own key>")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    calls = models.PositiveIntegerField(default=1, help_text="How many times the adapter was asked for this key.")

    def __str__(self) -> str:
        return f"{self.reference} {self.amount} {self.currency}"
