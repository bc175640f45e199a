"""Default goodwill-credit limits per role (editable by supervisors afterwards; every change is audited)."""

from decimal import Decimal

from django.db import migrations

DEFAULTS = {
    "associate": (Decimal("50.00"), Decimal("200.00")),
    "social_care": (Decimal("150.00"), Decimal("600.00")),
    "supervisor": (Decimal("500.00"), Decimal("2000.00")),
}


def seed_limits(apps, schema_editor):
    CreditLimit = apps.get_model("cases", "CreditLimit")
    for role, (per_credit, per_day) in DEFAULTS.items():
        CreditLimit.objects.get_or_create(role=role, defaults={"per_credit": per_credit, "per_day": per_day})


def drop_limits(apps, schema_editor):
    apps.get_model("cases", "CreditLimit").objects.filter(role__in=DEFAULTS).delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0004_payments_sandbox")]
    operations = [migrations.RunPython(seed_limits, drop_limits)]
