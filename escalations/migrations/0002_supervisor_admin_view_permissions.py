"""Supervisors can look at every front-door model in the admin (view permission only)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant_views(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="supervisor")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="escalations", codename__startswith="view_")
    )


def revoke_views(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="supervisor").first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="escalations", codename__startswith="view_")
        )


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0001_initial"),
        ("cases", "0009_supervisor_admin_view_permissions"),
    ]
    operations = [migrations.RunPython(grant_views, revoke_views)]
