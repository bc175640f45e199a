"""Call Me Now: the back office dials the customer. Intake (escalations) creates them through cases services."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from customers.validators import E164_REGEX

from .core import Case


class Callback(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for an associate"
        OFFERED = "offered", "Offered to an associate"
        DIALING = "dialing", "Dialing"
        RETRY_WAIT = "retry_wait", "Waiting to retry"
        CONNECTED = "connected", "Connected"
        FAILED = "failed", "Gave up"
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled"

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="callback")
    phone = models.CharField(max_length=16)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    requested_at = models.DateTimeField(default=timezone.now)
    offered_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    offered_at = models.DateTimeField(null=True, blank=True)
    first_dialed_at = models.DateTimeField(null=True, blank=True, help_text="Ring-time SLA: request → first dial.")
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(phone__regex=E164_REGEX), name="callback_phone_e164")]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "offered", "retry_wait"]),
                name="callback_due",
            )
        ]

    @property
    def ring_seconds(self) -> float | None:
        if self.first_dialed_at is None:
            return None
        return (self.first_dialed_at - self.requested_at).total_seconds()


class CallbackAttempt(models.Model):
    class Outcome(models.TextChoices):
        CONNECTED = "connected", "Connected"
        NO_ANSWER = "no_answer", "No answer"
        VOICEMAIL = "voicemail", "Voicemail"
        WRONG_NUMBER = "wrong_number", "Wrong number"

    callback = models.ForeignKey(Callback, on_delete=models.CASCADE, related_name="dial_attempts", db_index=False)
    number = models.PositiveSmallIntegerField()
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    dialed_at = models.DateTimeField(default=timezone.now)
    provider_ref = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    outcome_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["callback", "number"]
        constraints = [models.UniqueConstraint(fields=["callback", "number"], name="callback_attempt_unique_number")]
