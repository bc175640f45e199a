"""``manage.py audit_verify``: walk the audit hash chain; name the first broken entry and exit non-zero."""

from django.core.management.base import BaseCommand, CommandError

from cases.services.audit import audit_verify


class Command(BaseCommand):
    help = "Verify the tamper-evident audit log hash chain. Exit code 1 and the first broken entry when it is broken."

    def handle(self, *args, **options):
        checked, broken = audit_verify()
        if broken is not None:
            self.stderr.write(
                f"BROKEN at audit entry #{broken.pk} (chain position {broken.seq}: {broken.action} {broken.object_type}:{broken.object_id} "
                f"by {broken.actor_label} at {broken.occurred_at.isoformat()}); {checked} entries before it verify."
            )
            raise CommandError(f"audit chain broken at entry #{broken.pk}", returncode=1)
        self.stdout.write(self.style.SUCCESS(f"OK: {checked} audit entries, chain intact."))
