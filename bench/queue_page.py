"""Queue page at the current data size: server time and query count of our page for 25 and 100 rows, against
one hand-written SQL query returning the same rows (the limit). In-process (Django test client, DEBUG off), the
two measured alternately in one loop so machine noise hits both alike. The page shows a fixed number of waiting
rows (50 when this was written), so the 25 / 100 row sizes are also measured at the page's selector
(``cases.selectors.queue_waiting(limit=…)``), which owns the page's list query.

The board is also asked as an associate (``--as-associate``: the generated associate holding the most open cases,
whose roster is their departments' associates) and as its htmx partial (``--partial``: the ``HX-Request`` poll
every 3 s).

Before measuring, ``VACUUM (ANALYZE)`` of the case table (``--no-vacuum`` to skip): this PostgreSQL runs with
autovacuum off (conf.d/90-ci.conf) and the generated databases were never vacuumed, so their visibility map is
empty, a state no production table with autovacuum is in; helpdesk_bench.py vacuums django-helpdesk's tables the
same way. The all-visible fraction before and after is recorded.

Usage: DATABASE_URL=... python bench/queue_page.py --label 100k [--repeat 40] [--as-associate] [--partial]
"""

import argparse
import time

from common import django_setup, summary_ms, write_result

RAW_SQL = """
SELECT c.id, c.reference, c.subject, c.channel, c.intent, c.priority, c.status, c.sla_due_at, c.queued_at,
       c.value_at_stake, c.currency, cu.id, cu.name, d.id, d.slug, d.name
FROM cases_case c
JOIN customers_customer cu ON cu.id = c.customer_id
JOIN cases_department d ON d.id = c.department_id
WHERE c.status = 'new' AND c.department_id = ANY(%s)
ORDER BY c.priority, c.sla_due_at, c.queued_at, c.id
LIMIT %s
"""


def bench_user():
    from django.contrib.auth import get_user_model

    from cases.models import AgentProfile, Department, Role

    User = get_user_model()
    user, _ = User.objects.get_or_create(username="bench-supervisor", defaults={"is_staff": True})
    profile, _ = AgentProfile.objects.get_or_create(
        user=user, defaults={"role": Role.SUPERVISOR, "presence": AgentProfile.Presence.AVAILABLE}
    )
    profile.departments.set(Department.objects.all())
    return user


def bench_workspace_case(*, as_assignee: bool = False):
    """The case whose workspace page the page benchmarks open, and who opens it: an assigned live chat with the
    most orders behind it, viewed by the bench supervisor (or by its associate)."""
    from cases.models import Case

    case = (
        Case.objects.filter(status="assigned", channel="chat", order__isnull=False).order_by("-customer_id").first()
        or Case.objects.filter(status="assigned").first()
    )
    user = case.assignee if as_assignee and case.assignee_id else bench_user()
    return case, user


def bench_associate():
    """The generated associate holding the most open cases (their board has the heaviest "my cases" and load)."""
    from django.db.models import Count, Q

    from cases.models import AgentProfile, Role

    held = Q(user__assigned_cases__status__in=("assigned", "waiting_customer"))
    profile = (
        AgentProfile.objects.filter(role=Role.ASSOCIATE)
        .annotate(held=Count("user__assigned_cases", filter=held))
        .order_by("-held", "user_id")
        .select_related("user")
        .first()
    )
    if profile is None:
        raise SystemExit("no associate in this database")
    return profile.user


def all_visible_fraction():
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT relpages, relallvisible FROM pg_class WHERE relname = 'cases_case'")
        pages, visible = cur.fetchone()
    return round(visible / pages, 3) if pages else None


def queue_url(rows):
    """Our queue page; ``rows`` is the page size the page is asked for."""
    from django.urls import NoReverseMatch, reverse

    for name in ("cases:queue", "cases:queue_list", "cases:queues"):
        try:
            return f"{reverse(name)}?rows={rows}", name
        except NoReverseMatch:
            continue
    raise SystemExit("no queue page URL found")


def _selector():
    """The queue page's list of waiting cases (page size is a parameter here, fixed at 50 on the page)."""
    from cases import selectors

    return getattr(selectors, "queue_waiting", None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", required=True)
    ap.add_argument("--repeat", type=int, default=40)
    ap.add_argument("--as-associate", action="store_true", help="ask as an associate instead of a supervisor")
    ap.add_argument("--partial", action="store_true", help="ask for the htmx partial (HX-Request), as the poll does")
    ap.add_argument("--no-vacuum", action="store_true", help="measure the table as it is (see the module doc)")
    args = ap.parse_args()
    django_setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from cases.models import Case, Department

    vacuum = {"all_visible_before": all_visible_fraction()}
    if not args.no_vacuum:
        t = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute("VACUUM (ANALYZE) cases_case")
        vacuum["vacuum_s"] = round(time.perf_counter() - t, 1)
    vacuum["all_visible"] = all_visible_fraction()
    user = bench_associate() if args.as_associate else bench_user()
    headers = {"HX-Request": "true"} if args.partial else {}
    client = Client()
    client.force_login(user)
    all_depts = list(Department.objects.values_list("id", flat=True))
    total_cases = Case.objects.count()
    waiting = Case.objects.filter(status="new").count()
    out = {
        "label": args.label,
        "cases": total_cases,
        "waiting": waiting,
        "viewer": "associate" if args.as_associate else "supervisor",
        "username": user.get_username(),
        "partial": args.partial,
        "vacuum": vacuum,
        "rows": {},
    }
    for rows in (25, 100):
        url, url_name = queue_url(rows)
        ours, raw, queries, sel, sel_queries = [], [], [], [], []
        dept_ids = list(user.agent.departments.values_list("id", flat=True)) if args.as_associate else all_depts
        selector = _selector()
        for i in range(args.repeat + 3):
            if selector is not None:
                with CaptureQueriesContext(connection) as sctx:
                    t4 = time.perf_counter()
                    listed = selector(user=user, limit=rows)
                    t5 = time.perf_counter()
                if i >= 3:
                    sel.append(t5 - t4)
                    sel_queries.append(len(sctx.captured_queries))
            with CaptureQueriesContext(connection) as ctx:
                t0 = time.perf_counter()
                response = client.get(url, headers=headers)
                t1 = time.perf_counter()
            assert response.status_code == 200, response.status_code
            t2 = time.perf_counter()
            with connection.cursor() as cur:
                cur.execute(RAW_SQL, [dept_ids, rows])
                fetched = cur.fetchall()
            t3 = time.perf_counter()
            if i >= 3:
                ours.append(t1 - t0)
                raw.append(t3 - t2)
                queries.append(len(ctx.captured_queries))
        body = response.content.decode()
        shown = sum(1 for ref in (r[1] for r in fetched) if ref and ref in body)
        o, r = summary_ms(ours), summary_ms(raw)
        out["rows"][rows] = {
            "url": url,
            "url_name": url_name,
            "ours": o,
            "raw_sql": r,
            "queries": max(queries),
            # The staff session records "last seen" once a minute (BEGIN / UPDATE django_session / COMMIT): the
            # request that does it has 3 more queries than the page itself.
            "queries_min": min(queries),
            "raw_rows": len(fetched),
            "rows_of_raw_shown_on_page": shown,
            "ratio_median_ours_over_raw": round(o["median_ms"] / r["median_ms"], 2),
        }
        if sel:
            sm = summary_ms(sel)
            out["rows"][rows]["selector"] = {
                "name": "cases.selectors.queue_waiting",
                "time": sm,
                "queries": max(sel_queries),
                "rows": len(listed),
                "same_rows_as_raw": [c.pk for c in listed] == [f[0] for f in fetched],
                "ratio_median_over_raw": round(sm["median_ms"] / r["median_ms"], 2),
            }
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + RAW_SQL, [all_depts, 100])
        out["raw_plan"] = [row[0] for row in cur.fetchall()]
    write_result("queue_page", out)


if __name__ == "__main__":
    main()
