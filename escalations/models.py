"""The front door: assistant conversations, triage decisions and what machine intake recorded."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from cases.models import Case, Channel, Intent, Priority
from customers.models import Customer


class Conversation(models.Model):
    """A help-flow session with the assistant. On escalation its transcript is handed to a case."""

    class Status(models.TextChoices):
        ASSISTANT = "assistant", "With the assistant"
        HANDED_OVER = "handed_over", "Handed to a human"
        RESOLVED = "resolved", "Resolved by the assistant"
        CLOSED = "closed", "Closed"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="conversations", db_index=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ASSISTANT)
    started_at = models.DateTimeField(default=timezone.now)
    representative_requests = models.PositiveSmallIntegerField(default=0)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations")

    class Meta:
        indexes = [models.Index(fields=["customer", "-started_at"], name="conversation_customer_recent")]

    def __str__(self) -> str:
        return f"Conversation #{self.pk} ({self.get_status_display()})"


class ConversationMessage(models.Model):
    class Role(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        ASSISTANT = "assistant", "Assistant"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=10, choices=Role.choices)
    body = models.TextField(help_text="Redacted before storing.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]


class TriageDecision(models.Model):
    """One decision of the triage engine with every reason as structured data."""

    class Outcome(models.TextChoices):
        ANSWER = "answer", "Answer automatically"
        RESOLVE = "resolve", "Resolve automatically"
        ESCALATE = "escalate", "Escalate to a human"

    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.CASCADE, related_name="decisions"
    )
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="triage_decisions")
    message = models.TextField()
    intent = models.CharField(max_length=24, choices=Intent.choices)
    confidence = models.DecimalField(max_digits=4, decimal_places=3)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    department_slug = models.CharField(max_length=40, blank=True)
    channel_offer = models.JSONField(default=list, blank=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, null=True, blank=True)
    triggers = models.JSONField(default=list, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(confidence__gte=0) & Q(confidence__lte=1), name="triage_confidence_0_1")
        ]


class IntakeEvent(models.Model):
    """Every machine intake (webhook) by its provider event id: a redelivery never creates a second case."""

    class Source(models.TextChoices):
        ASSISTANT = "assistant", "Assistant hand-over"
        CALLBACK = "callback", "Call Me Now request"
        SOCIAL = "social", "Social listener"
        TELEPHONY = "telephony", "Telephony platform"
        EMAIL = "email", "Claims email / form"
        FRAUD = "fraud", "Fraud / phishing report"

    source = models.CharField(max_length=12, choices=Source.choices)
    external_id = models.CharField(max_length=120)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="intake_events")
    payload = models.JSONField(default=dict, help_text="Redacted request body.")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "external_id"], name="intake_event_unique")]


class SocialPost(models.Model):
    class Platform(models.TextChoices):
        X = "x", "X"
        FACEBOOK = "facebook", "Facebook"
        INSTAGRAM = "instagram", "Instagram"

    platform = models.CharField(max_length=10, choices=Platform.choices)
    post_id = models.CharField(max_length=64)
    handle = models.CharField(max_length=100)
    text = models.TextField()
    posted_at = models.DateTimeField(default=timezone.now)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="social_posts")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "post_id"], name="social_post_unique")]
