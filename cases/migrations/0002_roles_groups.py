"""Roles as Django groups with permissions: associate, social care, supervisor."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_PERMISSIONS = {
    "associate": [
        "view_case", "change_case", "add_message", "view_message", "view_caseevent", "view_macro",
        "view_refund", "add_refund", "view_goodwillcredit", "add_goodwillcredit", "view_callback", "change_callback",
        "view_customer", "view_order", "view_orderitem", "view_shipment", "view_carrierscan",
        "view_subscription", "view_subscriptioncharge", "view_notification",
    ],
    "social_care": [],  # everything an associate has (added below), with higher limits
    "supervisor": [
        "add_macro", "change_macro", "delete_macro", "view_department", "change_department",
        "add_businesshours", "change_businesshours", "delete_businesshours", "view_businesshours",
        "add_holiday", "change_holiday", "delete_holiday", "view_holiday",
        "view_creditlimit", "change_creditlimit", "view_auditlog", "view_agentprofile", "change_agentprofile",
        "view_apikey",
    ],
}


def create_roles(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    associate = set(ROLE_PERMISSIONS["associate"])
    grants = {
        "associate": associate,
        "social_care": associate | set(ROLE_PERMISSIONS["social_care"]),
        "supervisor": associate | set(ROLE_PERMISSIONS["supervisor"]),
    }
    for name, codenames in grants.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(Permission.objects.filter(codename__in=codenames))


def drop_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0001_initial"),
        ("customers", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_roles, drop_roles)]
