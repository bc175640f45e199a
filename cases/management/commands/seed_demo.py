"""Build the demo world (idempotent). `--print-logins` prints the URL and the demo logins."""

from django.core.management.base import BaseCommand

from cases.demo import DEMO_LOGINS, DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Load believable demo data: departments, staff and customer logins, orders, shipments, cases."

    def add_arguments(self, parser):
        parser.add_argument("--print-logins", action="store_true", help="Only print the URL and demo logins.")
        parser.add_argument("--url", default="http://127.0.0.1:8000/")
        parser.add_argument("--customers", type=int, default=300)

    def handle(self, *args, **options):
        if options["print_logins"]:
            self.stdout.write("")
            self.stdout.write(self.style.SUCCESS(f"Resolution Hub is running at {options['url']}"))
            self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
            for username, role in DEMO_LOGINS:
                self.stdout.write(f"  {username:<12} {role}")
            self.stdout.write("Stop with Ctrl-C.")
            return
        summary = seed_demo(customers=options["customers"])
        self.stdout.write(self.style.SUCCESS("Demo data ready: " + ", ".join(f"{k}={v}" for k, v in summary.items())))
