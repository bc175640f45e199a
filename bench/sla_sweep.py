"""SLA sweep benchmark (not a test): the sweep's cost follows the number of *due* cases, not open cases.

    DATABASE_URL=postgres://.../rh_sla .venv/bin/python bench/sla_sweep.py --yes

DESTROYS the cases in the target database (TRUNCATE cases_case CASCADE): run it on your own database only.
Builds 1,000,000 cases with INSERT … SELECT generate_series (minimal columns, no timeline), then:
  A. 100,000 open, 1 % due (1,000);  B. 1,000,000 open, same 1,000 due;  C. 1,000,000 open, 2,000 due.
For each: EXPLAIN (ANALYZE, BUFFERS) of one sweep batch (must use the partial index ``case_sla_sweep``), the
median time of that batch query, and the median wall time of ``--sweeps`` full ``sla_sweep`` runs over the due
cases (each rolled back, so every run sees the same due cases). The target is B ÷ A ≤ 1.2 on the full sweep.
With BENCH_RESULTS set (run.sh does), the record is appended to $BENCH_RESULTS/sla_sweep.jsonl.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from cases.models import Case, Department  # noqa: E402
from cases.services.sla import SWEEP_BATCH_SIZE, sla_sweep  # noqa: E402
from customers.models import Customer  # noqa: E402
from customers.tests.factories import CustomerFactory  # noqa: E402

TOTAL = 1_000_000


def batch_queryset(now):
    return (
        Case.objects.filter(sla_next_check_at__lte=now)
        .order_by("sla_next_check_at")
        .select_for_update(skip_locked=True, of=("self",), no_key=True)[:SWEEP_BATCH_SIZE]
    )


def build(total: int, open_cases: int, due: int, now) -> None:
    with connection.cursor() as cur:
        cur.execute("TRUNCATE cases_case CASCADE")
        dept = Department.objects.get_or_create(slug="general", defaults={"name": "General support"})[0]
        customer = Customer.objects.order_by("id").first() or CustomerFactory()
        cur.execute(
            """
            INSERT INTO cases_case (customer_id, channel, intent, status, priority, department_id, subject,
                value_at_stake, currency, escalation_reasons, triage, created_at, updated_at, queued_at,
                resolution_reason, sla_paused_seconds, first_response_due_at, sla_due_at, sla_next_check_at,
                resolved_at)
            SELECT %(customer)s, 'chat', 'other', CASE WHEN g <= %(open)s THEN 'new' ELSE 'closed' END, 3,
                %(dept)s, 'bench', 0, 'USD', '[]', '{}', c, c, c, '', 0, c + interval '3 min', c + interval '3 min',
                CASE WHEN g <= %(due)s THEN %(now)s - make_interval(secs => g)
                     WHEN g <= %(open)s THEN %(now)s + make_interval(secs => 60 + g)
                     ELSE NULL END,
                CASE WHEN g > %(open)s THEN c + interval '1 hour' END
            FROM generate_series(1, %(total)s) AS g,
                 LATERAL (SELECT CASE WHEN g <= %(due)s THEN %(now)s - interval '1 hour'
                                      ELSE %(now)s - make_interval(secs => g) END AS c) AS t
            """,
            {"customer": customer.pk, "dept": dept.pk, "open": open_cases, "due": due, "total": total, "now": now},
        )
        cur.execute("ANALYZE cases_case")


def reshape(open_cases: int, due: int, now) -> None:
    """Change how many cases are open / due without rebuilding (ids 1..open are open, 1..due are due)."""
    with connection.cursor() as cur:
        cur.execute("SELECT min(id) FROM cases_case")
        base = cur.fetchone()[0] - 1
        cur.execute(
            """
            UPDATE cases_case SET
                status = CASE WHEN id - %(base)s <= %(open)s THEN 'new' ELSE 'closed' END,
                created_at = CASE WHEN id - %(base)s <= %(due)s THEN %(now)s - interval '1 hour' ELSE created_at END,
                sla_next_check_at = CASE
                    WHEN id - %(base)s <= %(due)s THEN %(now)s - make_interval(secs => id - %(base)s)
                    WHEN id - %(base)s <= %(open)s THEN %(now)s + make_interval(secs => 60 + id - %(base)s)
                    ELSE NULL END
            WHERE (status = 'new') <> (id - %(base)s <= %(open)s)
               OR (sla_next_check_at <= %(now)s) <> (id - %(base)s <= %(due)s)
               OR (sla_next_check_at IS NULL) <> (id - %(base)s > %(open)s)
            """,
            {"base": base, "open": open_cases, "due": due, "now": now},
        )
        cur.execute("VACUUM ANALYZE cases_case")


def explain(now) -> str:
    with transaction.atomic(), connection.cursor() as cur:
        sql, params = batch_queryset(now).query.sql_with_params()
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS) " + sql, params)
        return "\n".join(row[0] for row in cur.fetchall())


def time_batch_query(now, runs: int = 9) -> float:
    samples = []
    for _ in range(runs):
        with transaction.atomic(), connection.cursor() as cur:
            sql, params = batch_queryset(now).query.sql_with_params()
            t0 = time.perf_counter()
            cur.execute(sql, params)
            cur.fetchall()
            samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000


def time_full_sweep(now) -> tuple[float, int, int]:
    with transaction.atomic():
        t0 = time.perf_counter()
        result = sla_sweep(now=now)
        elapsed = time.perf_counter() - t0
        left = Case.objects.filter(sla_next_check_at__lte=now).count()
        transaction.set_rollback(True)
    return elapsed, result.cases, left


def time_full_sweeps(now, runs: int) -> tuple[float, list[float], int, int]:
    """Median of ``runs`` full sweeps (each rolled back, so each sees the same due cases)."""
    samples, swept, left = [], 0, 0
    for _ in range(runs):
        elapsed, swept, left = time_full_sweep(now)
        samples.append(elapsed)
    return statistics.median(samples), samples, swept, left


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--yes", action="store_true", help="Confirm: the target database's cases are wiped.")
    parser.add_argument("--total", type=int, default=TOTAL)
    parser.add_argument("--sweeps", type=int, default=3, help="full sweeps per scenario (median reported)")
    args = parser.parse_args()
    if not args.yes or connection.vendor != "postgresql":
        sys.exit("Refusing: pass --yes and point DATABASE_URL at your own PostgreSQL database.")
    call_command("migrate", verbosity=0)
    now = timezone.now()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], check=False, capture_output=True, text=True, cwd=ROOT
    ).stdout
    print(f"# SLA sweep benchmark  {now:%Y-%m-%d %H:%M} UTC  commit {commit.strip()}  {platform.node()}")
    print(f"# {os.cpu_count()} cpus, {platform.platform()}, PostgreSQL {connection.pg_version}")
    t0 = time.perf_counter()
    total, open_small = args.total, args.total // 10
    build(total, open_small, open_small // 100, now)
    print(f"built {total:,} cases in {time.perf_counter() - t0:.1f} s")
    scenarios = [
        ("A", open_small, open_small // 100),
        ("B", total, open_small // 100),
        ("C", total, open_small // 50),
    ]
    rows = []
    for name, open_cases, due in scenarios:
        if name != "A":
            t0 = time.perf_counter()
            reshape(open_cases, due, now)
            print(f"reshaped to {open_cases:,} open / {due:,} due in {time.perf_counter() - t0:.1f} s")
        check = now + timedelta(seconds=1)
        plan = explain(check)
        uses_index = "case_sla_sweep" in plan
        batch_ms = time_batch_query(check)
        sweep_s, samples, swept, left = time_full_sweeps(check, args.sweeps)
        rows.append((name, open_cases, due, uses_index, batch_ms, sweep_s, swept, left, samples))
        print(f"\n## {name}: {open_cases:,} open, {due:,} due\n{plan}\n")
        print(
            f"batch query median {batch_ms:.2f} ms; full sweep median {sweep_s:.2f} s "
            f"(runs: {', '.join(f'{v:.2f}' for v in samples)}) for {swept:,} cases "
            f"({1000 * sweep_s / max(swept, 1):.2f} ms/case), left due: {left}"
        )
    print(
        f"\n| scenario | open | due | index used | batch query (median of 9) | full sweep (median of {args.sweeps}) | per case |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, open_cases, due, uses_index, batch_ms, sweep_s, swept, _left, _samples in rows:
        print(
            f"| {name} | {open_cases:,} | {due:,} | {'yes' if uses_index else 'NO'} | {batch_ms:.2f} ms | "
            f"{sweep_s:.2f} s | {1000 * sweep_s / max(swept, 1):.2f} ms |"
        )
    by_name = {row[0]: row for row in rows}
    ratio = by_name["B"][5] / by_name["A"][5]
    print(f"\nfull sweep B ÷ A = {ratio:.2f} (target ≤ 1.2: {'met' if ratio <= 1.2 else 'missed'})")
    if os.environ.get("BENCH_RESULTS"):
        record = {
            "label": "1M" if total == TOTAL else str(total),
            "date_utc": f"{now:%Y-%m-%dT%H:%M:%SZ}",
            "commit": commit.strip(),
            "loadavg": os.getloadavg(),
            "sweeps": args.sweeps,
            "ratio_b_over_a": round(ratio, 3),
            "scenarios": {
                name: {
                    "open": open_cases,
                    "due": due,
                    "uses_index": uses_index,
                    "batch_query_median_ms": round(batch_ms, 3),
                    "full_sweep_median_s": round(sweep_s, 3),
                    "full_sweep_runs_s": [round(v, 3) for v in samples],
                    "per_case_ms": round(1000 * sweep_s / max(swept, 1), 3),
                    "swept": swept,
                }
                for name, open_cases, due, uses_index, batch_ms, sweep_s, swept, _left, samples in rows
            },
        }
        with Path(os.environ["BENCH_RESULTS"], "sla_sweep.jsonl").open("a") as f:
            f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
