"""django-helpdesk's ticket list (``datatables_ticket_list``) with N tickets on the same PostgreSQL server.

Runs INSIDE a throwaway virtualenv holding django-helpdesk + pinax-teams from PyPI (bench/run.sh creates it under
bench/.helpdesk-venv, gitignored); none of its code is in this repository. The minimal Django project it needs is
written at run time to bench/results/helpdesk_site/. Tickets are bulk-loaded with one INSERT … SELECT
generate_series per table (same shape as ours: 10 % open, spread over 6 queues, one follow-up each), then the
endpoint is called in-process with the Django test client (DEBUG off), like our queue page.

Usage: HELPDESK_DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench \
       bench/.helpdesk-venv/bin/python bench/helpdesk_bench.py --tickets 50000 --label 50k
"""

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SITE = HERE / "results" / "helpdesk_site"

SETTINGS = """
import os
from urllib.parse import urlparse

u = urlparse(os.environ["HELPDESK_DATABASE_URL"])
SECRET_KEY = "bench-only-helpdesk-site-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1"]
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
    "django.contrib.messages", "django.contrib.staticfiles", "django.contrib.sites", "django.contrib.humanize",
    "account", "pinax.invitations", "pinax.teams", "reversion", "rest_framework", "helpdesk",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware", "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware", "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware", "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "hdsite.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [], "APP_DIRS": True,
              "OPTIONS": {"context_processors": ["django.template.context_processors.request",
                                                 "django.contrib.auth.context_processors.auth",
                                                 "django.contrib.messages.context_processors.messages"]}}]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": u.path.lstrip("/"),
                         "USER": u.username or "postgres", "HOST": u.hostname or "127.0.0.1", "PORT": u.port or 5432,
                         "PASSWORD": u.password or ""}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
SITE_ID = 1
STATIC_URL = "/static/"
LOGIN_URL = "/login/"
"""
URLS = """
from django.urls import include, path

urlpatterns = [path("helpdesk/", include("helpdesk.urls", namespace="helpdesk"))]
"""


def write_site():
    pkg = SITE / "hdsite"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "settings.py").write_text(SETTINGS)
    (pkg / "urls.py").write_text(URLS)
    sys.path.insert(0, str(SITE))
    sys.path.insert(0, str(HERE))
    os.environ["DJANGO_SETTINGS_MODULE"] = "hdsite.settings"


def load_tickets(target):
    """Bring the ticket count up to ``target`` (10 % open: status 1/2; the rest resolved/closed 3/4)."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from helpdesk.models import Queue, Ticket

    User = get_user_model()
    staff, created = User.objects.get_or_create(
        username="bench-staff", defaults={"is_staff": True, "is_superuser": True}
    )
    if created:
        staff.set_password("bench")
        staff.save()
    agents = []
    for i in range(12):
        u, _ = User.objects.get_or_create(
            username=f"hd-agent-{i:02d}", defaults={"is_staff": True, "first_name": "Agent", "last_name": str(i)}
        )
        agents.append(u.pk)
    queues = []
    for slug, title in [
        ("general", "General support"),
        ("fraud", "Fraud & account security"),
        ("social", "Social care"),
        ("pharmacy", "Pharmacy"),
        ("ereader", "E-reader tech support"),
        ("claims", "Settlement claims"),
    ]:
        q, _ = Queue.objects.get_or_create(slug=slug, defaults={"title": title})
        queues.append(q.pk)
    have = Ticket.objects.count()
    if have > target:  # one database for every scale: shrink back (ids are contiguous, newest removed first)
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("DELETE FROM helpdesk_followup WHERE ticket_id > %s", [target])
            cur.execute("DELETE FROM helpdesk_ticket WHERE id > %s", [target])
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE helpdesk_ticket")
            cur.execute("VACUUM ANALYZE helpdesk_followup")
        print(f"shrunk helpdesk tickets from {have} to {target}", flush=True)
        return Ticket.objects.count()
    if have == target:
        return have
    n = target - have
    t0 = time.monotonic()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM helpdesk_ticket")
        base = cur.fetchone()[0]
        cur.execute(
            """
            INSERT INTO helpdesk_ticket (id, title, queue_id, created, modified, submitter_email, assigned_to_id,
                status, on_hold, description, resolution, priority, due_date, last_escalation, secret_key,
                kbitem_id, merged_to_id)
            SELECT g, 'Where is my package? #' || g, (%(queues)s::int[])[1 + (g %% 6)],
                   now() - (random() * interval '365 days'), now(), 'customer' || g || '@example.com',
                   CASE WHEN g %% 10 = 0 THEN NULL ELSE (%(agents)s::int[])[1 + (g %% 12)] END,
                   CASE WHEN random() < 0.10 THEN (CASE WHEN random() < 0.9 THEN 1 ELSE 2 END)
                        ELSE (CASE WHEN random() < 0.3 THEN 3 ELSE 4 END) END,
                   false, 'Hello, I need help with my order, please.', NULL, 1 + (g %% 5),
                   now() + (random() * interval '3 days'), NULL, md5(g::text), NULL, NULL
            FROM generate_series(%(lo)s, %(hi)s) g
            """,
            {"lo": base + 1, "hi": base + n, "queues": queues, "agents": agents},
        )
        cur.execute(
            """
            INSERT INTO helpdesk_followup (ticket_id, date, title, comment, public, user_id, new_status, message_id,
                time_spent)
            SELECT g, now() - (random() * interval '30 days'), 'Comment', 'We are looking into it.', true,
                   NULL, NULL, NULL, NULL
            FROM generate_series(%(lo)s, %(hi)s) g
            """,
            {"lo": base + 1, "hi": base + n},
        )
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('helpdesk_ticket', 'id'), (SELECT MAX(id) FROM helpdesk_ticket))"
        )
    with connection.cursor() as cur:
        cur.execute("ANALYZE helpdesk_ticket; ANALYZE helpdesk_followup")
    print(f"loaded {n} helpdesk tickets in {time.monotonic() - t0:.1f} s", flush=True)
    return target


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument("--repeat", type=int, default=40)
    ap.add_argument("--budget", type=float, default=60.0, help="Stop a size after this many seconds (≥ 5 samples).")
    args = ap.parse_args()
    write_site()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from common import summary_ms, write_result
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from helpdesk.models import Ticket
    from helpdesk.query import query_to_base64

    total = load_tickets(args.tickets)
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-staff"))
    # The ticket list page's own default query: open and reopened tickets, sorted by creation.
    query = query_to_base64(
        {"filtering": {"status__in": [1, 2]}, "sorting": "created", "search_string": "", "sortreverse": False}
    )
    url = reverse("helpdesk:datatables_ticket_list", args=[query])
    out = {"label": args.label, "tickets": total, "open": Ticket.objects.filter(status__in=[1, 2]).count(), "rows": {}}
    for rows in (25, 100):
        params = {"draw": 1, "start": 0, "length": rows, "order[0][column]": 5, "order[0][dir]": "asc"}
        times, queries = [], []
        began = time.monotonic()
        for i in range(args.repeat + 3):
            if len(times) >= 5 and time.monotonic() - began > args.budget:
                break
            with CaptureQueriesContext(connection) as ctx:
                t0 = time.perf_counter()
                response = client.get(url, params)
                t1 = time.perf_counter()
            assert response.status_code == 200, (response.status_code, response.content[:300])
            if i >= 3:
                times.append(t1 - t0)
                queries.append(len(ctx.captured_queries))
        data = response.json()
        out["rows"][rows] = {
            "helpdesk": summary_ms(times),
            "queries": max(queries),
            "rows_returned": len(data["data"]),
            "records_total": data.get("recordsTotal"),
        }
    import helpdesk

    out["helpdesk_version"] = getattr(helpdesk, "__version__", "2.6.1")
    write_result("helpdesk", out)


if __name__ == "__main__":
    main()
