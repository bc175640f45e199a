"""Default SLA policies from the seed's "Best Results" table (editable in the admin afterwards)."""

from datetime import timedelta

from django.db import migrations

M = timedelta(minutes=1)
H = timedelta(hours=1)
BUSINESS_DAY = timedelta(hours=8)

# name, order, channel, priority, clock, first response, next reply, resolution, ring
DEFAULTS = [
    ("Fraud & account security: 24/7, urgent", 10, "", 1, "24_7", 5 * M, 10 * M, 24 * H, timedelta(seconds=60)),
    ("Call Me Now: ring within 60 s, associate in 1–3 min", 20, "callback", None, "24_7", 3 * M, 5 * M, 24 * H,
     timedelta(seconds=60)),
    ("Live chat: an associate joins within minutes", 30, "chat", None, "business", 3 * M, 3 * M, 8 * H, None),
    ("Social (@handle): 15–60 min", 40, "social", None, "business", 60 * M, 60 * M, 24 * H, None),
    ("Support line: 5–10 min", 50, "phone", None, "business", 10 * M, 10 * M, 24 * H, None),
    ("Email / settlement claims: business days", 60, "email", None, "business", 2 * BUSINESS_DAY,
     2 * BUSINESS_DAY, 5 * BUSINESS_DAY, None),
    ("Web form: next business day", 70, "web", None, "business", BUSINESS_DAY, BUSINESS_DAY, 5 * BUSINESS_DAY, None),
    ("Fallback: everything else", 1000, "", None, "business", 4 * H, 4 * H, 5 * BUSINESS_DAY, None),
]


def seed(apps, schema_editor):
    SlaPolicy = apps.get_model("cases", "SlaPolicy")
    for name, order, channel, priority, clock, first, nxt, resolution, ring in DEFAULTS:
        SlaPolicy.objects.get_or_create(
            name=name,
            defaults=dict(
                order=order,
                channel=channel,
                priority=priority,
                clock=clock,
                first_response=first,
                next_reply=nxt,
                resolution=resolution,
                ring_time=ring,
                warning_percent=80,
            ),
        )


def unseed(apps, schema_editor):
    apps.get_model("cases", "SlaPolicy").objects.filter(name__in=[row[0] for row in DEFAULTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0010_sla_policies_and_records")]

    operations = [migrations.RunPython(seed, unseed)]
