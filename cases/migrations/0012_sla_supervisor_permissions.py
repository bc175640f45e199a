"""Supervisors edit SLA policies in the admin and view (and acknowledge) SLA records."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = ["add_slapolicy", "change_slapolicy", "delete_slapolicy", "view_slapolicy", "view_slarecord",
             "change_slarecord"]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="supervisor")
    group.permissions.add(*Permission.objects.filter(content_type__app_label="cases", codename__in=CODENAMES))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="supervisor").first()
    if group is not None:
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="cases", codename__in=CODENAMES))


class Migration(migrations.Migration):
    dependencies = [("cases", "0011_seed_default_sla_policies")]
    operations = [migrations.RunPython(grant, revoke)]
