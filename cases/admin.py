"""Admin for the back office, for supervisors.

Configuration (departments, hours, holidays, macros, credit limits, agent profiles) is edited here; limits and
roles are saved through their services (``credit_limit_set``, ``agent_role_set``), which audit them. Cases, messages, callbacks and notifications are looked at here and
worked in the portal (status changes only through ``case_transition``). Ledgers, audit and timeline rows
(Refund, GoodwillCredit, SandboxPayout, AuditLog, CaseEvent) are read-only: money moves only through services.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.forms.models import model_to_dict

from cases import models
from cases.errors import ApplicationError
from cases.services.audit import audit_record
from cases.services.credits import agent_role_set, credit_limit_set
from config.admin_mixins import ReadOnlyAdminMixin, ReadOnlyModelAdmin, ReadOnlyTabularInline


class AuditedAdminMixin:
    """Edits of staff configuration are recorded in the hash-chained audit log, in the same transaction."""

    audit_action = ""

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            many = {f.name for f in obj._meta.many_to_many}  # audited by save_related
            changed = {n: model_to_dict(obj, fields=[n]).get(n) for n in form.changed_data if n not in many}
            audit_record(
                action=self.audit_action + (".change" if change else ".add"),
                obj=obj,
                actor=request.user,
                data={"changed": changed},
                ip_address=request.META.get("REMOTE_ADDR"),
            )


class BusinessHoursInline(admin.TabularInline):
    model = models.BusinessHours
    extra = 0


class HolidayInline(admin.TabularInline):
    model = models.Holiday
    extra = 0


@admin.register(models.Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_24_7", "time_zone", "description"]
    list_filter = ["is_24_7", "time_zone"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [BusinessHoursInline, HolidayInline]


@admin.register(models.BusinessHours)
class BusinessHoursAdmin(admin.ModelAdmin):
    list_display = ["department", "weekday", "opens", "closes"]
    list_select_related = ["department"]
    list_filter = ["department", "weekday"]
    search_fields = ["department__name"]


@admin.register(models.Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name", "department"]
    list_select_related = ["department"]
    list_filter = ["department"]
    search_fields = ["name", "department__name"]
    date_hierarchy = "date"


@admin.register(models.AgentProfile)
class AgentProfileAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """A role change goes through ``agent_role_set`` (group membership + audit); presence is the agent's own."""

    audit_action = "agent_profile"
    list_display = ["user", "role", "presence", "capacity_chat", "capacity_call", "capacity_social", "departments_list"]
    list_select_related = ["user"]
    list_filter = ["role", "presence", "departments"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email"]
    raw_id_fields = ["user"]
    filter_horizontal = ["departments"]

    def get_readonly_fields(self, request, obj=None):
        fields = ["presence", "presence_changed_at", "presence_note", "last_seen_at"]
        if obj is not None and obj.user_id == request.user.pk:
            fields.append("role")  # nobody changes their own role
        return fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("departments")

    @admin.display(description="Departments")
    def departments_list(self, obj):
        return ", ".join(d.name for d in obj.departments.all())

    def save_model(self, request, obj, form, change):
        if not (change and "role" in form.changed_data):
            return super().save_model(request, obj, form, change)
        new_role, obj.role = obj.role, form.initial["role"]
        form.changed_data.remove("role")
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            try:
                profile = agent_role_set(
                    agent_id=obj.pk, role=new_role, actor=request.user, ip_address=request.META.get("REMOTE_ADDR")
                )
            except ApplicationError as exc:
                self.message_user(request, f"Role not changed: {exc}", level=messages.ERROR)
            else:
                obj.role = profile.role

    def save_related(self, request, form, formsets, change):
        before = set(form.instance.departments.values_list("slug", flat=True)) if change else set()
        with transaction.atomic():
            super().save_related(request, form, formsets, change)
            after = set(form.instance.departments.values_list("slug", flat=True))
            if after != before:
                audit_record(
                    action="agent_profile.departments",
                    obj=form.instance,
                    actor=request.user,
                    data={"before": sorted(before), "after": sorted(after)},
                    ip_address=request.META.get("REMOTE_ADDR"),
                )


class MessageInline(ReadOnlyTabularInline):
    model = models.Message
    fields = ["created_at", "kind", "author", "body"]
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")


class CaseEventInline(ReadOnlyTabularInline):
    model = models.CaseEvent
    fields = ["created_at", "type", "old_value", "new_value", "actor", "is_public", "data"]
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(models.Case)
class CaseAdmin(ReadOnlyModelAdmin):
    """Cases are worked in the portal workspace (take, reply, transfer, resolve); here a supervisor looks."""

    list_display = [
        "reference",
        "subject",
        "customer",
        "department",
        "channel",
        "status",
        "priority",
        "assignee",
        "sla_due_at",
    ]
    list_select_related = ["customer", "department", "assignee"]
    list_filter = ["status", "channel", "department", "priority", "intent"]
    search_fields = ["reference", "subject", "customer__name", "customer__email"]
    date_hierarchy = "created_at"
    inlines = [MessageInline, CaseEventInline]
    show_full_result_count = False


@admin.register(models.Message)
class MessageAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "case", "kind", "author", "short_body"]
    list_select_related = ["case", "author"]
    list_filter = ["kind"]
    search_fields = ["case__reference", "body"]
    show_full_result_count = False

    @admin.display(description="Message")
    def short_body(self, obj):
        return obj.body[:80]


@admin.register(models.CaseEvent)
class CaseEventAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "case", "type", "old_value", "new_value", "actor", "is_public"]
    list_select_related = ["case", "actor"]
    list_filter = ["type", "is_public"]
    search_fields = ["case__reference"]
    show_full_result_count = False


@admin.register(models.Macro)
class MacroAdmin(admin.ModelAdmin):
    list_display = ["title", "department", "is_active", "updated_at"]
    list_select_related = ["department"]
    list_filter = ["is_active", "department"]
    search_fields = ["title", "body"]


@admin.register(models.Notification)
class NotificationAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "customer", "case", "kind", "title", "read_at", "emailed_at"]
    list_select_related = ["customer", "case"]
    list_filter = ["kind"]
    search_fields = ["title", "customer__name", "customer__email", "case__reference"]
    show_full_result_count = False


class CallbackAttemptInline(ReadOnlyTabularInline):
    model = models.CallbackAttempt
    fields = ["number", "dialed_at", "agent", "outcome", "outcome_at", "provider_ref", "note"]
    readonly_fields = fields
    show_change_link = False


@admin.register(models.Callback)
class CallbackAdmin(ReadOnlyModelAdmin):
    list_display = ["case", "phone", "status", "requested_at", "first_dialed_at", "attempts", "offered_to"]
    list_select_related = ["case", "offered_to"]
    list_filter = ["status"]
    search_fields = ["case__reference", "phone"]
    inlines = [CallbackAttemptInline]


@admin.register(models.CallbackAttempt)
class CallbackAttemptAdmin(ReadOnlyModelAdmin):
    list_display = ["callback", "number", "dialed_at", "agent", "outcome", "outcome_at"]
    list_select_related = ["callback__case", "agent"]
    list_filter = ["outcome"]
    search_fields = ["callback__case__reference", "provider_ref"]


@admin.register(models.Refund)
class RefundAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "customer", "case", "amount", "currency", "status", "source", "reason", "issued_at"]
    list_select_related = ["customer", "case"]
    list_filter = ["status", "source", "currency"]
    search_fields = ["idempotency_key", "provider_ref", "customer__name", "customer__email", "case__reference"]
    date_hierarchy = "created_at"


@admin.register(models.GoodwillCredit)
class GoodwillCreditAdmin(ReadOnlyModelAdmin):
    list_display = [
        "created_at",
        "customer",
        "case",
        "kind",
        "amount",
        "currency",
        "reason_code",
        "status",
        "issued_by",
        "decided_by",
    ]
    list_select_related = ["customer", "case", "issued_by", "decided_by"]
    list_filter = ["status", "kind", "reason_code", "issued_by_role"]
    search_fields = ["customer__name", "customer__email", "case__reference", "issued_by__username", "note"]
    date_hierarchy = "created_at"


@admin.register(models.DeliveryDispute)
class DeliveryDisputeAdmin(ReadOnlyModelAdmin):
    """Judged once by the evidence check; the verdict and its evidence are the record, not editable."""

    list_display = ["created_at", "customer", "order_item", "case", "decision", "refund", "decided_at"]
    list_select_related = ["customer", "order_item", "case", "refund"]
    list_filter = ["decision"]
    search_fields = ["customer__name", "customer__email", "case__reference", "order_item__order__number"]
    date_hierarchy = "created_at"


@admin.register(models.CreditLimit)
class CreditLimitAdmin(admin.ModelAdmin):
    """Saved through ``credit_limit_set``: supervisors only, old and new values in the audit log."""

    list_display = ["role", "per_credit", "per_day", "currency", "updated_at"]
    list_filter = ["role"]

    def get_readonly_fields(self, request, obj=None):
        return ["role", "currency"] if obj is not None else ["currency"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            saved = credit_limit_set(
                role=obj.role,
                per_credit=obj.per_credit,
                per_day=obj.per_day,
                actor=request.user,
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        except ApplicationError as exc:
            raise PermissionDenied(str(exc)) from exc
        obj.pk = saved.pk


@admin.register(models.SandboxPayout)
class SandboxPayoutAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "reference", "amount", "currency", "calls", "idempotency_key"]
    list_filter = ["currency"]
    search_fields = ["reference", "idempotency_key"]


@admin.register(models.AuditLog)
class AuditLogAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "occurred_at", "actor_label", "action", "object_type", "object_id", "ip_address"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_label", "action", "object_id"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False


@admin.register(models.AuditChainHead)
class AuditChainHeadAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "last_id", "last_hash"]


@admin.register(models.ApiKey)
class ApiKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Keys are created, rotated and revoked with ``manage.py apikey`` (services in cases/services/api_keys.py,
    audited; the secret is shown once); here they are only listed."""

    list_display = ["name", "prefix", "scopes", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix"]
    exclude = ["key_hash", "webhook_secret"]


@admin.register(models.StaffSession)
class StaffSessionAdmin(ReadOnlyModelAdmin):
    """Signed-in staff sessions (key only; the session data stays in the session store)."""

    list_display = ["user", "created_at", "ip_address"]
    exclude = ["session_key"]


@admin.register(models.IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyModelAdmin):
    """Idempotency keys of money API calls and the response each one replays."""

    list_display = ["principal", "key", "response_status", "created_at"]
    search_fields = ["principal", "key"]


@admin.register(models.Heartbeat)
class HeartbeatAdmin(ReadOnlyModelAdmin):
    list_display = ["name", "last_seen_at", "beats", "worker"]


@admin.register(models.SlaPolicy)
class SlaPolicyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """SLA policies: the lowest matching ``order`` wins (blank channel / priority / department match any)."""

    audit_action = "sla_policy"
    list_display = [
        "order",
        "name",
        "is_active",
        "channel",
        "priority",
        "department",
        "clock",
        "first_response",
        "next_reply",
        "resolution",
        "ring_time",
        "warning_percent",
    ]
    list_display_links = ["name"]
    list_editable = ["order", "is_active"]
    list_filter = ["is_active", "channel", "priority", "clock", "department"]
    list_select_related = ["department"]
    search_fields = ["name"]
    fieldsets = [
        (None, {"fields": ["name", "order", "is_active"]}),
        ("Matches", {"fields": ["channel", "priority", "department"]}),
        (
            "Targets",
            {"fields": ["clock", "first_response", "next_reply", "resolution", "ring_time", "warning_percent"]},
        ),
        ("On breach", {"fields": ["breach_raise_priority", "breach_notify_supervisor", "breach_reroute_to"]}),
    ]


@admin.register(models.SlaRecord)
class SlaRecordAdmin(ReadOnlyModelAdmin):
    list_display = ["point_at", "case", "target", "level", "due_at", "department", "channel", "priority", "actions"]
    list_select_related = ["case", "department"]
    list_filter = ["level", "target", "channel", "department"]
    date_hierarchy = "point_at"


@admin.register(models.CaseViewer)
class CaseViewerAdmin(ReadOnlyModelAdmin):
    """Who had a case open in the workspace (collision warning); written by the workspace poll only."""

    list_display = ["case", "user", "last_seen_at"]
    list_select_related = ["case", "user"]
    search_fields = ["case__reference", "user__username"]
