"""Admin for the front door: what the assistant and the machine intakes recorded. All read-only (evidence)."""

from django.contrib import admin

from config.admin_mixins import ReadOnlyModelAdmin, ReadOnlyTabularInline

from . import models


class ConversationMessageInline(ReadOnlyTabularInline):
    model = models.ConversationMessage
    fields = ["created_at", "role", "body"]
    readonly_fields = fields
    show_change_link = False


class TriageDecisionInline(ReadOnlyTabularInline):
    model = models.TriageDecision
    fields = ["created_at", "intent", "confidence", "outcome", "department_slug", "priority", "triggers"]
    readonly_fields = fields
    show_change_link = False


@admin.register(models.Conversation)
class ConversationAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "customer", "status", "started_at", "representative_requests", "case"]
    list_select_related = ["customer", "case"]
    list_filter = ["status"]
    search_fields = ["customer__name", "customer__email", "case__reference"]
    date_hierarchy = "started_at"
    inlines = [ConversationMessageInline, TriageDecisionInline]


@admin.register(models.ConversationMessage)
class ConversationMessageAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "conversation", "role", "short_body"]
    list_select_related = ["conversation"]
    list_filter = ["role"]
    search_fields = ["body"]
    show_full_result_count = False

    @admin.display(description="Message")
    def short_body(self, obj):
        return obj.body[:80]


@admin.register(models.TriageDecision)
class TriageDecisionAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "intent", "confidence", "outcome", "department_slug", "priority", "case"]
    list_select_related = ["case"]
    list_filter = ["outcome", "intent", "department_slug"]
    search_fields = ["message", "case__reference"]
    date_hierarchy = "created_at"


@admin.register(models.IntakeEvent)
class IntakeEventAdmin(ReadOnlyModelAdmin):
    list_display = ["received_at", "source", "external_id", "channel", "case"]
    list_select_related = ["case"]
    list_filter = ["source", "channel"]
    search_fields = ["external_id", "case__reference"]
    date_hierarchy = "received_at"


@admin.register(models.SocialPost)
class SocialPostAdmin(ReadOnlyModelAdmin):
    list_display = ["posted_at", "platform", "handle", "post_id", "short_text", "case"]
    list_select_related = ["case"]
    list_filter = ["platform"]
    search_fields = ["handle", "post_id", "text", "case__reference"]

    @admin.display(description="Post")
    def short_text(self, obj):
        return obj.text[:80]
