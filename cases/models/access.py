"""Machine clients (assistant, telephony, social listener, carrier feed, payments) authenticate with API keys."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiKey(models.Model):
    class Scope(models.TextChoices):
        INTAKE = "intake", "Channel intake"
        CARRIER = "carrier", "Carrier scans"
        CASES_READ = "cases:read", "Read cases"
        CASES_WRITE = "cases:write", "Work cases"
        REFUNDS = "refunds", "Refunds"

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True, help_text="Public part shown in lists and logs.")
    key_hash = models.CharField(max_length=64, help_text="SHA-256 of the secret; the secret itself is never stored.")
    scopes = models.JSONField(default=list)
    webhook_secret = models.CharField(max_length=64, blank=True, help_text="Shared secret for signed webhooks.")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class StaffSession(models.Model):
    """One signed-in staff session, so deactivating an account can end all of its sessions at once.

    Only the session key is kept (the session data stays in the session store)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_sessions", db_index=False
    )
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"], name="staff_session_user")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.session_key[:6]}…"


class IdempotencyRecord(models.Model):
    """Stripe-style idempotency for unsafe API calls: one row per (principal, Idempotency-Key).

    The same key with the same request replays the first response; with a different request it is refused (422).
    """

    principal = models.CharField(max_length=64, help_text='"user:<id>" or "key:<id>".')
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and canonical body.")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Null while in flight.")
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["principal", "key"], name="idempotency_unique_key")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.principal}:{self.key}"
