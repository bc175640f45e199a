"""Supervisors can look at CaseViewer rows in the admin (view only), like every other cases model (0009)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    app_config = apps.get_app_config("cases")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="supervisor")
    group.permissions.add(*Permission.objects.filter(content_type__app_label="cases", codename="view_caseviewer"))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="supervisor").first()
    if group is not None:
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="cases", codename="view_caseviewer"))


class Migration(migrations.Migration):
    dependencies = [("cases", "0014_case_viewer")]
    operations = [migrations.RunPython(grant, revoke)]
