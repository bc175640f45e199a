"""Bulk-create realistic load data for benchmarks: `manage.py generate_load --cases 1000000 --open 100000`."""

import time

from django.core.management.base import BaseCommand, CommandError

from cases.loadgen import LOAD_PASSWORD, generate_load


class Command(BaseCommand):
    help = (
        "Append realistic customers, orders with items, cases (open and resolved, with SLA due fields, timeline and "
        "first message), agents and goodwill credits. PostgreSQL: COPY; other databases: bulk_create."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=100)
        parser.add_argument("--orders", type=int, default=300)
        parser.add_argument("--cases", type=int, default=500)
        parser.add_argument("--open", type=int, default=100, dest="open_cases", help="How many of the cases are open.")
        parser.add_argument("--credits", type=int, default=200)
        parser.add_argument("--agents", type=int, default=12)
        parser.add_argument(
            "--due-fraction", type=float, default=0.01, help="Share of open cases already past their next SLA check."
        )
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--method", choices=["copy", "orm"], default=None, help="Default: copy on PostgreSQL.")

    def handle(self, *args, **o):
        started = time.monotonic()
        try:
            result = generate_load(
                customers=o["customers"],
                orders=o["orders"],
                cases=o["cases"],
                open_cases=o["open_cases"],
                credits=o["credits"],
                agents=o["agents"],
                due_fraction=o["due_fraction"],
                seed=o["seed"],
                method=o["method"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.monotonic() - started
        summary = ", ".join(f"{k}={v:,}" for k, v in vars(result).items())
        self.stdout.write(self.style.SUCCESS(f"Generated in {elapsed:.1f} s: {summary}"))
        if result.agents:
            self.stdout.write(f"Generated agents log in with password {LOAD_PASSWORD!r} (usernames load<tag>-NNNNN).")
