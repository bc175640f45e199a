"""Supervisors can look at every model of customers and cases in the admin (view permission only; edits stay as granted)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

APPS = ("customers", "cases")  # escalations grants its own (escalations/migrations)


def grant_views(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="supervisor")
    group.permissions.add(*Permission.objects.filter(content_type__app_label__in=APPS, codename__startswith="view_"))


def revoke_views(apps, schema_editor):
    # Back to the grants of 0002_roles_groups (which only ever handed out the views listed there).
    from importlib import import_module

    roles = import_module("cases.migrations.0002_roles_groups").ROLE_PERMISSIONS
    keep = set(roles["associate"]) | set(roles["supervisor"])
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="supervisor").first()
    if group is not None:
        extra = Permission.objects.filter(content_type__app_label__in=APPS, codename__startswith="view_").exclude(
            codename__in=keep
        )
        group.permissions.remove(*extra)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0008_refund_retry_and_delivery_dispute"),
        ("customers", "0001_initial"),
    ]
    operations = [migrations.RunPython(grant_views, revoke_views)]
