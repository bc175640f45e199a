"""Benchmark: reconcile N subscription charges made after cancellation (default 100,000) end to end — the sweep
requests the refunds while a real Celery worker checks and issues them through the sandbox adapter — and compare
with a no-op Celery task on the same broker (Redis) and the same worker settings.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rh_money BENCH_REDIS_URL=redis://127.0.0.1:6379/5 \
        .venv/bin/python bench/refunds.py --charges 100000 --noop 20000 --repeat 3

The Redis database index is flushed. Charges are built with bulk INSERTs (generate_series), not factories.
Prints one JSON line per run and a summary with medians.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
os.environ["CELERY_BROKER_URL"] = REDIS_URL
os.environ["DJANGO_DEBUG"] = "false"
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from cases.models import Refund  # noqa: E402
from cases.services.refunds.subscriptions import subscription_charges_reconcile  # noqa: E402
from cases.tasks import noop  # noqa: E402
from config.celery import app  # noqa: E402


def start_worker(concurrency: int) -> subprocess.Popen:
    cmd = [
        str(Path(sys.executable).parent / "celery"), "-A", "config", "worker", "--pool", "prefork",
        "--concurrency", str(concurrency), "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    return subprocess.Popen(cmd, cwd=ROOT, env=os.environ.copy(), start_new_session=True)


def stop_worker(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def broker_idle(r) -> bool:
    return r.llen("celery") == 0 and r.hlen("unacked") == 0


def wait_idle(r, timeout: float = 3600) -> None:
    end = time.monotonic() + timeout
    while not broker_idle(r):
        if time.monotonic() > end:
            raise SystemExit("broker did not drain in time")
        time.sleep(0.2)


def run_noop(r, n: int) -> dict:
    started = time.perf_counter()
    with app.connection_for_write(REDIS_URL) as conn:
        for i in range(n):
            noop.apply_async(args=[i], connection=conn)
    enqueued = time.perf_counter()
    wait_idle(r)
    done = time.perf_counter()
    return {"kind": "noop", "tasks": n, "enqueue_s": enqueued - started, "total_s": done - started,
            "per_s": n / (done - started)}  # fmt: skip


def insert_charges(n: int, per_sub: int = 100) -> str:
    """Bulk INSERTs: n/per_sub cancelled subscriptions, each with per_sub charges after its cancellation."""
    run = uuid.uuid4().hex[:8]
    subs = max(1, n // per_sub)
    with connection.cursor() as cur:
        cur.execute(
            """
            WITH c AS (
              INSERT INTO customers_customer (name, email, phone, social_handle, created_at)
              SELECT 'Bench ' || g, 'bench-' || %(run)s || '-' || g || '@example.test', '', '', now()
              FROM generate_series(1, %(subs)s) g RETURNING id
            )
            INSERT INTO customers_subscription (customer_id, plan, status, price, currency, started_at, cancelled_at)
            SELECT id, 'Prime', 'cancelled', 14.99, 'USD', now() - interval '400 days', now() - interval '60 days'
            FROM c
            RETURNING id
            """,
            {"run": run, "subs": subs},
        )
        sub_ids = [row[0] for row in cur.fetchall()]
        cur.execute(
            """
            INSERT INTO customers_subscriptioncharge (subscription_id, amount, currency, charged_at, external_id)
            SELECT s.id, 14.99, 'USD', now() - interval '1 day' * (g %% 50), 'bench-' || %(run)s || '-' || s.id || '-' || g
            FROM unnest(%(subs)s::bigint[]) AS s(id), generate_series(1, %(per)s) g
            LIMIT %(n)s
            """,
            {"run": run, "subs": sub_ids, "per": per_sub, "n": n},
        )
        # Autovacuum is off on the bench server: without this the planner has no statistics for the rows just
        # bulk-loaded and drives the sweep's query from the subscriptions, scanning every charge per batch (2-5 s
        # a batch at 100k), which a production table (analysed by autovacuum) never does.
        cur.execute("ANALYZE customers_customer, customers_subscription, customers_subscriptioncharge, cases_refund")
    return run


def run_refunds(n: int, time_limit: float) -> dict:
    """The sweep requests every refund (in this process, as the beat task would in a worker) while the worker
    issues them. Stops the clock when all are issued, or at ``time_limit`` (then reports what was issued)."""
    run = insert_charges(n)
    mine = Refund.objects.filter(subscription_charge__external_id__startswith=f"bench-{run}")
    started = time.perf_counter()
    # One sweep, as the beat task runs it (keyset-paginated batches), stopped between batches at the time budget.
    # (It used to be called once per batch, which restarted the keyset and rescanned every handled charge.)
    requested = subscription_charges_reconcile(until=time.monotonic() + time_limit)
    swept = time.perf_counter()
    issued = mine.filter(status="issued").count()
    while issued < requested and time.perf_counter() - started < time_limit:
        time.sleep(2)
        issued = mine.filter(status="issued").count()
    done = time.perf_counter()
    failed = mine.filter(status="failed").count()
    return {"kind": "refunds", "charges": n, "requested": requested, "all_requested": requested == n, "issued": issued, "failed": failed,
            "complete": issued == requested, "sweep_s": swept - started, "sweep_per_s": requested / (swept - started),
            "total_s": done - started, "per_s": issued / (done - started)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--charges", type=int, default=100_000)
    parser.add_argument("--noop", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--refund-repeat", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--time-limit", type=float, default=4 * 3600, help="seconds per refund run")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    r = redis.Redis.from_url(REDIS_URL)
    r.flushdb()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], check=False, cwd=ROOT, capture_output=True, text=True
    ).stdout
    meta = {"machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} CPUs, {platform.python_version()}",
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "commit": commit.strip(),
            "worker": f"prefork x{args.concurrency}, prefetch 1, acks_late", "broker": REDIS_URL}  # fmt: skip
    print(json.dumps(meta), flush=True)
    worker = start_worker(args.concurrency)
    try:
        run_noop(r, 200)  # warm-up: worker up and connected (not reported)
        noops = []
        for _ in range(args.repeat):
            noops.append(run_noop(r, args.noop))
            print(json.dumps(noops[-1]), flush=True)
        refunds = []
        for _ in range(args.refund_repeat):
            refunds.append(run_refunds(args.charges, args.time_limit))
            print(json.dumps(refunds[-1]), flush=True)
    finally:
        stop_worker(worker)
    if not noops or not refunds:
        return
    noop_med = statistics.median(x["per_s"] for x in noops)
    ref_med = statistics.median(x["per_s"] for x in refunds)
    sweep_med = statistics.median(x["sweep_per_s"] for x in refunds)
    summary = {"noop_tasks_per_s_median": round(noop_med, 1), "refunds_per_s_median": round(ref_med, 1),
               "sweep_requests_per_s_median": round(sweep_med, 1), "refund_vs_noop": round(ref_med / noop_med, 3)}  # fmt: skip
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
