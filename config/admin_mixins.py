"""Admin building blocks shared by the three apps (``config`` is wiring: every app may import it)."""

from django.contrib import admin


class ReadOnlyAdminMixin:
    """Rows a supervisor may look at but never add, edit or delete here: ledgers, audit, timelines, feeds.

    Money and status change only through services (they lock, validate, audit and notify); the admin is a
    window onto those rows, not a side door around them.
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyModelAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_per_page = 50


class ReadOnlyTabularInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    show_change_link = True
