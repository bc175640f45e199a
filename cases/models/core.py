"""Departments, agents, cases, messages, the case timeline, macros and the customer's Message Center."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from customers.models import Customer, Order, OrderItem

MONEY = {"max_digits": 12, "decimal_places": 2}


class Channel(models.TextChoices):
    CHAT = "chat", "Live chat"
    CALLBACK = "callback", "Call Me Now"
    SOCIAL = "social", "Social"
    PHONE = "phone", "Support line"
    EMAIL = "email", "Email"
    WEB = "web", "Web form"


class Intent(models.TextChoices):
    TRACKING = "tracking", "Tracking"
    MISSING_DELIVERED = "missing_delivered", "Missing delivered package"
    LATE_DELIVERY = "late_delivery", "Late delivery"
    RETURN_REFUND = "return_refund", "Return / refund"
    SUBSCRIPTION_BILLING = "subscription_billing", "Subscription billing"
    ACCOUNT_SECURITY = "account_security", "Account security"
    PHISHING_REPORT = "phishing_report", "Phishing report"
    SETTLEMENT_CLAIM = "settlement_claim", "Settlement claim"
    ADDRESS_CHANGE = "address_change", "Address change"
    PRODUCT_QUESTION = "product_question", "Product question"
    OTHER = "other", "Other"


class Priority(models.IntegerChoices):
    URGENT = 1, "Urgent"
    HIGH = 2, "High"
    NORMAL = 3, "Normal"
    LOW = 4, "Low"


class Role(models.TextChoices):
    ASSOCIATE = "associate", "Associate"
    SOCIAL_CARE = "social_care", "Social care"
    SUPERVISOR = "supervisor", "Supervisor"


class Department(models.Model):
    """A queue of work with its own calendar. ``is_24_7`` departments ignore the weekly hours."""

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    time_zone = models.CharField(max_length=64, default="America/New_York")
    is_24_7 = models.BooleanField(default=True)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class BusinessHours(models.Model):
    """Weekly opening hours of a department, in its own time zone. Weekday: Monday = 0."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField()
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["department", "weekday", "opens"]
        verbose_name_plural = "business hours"
        constraints = [
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="business_hours_weekday"),
            models.CheckConstraint(condition=Q(closes__gt=models.F("opens")), name="business_hours_closes_after_opens"),
        ]


class Holiday(models.Model):
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="holidays", db_index=False)
    date = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["department", "date"], name="holiday_unique_per_day")]


class AgentProfile(models.Model):
    class Presence(models.TextChoices):
        AVAILABLE = "available", "Available"
        AWAY = "away", "Away"
        OFFLINE = "offline", "Offline"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ASSOCIATE)
    departments = models.ManyToManyField(Department, blank=True, related_name="agents")
    capacity_chat = models.PositiveSmallIntegerField(default=3)
    capacity_call = models.PositiveSmallIntegerField(default=1)
    capacity_social = models.PositiveSmallIntegerField(default=5)
    capacity_async = models.PositiveSmallIntegerField(default=10, help_text="Email and web-form cases.")
    presence = models.CharField(max_length=10, choices=Presence.choices, default=Presence.OFFLINE)
    presence_changed_at = models.DateTimeField(default=timezone.now)
    # Why the system (not the associate) last changed their presence; cleared when they set it themselves.
    presence_note = models.CharField(max_length=200, blank=True, default="", db_default="")
    # Their last request from a signed-in staff session (stamped at most once a minute, with the session's own
    # last-seen): an "available" associate with no page of the portal open goes away (``agent_presence_sweep``).
    last_seen_at = models.DateTimeField(default=timezone.now, db_default=Now(), editable=False)

    class Meta:
        indexes = [models.Index(fields=["presence"], name="agent_presence")]

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.get_role_display()})"

    @property
    def is_supervisor(self) -> bool:
        return self.role == Role.SUPERVISOR

    def capacity_for(self, channel: str) -> int:
        return {
            Channel.CHAT: self.capacity_chat,
            Channel.CALLBACK: self.capacity_call,
            Channel.PHONE: self.capacity_call,
            Channel.SOCIAL: self.capacity_social,
        }.get(channel, self.capacity_async)


class CaseQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=Case.OPEN_STATUSES)

    def queued(self):
        return self.filter(status=Case.Status.NEW)

    def due_before(self, when):
        return self.filter(sla_next_check_at__lte=when)

    def in_departments(self, department_ids):
        return self.filter(department_id__in=department_ids)


class Case(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "Waiting in queue"
        ASSIGNED = "assigned", "With an associate"
        WAITING_CUSTOMER = "waiting_customer", "Waiting on customer"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"
        MERGED = "merged", "Merged"

    class ResolutionReason(models.TextChoices):
        ANSWERED = "answered", "Question answered"
        REFUNDED = "refunded", "Refund issued"
        CREDITED = "credited", "Goodwill credit issued"
        REPLACEMENT = "replacement", "Replacement sent"
        NO_ACTION = "no_action", "No action needed"
        FRAUD_HANDLED = "fraud_handled", "Fraud / security handled"
        DUPLICATE = "duplicate", "Duplicate"
        AUTOMATED = "automated", "Resolved automatically"
        NO_RESPONSE = "no_response", "Customer did not respond"

    OPEN_STATUSES = (Status.NEW, Status.ASSIGNED, Status.WAITING_CUSTOMER)
    # The one transition map. Only ``cases.services.cases.case_transition`` changes status, under a row lock.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.NEW: frozenset({Status.ASSIGNED, Status.RESOLVED, Status.MERGED}),
        Status.ASSIGNED: frozenset({Status.NEW, Status.WAITING_CUSTOMER, Status.RESOLVED, Status.MERGED}),
        Status.WAITING_CUSTOMER: frozenset({Status.ASSIGNED, Status.NEW, Status.RESOLVED, Status.MERGED}),
        Status.RESOLVED: frozenset({Status.NEW, Status.CLOSED}),
        Status.CLOSED: frozenset(),
        Status.MERGED: frozenset(),
    }

    reference = models.CharField(max_length=20, unique=True, null=True, blank=True, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="cases", db_index=False)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    order_item = models.ForeignKey(OrderItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    intent = models.CharField(max_length=24, choices=Intent.choices, default=Intent.OTHER)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="cases")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_cases",
        db_index=False,
    )
    subject = models.CharField(max_length=200)
    value_at_stake = models.DecimalField(**MONEY, default=Decimal("0.00"))
    currency = models.CharField(max_length=3, default="USD", db_default="USD")
    escalation_reasons = models.JSONField(default=list, blank=True, help_text="Structured triggers that sent it here.")
    triage = models.JSONField(default=dict, blank=True, help_text="Intent, confidence and decision of the triage.")

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    queued_at = models.DateTimeField(default=timezone.now, help_text="When it (re-)entered its queue.")
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_reason = models.CharField(max_length=20, choices=ResolutionReason.choices, blank=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged")

    # SLA: stored due times, recomputed on every write that changes them (cases.services.sla).
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    next_reply_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    sla_due_at = models.DateTimeField(null=True, blank=True, help_text="Earliest running target; orders the queue.")
    sla_next_check_at = models.DateTimeField(
        null=True, blank=True, help_text="Next warning or breach point the beat sweep must look at."
    )
    sla_paused_at = models.DateTimeField(null=True, blank=True, help_text="Clock paused (waiting on the customer).")
    sla_paused_seconds = models.PositiveIntegerField(
        default=0, db_default=0, help_text="Business time spent paused so far (not counted against the targets)."
    )
    sla_policy = models.ForeignKey(
        "cases.SlaPolicy", null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["priority", "sla_due_at", "queued_at"]
        indexes = [
            # Take-next / queue page: waiting cases in priority then SLA order, per department.
            models.Index(
                fields=["department", "priority", "sla_due_at", "queued_at"],
                condition=Q(status="new"),
                name="case_queue_order",
            ),
            # Take-next across several departments: walk waiting cases in claim order and check the department per
            # row (the per-department index above cannot give one order across departments; bench/take_next.py).
            models.Index(
                fields=["priority", "sla_due_at", "queued_at", "id"],
                condition=Q(status="new"),
                name="case_take_next_order",
            ),
            # SLA sweep: only cases with a pending warning/breach point are in this index.
            models.Index(
                fields=["sla_next_check_at"], condition=Q(sla_next_check_at__isnull=False), name="case_sla_sweep"
            ),
            models.Index(fields=["assignee", "status"], name="case_assignee_status"),
            # Queue board: waiting counts, urgent counts and oldest wait per department × channel read from the
            # index alone (index-only scan in index order, no heap visit on an all-visible table).
            models.Index(
                fields=["department", "channel", "priority", "queued_at"],
                condition=Q(status="new"),
                name="case_waiting_counts",
            ),
            # Queue board, head of the queue: the take-next order with the department in the index, so "the first 50
            # waiting cases of my departments" is an index-only walk that skips other departments' cases without
            # reading the table.
            models.Index(
                fields=["priority", "sla_due_at", "queued_at", "id"],
                include=["department"],
                condition=Q(status="new"),
                name="case_queue_head",
            ),
            # Held (open, assigned) cases per associate and channel: the roster's load counts and "my cases" in
            # priority order, both index-only; only held cases are in it.
            models.Index(
                fields=["assignee", "channel", "priority", "sla_due_at", "id"],
                condition=Q(status__in=["assigned", "waiting_customer"]),
                name="case_held_load",
            ),
            models.Index(fields=["customer", "-created_at"], name="case_customer_recent"),
            models.Index(fields=["status", "-created_at"], name="case_status_recent"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(value_at_stake__gte=0), name="case_value_not_negative"),
            models.CheckConstraint(
                condition=~Q(status="assigned") | Q(assignee__isnull=False), name="case_assigned_has_assignee"
            ),
            models.CheckConstraint(
                condition=~Q(status="merged") | Q(merged_into__isnull=False), name="case_merged_has_target"
            ),
        ]

    def __str__(self) -> str:
        return self.reference or f"case #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @staticmethod
    def make_reference(pk: int, year: int) -> str:
        return f"CS-{year}-{pk:06d}"

    def can_transition_to(self, new_status: str) -> bool:
        return new_status in self.TRANSITIONS.get(self.status, frozenset())


class Message(models.Model):
    class Kind(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        AGENT = "agent", "Associate"
        ASSISTANT = "assistant", "Assistant"
        NOTE = "note", "Internal note"
        SYSTEM = "system", "System"

    PUBLIC_KINDS = (Kind.CUSTOMER, Kind.AGENT, Kind.ASSISTANT, Kind.SYSTEM)

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages", db_index=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    body = models.TextField(help_text="Stored redacted: card numbers and passwords are masked before saving.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["case", "id"], name="message_case_order")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.body[:40]}"

    @property
    def is_public(self) -> bool:
        return self.kind in self.PUBLIC_KINDS

    # What the workspace's conversation shows; the page reads the same two names from plain rows
    # (cases.selectors_360.case_rows), its poll from these instances (author joined: case_messages_after).
    @property
    def kind_label(self) -> str:
        return self.get_kind_display()

    @property
    def author_name(self) -> str:
        return self.author.get_username() if self.author_id else ""


class AppendOnlyModel(models.Model):
    """Rows are written once. Updates and deletes are refused here and, on PostgreSQL, by a trigger."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError(f"{type(self).__name__} rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError(f"{type(self).__name__} rows are append-only.")


class CaseEvent(AppendOnlyModel):
    """The case timeline. Agents read every event; customers only ``is_public`` ones."""

    class Type(models.TextChoices):
        CREATED = "created", "Created"
        STATUS_CHANGED = "status_changed", "Status changed"
        ASSIGNED = "assigned", "Assigned"
        RELEASED = "released", "Released to queue"
        TRANSFERRED = "transferred", "Transferred"
        PRIORITY_CHANGED = "priority_changed", "Priority changed"
        ESCALATED = "escalated", "Escalated"
        MERGED = "merged", "Merged"
        MESSAGE = "message", "Message"
        NOTE = "note", "Internal note"
        TRIAGE = "triage", "Triage decision"
        SLA_WARNING = "sla_warning", "SLA warning"
        SLA_BREACH = "sla_breach", "SLA breach"
        REFUND = "refund", "Refund"
        CREDIT = "credit", "Goodwill credit"
        CALLBACK = "callback", "Callback"
        REOPENED = "reopened", "Reopened"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events", db_index=False)
    type = models.CharField(max_length=20, choices=Type.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    old_value = models.CharField(max_length=64, blank=True)
    new_value = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    is_public = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["case", "id"], name="event_case_order")]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.old_value}→{self.new_value}".strip()


class Macro(models.Model):
    """A canned reply with placeholders such as {customer_name}, {case_reference}, {agent_name}."""

    title = models.CharField(max_length=100)
    body = models.TextField()
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.CASCADE, related_name="macros")
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Notification(models.Model):
    """The customer's Message Center."""

    class Kind(models.TextChoices):
        REFUND = "refund", "Refund"
        CREDIT = "credit", "Credit"
        CALLBACK = "callback", "Callback"
        RESOLVED = "resolved", "Case resolved"
        REPLY = "reply", "Reply"
        CASE = "case", "Case update"
        SECURITY = "security", "Security"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="notifications", db_index=False)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="notification_customer_recent")]

    def __str__(self) -> str:
        return self.title
