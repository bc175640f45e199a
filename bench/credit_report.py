"""Benchmark: the supervisor console's per-agent credit report over 1,000,000 credits vs the same SQL run directly.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rh_credits .venv/bin/python bench/credit_report.py [--rows 1000000]

- Builds the credits once with bulk ``INSERT … SELECT generate_series`` (rows tagged ``note = 'bench'``; a second
  run reuses them), about 2 % pending, 1 % rejected by a supervisor, 1 % reversed; 60 agents, 5,000 customers,
  created over the last 90 days. ``--drop`` removes the bench rows at the end.
- Measures, interleaved, ``--runs`` times each (default 7): (a) ``cases.console_selectors.credit_report_per_agent``
  (the ORM query the console runs, materialised to dicts with the net computed in Python) and (b)
  ``CREDIT_REPORT_SQL`` — the same report hand-written — through a raw cursor. Prints medians and the ratio, and
  writes JSON to ``bench/results/credit_report.json``.
Never run by ``make test``. Needs PostgreSQL (generate_series, FILTER).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from cases.console_selectors import CREDIT_REPORT_SQL, credit_report_per_agent  # noqa: E402
from cases.models import AgentProfile, Department, Role  # noqa: E402
from customers.models import Customer  # noqa: E402

AGENTS = 60
CUSTOMERS = 5000

INSERT_CREDITS = """
INSERT INTO cases_goodwillcredit
  (case_id, customer_id, kind, reverses_id, amount, currency, reason_code, note, issued_by_id, issued_by_role,
   status, decided_by_id, decided_at, decision_note, created_at)
SELECT NULL,
       (%(customers)s::bigint[])[(1 + (g * 7919) %% %(ncust)s)::int],
       'credit', NULL,
       (5 + ((g * 37) %% 4500) / 100.0)::numeric(12, 2),
       'USD',
       (ARRAY['late_delivery','missing_item','service_failure','billing_error','refund_delay','loyalty','other'])[(1 + g %% 7)::int],
       'bench',
       (%(agents)s::bigint[])[(1 + (g * 104729) %% %(nagents)s)::int],
       'associate',
       CASE WHEN g %% 50 = 0 THEN 'pending' WHEN g %% 97 = 0 THEN 'rejected' ELSE 'approved' END,
       CASE WHEN g %% 97 = 0 AND g %% 50 <> 0 THEN %(supervisor)s ELSE NULL END,
       CASE WHEN g %% 50 = 0 THEN NULL ELSE ts END,
       '',
       ts
FROM generate_series(1::bigint, %(rows)s::bigint) AS g,
     LATERAL (SELECT %(now)s::timestamptz - ((g * 1299709) %% (90 * 24 * 3600)) * interval '1 second' AS ts) AS t
"""

INSERT_REVERSALS = """
INSERT INTO cases_goodwillcredit
  (case_id, customer_id, kind, reverses_id, amount, currency, reason_code, note, issued_by_id, issued_by_role,
   status, decided_by_id, decided_at, decision_note, created_at)
SELECT NULL, customer_id, 'reversal', id, amount, currency, reason_code, 'bench', issued_by_id, issued_by_role,
       'approved', NULL, created_at + interval '1 hour', '', created_at + interval '1 hour'
FROM cases_goodwillcredit
WHERE note = 'bench' AND kind = 'credit' AND status = 'approved' AND id %% 100 = 0
"""


def ensure_world() -> tuple[list[int], list[int], int]:
    User = get_user_model()
    dept, _ = Department.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    agents = []
    for i in range(AGENTS):
        user, _ = User.objects.get_or_create(username=f"bench-agent-{i:02d}")
        profile, _ = AgentProfile.objects.get_or_create(user=user, defaults={"role": Role.ASSOCIATE})
        profile.departments.add(dept)
        agents.append(user.pk)
    sup, _ = User.objects.get_or_create(username="bench-supervisor")
    AgentProfile.objects.get_or_create(user=sup, defaults={"role": Role.SUPERVISOR})
    have = Customer.objects.filter(email__endswith="@bench.invalid").count()
    if have < CUSTOMERS:
        Customer.objects.bulk_create(
            Customer(name=f"Bench customer {i}", email=f"c{i}@bench.invalid") for i in range(have, CUSTOMERS)
        )
    customers = list(
        Customer.objects.filter(email__endswith="@bench.invalid").order_by("pk").values_list("pk", flat=True)
    )
    return agents, customers, sup.pk


def bench_rows() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM cases_goodwillcredit WHERE note = 'bench' AND kind = 'credit'")
        return cur.fetchone()[0]


def build(rows: int, agents, customers, supervisor) -> float:
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            INSERT_CREDITS,
            {
                "rows": rows,
                "agents": agents,
                "nagents": len(agents),
                "customers": customers,
                "ncust": len(customers),
                "supervisor": supervisor,
                "now": datetime.now(UTC),
            },
        )
        cur.execute(INSERT_REVERSALS, [])
    with connection.cursor() as cur:
        cur.execute("ANALYZE cases_goodwillcredit")
    return time.perf_counter() - started


def drop() -> None:
    with connection.cursor() as cur:
        cur.execute("ALTER TABLE cases_goodwillcredit DISABLE TRIGGER cases_goodwillcredit_guard")
        cur.execute("DELETE FROM cases_goodwillcredit WHERE note = 'bench' AND kind = 'reversal'")
        cur.execute("DELETE FROM cases_goodwillcredit WHERE note = 'bench'")
        cur.execute("ALTER TABLE cases_goodwillcredit ENABLE TRIGGER cases_goodwillcredit_guard")


def timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--drop", action="store_true", help="delete the bench rows afterwards")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("This benchmark needs PostgreSQL: set DATABASE_URL.")
    call_command("migrate", verbosity=0)
    agents, customers, supervisor = ensure_world()
    have = bench_rows()
    build_s = None
    if have < args.rows:
        if have:
            drop()
        print(f"building {args.rows:,} credits with INSERT … SELECT generate_series …", flush=True)
        build_s = build(args.rows, agents, customers, supervisor)
        print(f"built in {build_s:.1f} s", flush=True)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM cases_goodwillcredit")
        total_rows = cur.fetchone()[0]

    sup_user = get_user_model().objects.get(pk=supervisor)
    until = datetime.now(UTC) + timedelta(days=1)
    since = until - timedelta(days=366)

    def orm():
        return credit_report_per_agent(user=sup_user, since=since, until=until)

    def raw():
        with connection.cursor() as cur:
            cur.execute(CREDIT_REPORT_SQL, [since, until])
            return cur.fetchall()

    # Warm up (plan cache, buffers), and check both give the same report.
    orm_rows, raw_rows = orm(), raw()
    assert [(r["issued_by_id"], r["credits"], r["approved"], r["reversed"]) for r in orm_rows] == [
        (r[0], r[2], r[3], r[6]) for r in raw_rows
    ], "the ORM report and the SQL report disagree"
    orm_t, raw_t = [], []
    for _ in range(args.runs):
        orm_t.append(timed(orm)[0])
        raw_t.append(timed(raw)[0])
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) " + CREDIT_REPORT_SQL, [since, until])
        plan = "\n".join(r[0] for r in cur.fetchall())
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout
    result = {
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit.strip(),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}",
        "postgres": connection.cursor().connection.info.server_version,
        "bench_credits": args.rows,
        "table_rows": total_rows,
        "agents": len(orm_rows),
        "build_seconds": build_s,
        "runs": args.runs,
        "orm_median_ms": round(statistics.median(orm_t) * 1000, 1),
        "sql_median_ms": round(statistics.median(raw_t) * 1000, 1),
        "orm_ms": [round(t * 1000, 1) for t in orm_t],
        "sql_ms": [round(t * 1000, 1) for t in raw_t],
    }
    result["ratio"] = round(result["orm_median_ms"] / result["sql_median_ms"], 3)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "credit_report.json").write_text(json.dumps(result, indent=2))
    (out / "credit_report_plan.txt").write_text(plan)
    print(json.dumps(result, indent=2))
    print(plan)
    if args.drop:
        drop()


if __name__ == "__main__":
    main()
