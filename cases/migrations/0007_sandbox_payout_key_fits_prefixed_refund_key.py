# The payout key is "refund:" + the refund's key (up to 120 characters): 120 was too short for it.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0006_credit_never_edited_trigger'),
    ]

    operations = [
        migrations.AlterField(
            model_name='sandboxpayout',
            name='idempotency_key',
            field=models.CharField(help_text="refund:<the refund's own key>", max_length=200, unique=True),
        ),
    ]
