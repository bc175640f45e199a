"""SLA policies (channel × priority × department, first match wins) and the once-only warning/breach records."""

from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone

from .core import Case, Channel, Department, Priority


class SlaTarget(models.TextChoices):
    FIRST_RESPONSE = "first_response", "First response"
    NEXT_REPLY = "next_reply", "Next reply"
    RESOLUTION = "resolution", "Resolution"
    RING = "ring", "Callback ring time"


class SlaPolicyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def matching(self, *, channel: str, priority: int, department_id: int):
        """Candidates in match order; the first one is the policy (blank channel/priority/department = any)."""
        return (
            self.active()
            .filter(Q(channel="") | Q(channel=channel))
            .filter(Q(priority__isnull=True) | Q(priority=priority))
            .filter(Q(department__isnull=True) | Q(department_id=department_id))
            .order_by("order", "id")
        )


class SlaPolicy(models.Model):
    """Targets for the cases it matches. Edited by supervisors in the admin; ``order`` decides which one wins."""

    class Clock(models.TextChoices):
        BUSINESS = "business", "Business hours of the department"
        ALWAYS = "24_7", "24/7"

    name = models.CharField(max_length=100)
    order = models.PositiveIntegerField(
        default=100, help_text="Match order: the lowest matching order wins (ties: oldest policy)."
    )
    is_active = models.BooleanField(default=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, blank=True, help_text="Blank: any channel.")
    priority = models.PositiveSmallIntegerField(
        choices=Priority.choices, null=True, blank=True, help_text="Blank: any priority."
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.CASCADE, related_name="sla_policies"
    )
    clock = models.CharField(max_length=8, choices=Clock.choices, default=Clock.BUSINESS)
    first_response = models.DurationField(null=True, blank=True, help_text="Blank: no first-response target.")
    next_reply = models.DurationField(null=True, blank=True, help_text="Blank: no next-reply target.")
    resolution = models.DurationField(null=True, blank=True, help_text="Blank: no resolution target.")
    ring_time = models.DurationField(
        null=True,
        blank=True,
        default=timedelta(seconds=60),
        help_text="Callback cases: request → first dial, always on a 24/7 clock.",
    )
    warning_percent = models.PositiveSmallIntegerField(default=80, help_text="Warn when this share has elapsed.")
    breach_raise_priority = models.BooleanField(default=True, help_text="On breach, raise priority one step.")
    breach_notify_supervisor = models.BooleanField(default=True)
    breach_reroute_to = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="On breach, move a still-queued case to this department.",
    )

    objects = SlaPolicyQuerySet.as_manager()

    class Meta:
        ordering = ["order", "id"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(warning_percent__gte=1, warning_percent__lte=99), name="sla_policy_warning_percent"
            ),
            models.CheckConstraint(
                condition=(Q(first_response__isnull=True) | Q(first_response__gt=timedelta(0)))
                & (Q(next_reply__isnull=True) | Q(next_reply__gt=timedelta(0)))
                & (Q(resolution__isnull=True) | Q(resolution__gt=timedelta(0)))
                & (Q(ring_time__isnull=True) | Q(ring_time__gt=timedelta(0))),
                name="sla_policy_targets_positive",
            ),
        ]
        indexes = [models.Index(fields=["is_active", "order"], name="sla_policy_match_order")]

    def __str__(self) -> str:
        return self.name

    def matches(self, *, channel: str, priority: int, department_id: int) -> bool:
        """``SlaPolicyQuerySet.matching``'s filters for one policy in memory (activity aside): the SLA sweep
        matches a batch's cases against the active policies it read once, in ``matching``'s order."""
        return (
            self.channel in ("", channel)
            and (self.priority is None or self.priority == priority)
            and (self.department_id is None or self.department_id == department_id)
        )

    def target(self, name: str) -> timedelta | None:
        return {
            SlaTarget.FIRST_RESPONSE: self.first_response,
            SlaTarget.NEXT_REPLY: self.next_reply,
            SlaTarget.RESOLUTION: self.resolution,
            SlaTarget.RING: self.ring_time,
        }[name]


class SlaRecord(models.Model):
    """One warning or breach of one target of one case. Written by the sweep (or when a target is met late);
    the unique constraint makes recording the same (case, target, level, due) twice impossible."""

    class Level(models.TextChoices):
        WARNING = "warning", "Warning"
        BREACH = "breach", "Breach"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="sla_records", db_index=False)
    target = models.CharField(max_length=16, choices=SlaTarget.choices)
    level = models.CharField(max_length=8, choices=Level.choices)
    due_at = models.DateTimeField(help_text="The due time of the target this record is about.")
    point_at = models.DateTimeField(help_text="When the warning/breach point was reached.")
    recorded_at = models.DateTimeField(default=timezone.now)
    policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices)
    actions = models.JSONField(default=list, blank=True, help_text="What the sweep did: raise priority, notify...")
    supervisor_notified = models.BooleanField(default=False)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-point_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "target", "level", "due_at"], name="sla_record_once"),
        ]
        indexes = [
            models.Index(fields=["case", "level"], name="sla_record_case_level"),
            # Supervisor list: unacknowledged notifications, newest first.
            models.Index(
                fields=["-point_at"],
                condition=Q(supervisor_notified=True, acknowledged_at__isnull=True),
                name="sla_record_supervisor_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()} {self.get_target_display()} on case #{self.case_id}"
