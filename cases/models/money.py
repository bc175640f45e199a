"""The refund ledger and goodwill credits. Decimal money with a currency; keys and invariants in the database."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from customers.models import Customer, OrderItem, SubscriptionCharge

from .core import Case, Role

MONEY = {"max_digits": 12, "decimal_places": 2}
LIVE_REFUND_STATES = ("requested", "checking", "approved", "issued")


class Refund(models.Model):
    """One refund of one order item or one subscription charge. State changes only through the refund services."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        CHECKING = "checking", "Checking"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        ISSUED = "issued", "Issued"
        FAILED = "failed", "Failed"

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.REQUESTED: frozenset({Status.CHECKING}),
        Status.CHECKING: frozenset({Status.APPROVED, Status.DENIED}),
        Status.APPROVED: frozenset({Status.ISSUED, Status.FAILED}),
        Status.DENIED: frozenset(),
        Status.ISSUED: frozenset(),
        Status.FAILED: frozenset(),
    }

    class Source(models.TextChoices):
        ASSISTANT = "assistant", "Assistant (self-service)"
        AGENT = "agent", "Associate"
        SUBSCRIPTION_SWEEP = "subscription_sweep", "Subscription reconciliation"
        DELIVERY_CHECK = "delivery_check", "Delivered-but-missing check"
        RETURN_SCAN = "return_scan", "Return first scan"
        API = "api", "API"

    idempotency_key = models.CharField(max_length=120, unique=True)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="refunds")
    order_item = models.ForeignKey(OrderItem, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds")
    subscription_charge = models.ForeignKey(
        SubscriptionCharge, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, default="USD", db_default="USD")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    source = models.CharField(max_length=20, choices=Source.choices)
    reason = models.CharField(max_length=300)
    decision_reason = models.CharField(max_length=300, blank=True, help_text="Shown to the customer when denied.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    provider_ref = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    call_started_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the run now calling the payment provider claimed the call; no other run calls or settles "
        "until it ends or this lease (RH REFUND_CALL_LEASE_SECONDS) expires.",
    )
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    retried_by = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="retry_of",
        help_text="The new refund a supervisor created to retry this FAILED one.",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=(Q(order_item__isnull=False) & Q(subscription_charge__isnull=True))
                | (Q(order_item__isnull=True) & Q(subscription_charge__isnull=False)),
                name="refund_exactly_one_target",
            ),
            # One order item / one charge is never refunded twice, whatever the channel or worker.
            models.UniqueConstraint(
                fields=["order_item"], condition=Q(status__in=LIVE_REFUND_STATES), name="refund_one_live_per_item"
            ),
            models.UniqueConstraint(
                fields=["subscription_charge"],
                condition=Q(status__in=LIVE_REFUND_STATES),
                name="refund_one_live_per_charge",
            ),
        ]
        indexes = [models.Index(fields=["status", "updated_at"], name="refund_status_updated")]

    def __str__(self) -> str:
        return f"Refund {self.amount} {self.currency} ({self.get_status_display()})"


class GoodwillCredit(models.Model):
    """Never edited: a reversal is a new row pointing at the credit it reverses."""

    class Kind(models.TextChoices):
        CREDIT = "credit", "Credit"
        REVERSAL = "reversal", "Reversal"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    class Reason(models.TextChoices):
        LATE_DELIVERY = "late_delivery", "Late delivery"
        MISSING_ITEM = "missing_item", "Missing or damaged item"
        SERVICE_FAILURE = "service_failure", "Service failure"
        BILLING_ERROR = "billing_error", "Billing error"
        REFUND_DELAY = "refund_delay", "Refund delay"
        LOYALTY = "loyalty", "Loyalty / retention"
        OTHER = "other", "Other"

    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="credits")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="credits", db_index=False)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CREDIT)
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversal")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, default="USD", db_default="USD")
    reason_code = models.CharField(max_length=20, choices=Reason.choices)
    note = models.TextField()
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credits_issued", db_index=False
    )
    issued_by_role = models.CharField(max_length=16, choices=Role.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="credits_decided"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_amount_positive"),
            # Four eyes: whoever decides is never whoever issued.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("issued_by")), name="credit_no_self_approval"
            ),
            models.CheckConstraint(
                condition=(Q(kind="reversal") & Q(reverses__isnull=False))
                | (Q(kind="credit") & Q(reverses__isnull=True)),
                name="credit_reversal_points_at_credit",
            ),
            models.CheckConstraint(
                condition=Q(status="pending") | Q(decided_at__isnull=False) | Q(decided_by__isnull=True),
                name="credit_decision_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["issued_by", "created_at"], name="credit_issuer_time"),
            models.Index(fields=["customer", "created_at"], name="credit_customer_time"),
            models.Index(fields=["status", "created_at"], name="credit_status_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency} ({self.get_status_display()})"


class CreditLimit(models.Model):
    """Per-role goodwill limits, configurable by supervisors. Above them a credit waits for a second supervisor."""

    role = models.CharField(max_length=16, choices=Role.choices, unique=True)
    per_credit = models.DecimalField(**MONEY)
    per_day = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, default="USD", db_default="USD")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(per_credit__gt=0) & Q(per_day__gte=F("per_credit")), name="credit_limit_sane"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.per_credit} / {self.per_day} per day"


class DeliveryDispute(models.Model):
    """A customer's "marked Delivered but I never got it" claim about one order item, and the evidence verdict.

    Opened by ``delivery_dispute_open`` (one per item: a second claim returns the first), judged once by the
    ``delivery_dispute_decide`` task: auto-refund, deny with a reason the customer can read, or route to a human.
    """

    class Decision(models.TextChoices):
        PENDING = "pending", "Waiting for the evidence check"
        REFUND = "refund", "Refunded automatically"
        DENY = "deny", "Denied"
        HUMAN = "human", "Routed to an associate"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="delivery_disputes", db_index=False)
    order_item = models.OneToOneField(OrderItem, on_delete=models.PROTECT, related_name="delivery_dispute")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="delivery_disputes")
    refund = models.OneToOneField(
        Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="delivery_dispute"
    )
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.PENDING)
    reasons = models.JSONField(default=list, blank=True, help_text="Rule codes that decided it, in order.")
    evidence = models.JSONField(default=dict, blank=True, help_text="The evidence as judged (structured).")
    customer_message = models.CharField(max_length=500, blank=True, help_text="What the customer is told.")
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decision="pending", decided_at__isnull=True)
                | (~Q(decision="pending") & Q(decided_at__isnull=False)),
                name="delivery_dispute_decided_has_time",
            ),
        ]
        indexes = [models.Index(fields=["customer", "created_at"], name="dispute_customer_time")]

    def __str__(self) -> str:
        return f"Delivery dispute for {self.order_item} ({self.get_decision_display()})"
