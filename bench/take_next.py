"""Take-next throughput: claims per second with 1/4/16/64 concurrent associates through ``case_take_next``
against a raw ``FOR UPDATE SKIP LOCKED`` claim statement (the limit), zero double claims in every run.

Each associate is a thread with its own database connection, spread over up to 8 processes (the GIL would
otherwise serialise the Python side). Every run lasts ``--seconds``; claimed cases are put back in the queue
and the cases table is vacuumed between runs, so each run sees the same queue in the same physical state. Bench associates have every department and capacities raised so
capacity never stops them (the claim path still counts their load: one grouped query per claim).

The raw statement does the same durable work in one round trip: pick the best waiting case in the associate's
departments and channels with SKIP LOCKED, mark it assigned, append the timeline event.

CPU a claim (``cpu_per_claim``): the client processes' own CPU time (``os.times``) and the server backends' (their
``/proc/<pid>/stat``: the harness and PostgreSQL on the same machine) over the timed part of the run, divided by the
claims. On a machine shared with other work the claims per second move with the neighbours' load from one run to
the next; the CPU spent per claim moves much less, and on a machine of its own the rates would stand in inverse
proportion to it.

Usage: DATABASE_URL=... python bench/take_next.py --label 1M [--levels 1,4,16,64] [--seconds 8] [--rounds 3]
"""

import argparse
import multiprocessing as mp
import os
import statistics
import threading
import time

from common import django_setup, summary_ms, write_result

RAW_CLAIM = """
WITH pick AS (
    SELECT id FROM cases_case
    WHERE status = 'new' AND department_id = ANY(%(depts)s) AND channel = ANY(%(channels)s)
    ORDER BY priority, sla_due_at, queued_at, id
    FOR UPDATE SKIP LOCKED LIMIT 1
), claimed AS (
    UPDATE cases_case c SET status = 'assigned', assignee_id = %(user)s, updated_at = now()
    FROM pick WHERE c.id = pick.id RETURNING c.id
)
INSERT INTO cases_caseevent (case_id, type, actor_id, old_value, new_value, data, is_public, created_at)
SELECT id, 'status_changed', %(user)s, 'new', 'assigned', '{"via": "raw"}', true, now() FROM claimed
RETURNING case_id
"""
CHANNELS = ["chat", "callback", "social", "phone", "email", "web"]


def bench_associates(n):
    from django.contrib.auth import get_user_model

    from cases.models import AgentProfile, Department, Role

    User = get_user_model()
    depts = list(Department.objects.all())
    ids = []
    for i in range(n):
        user, _ = User.objects.get_or_create(username=f"bench-tn-{i:02d}")
        profile, _ = AgentProfile.objects.get_or_create(user=user, defaults={"role": Role.ASSOCIATE})
        AgentProfile.objects.filter(pk=profile.pk).update(
            role=Role.ASSOCIATE,
            presence=AgentProfile.Presence.AVAILABLE,
            capacity_chat=32000,
            capacity_call=32000,
            capacity_social=32000,
            capacity_async=32000,
        )
        profile.departments.set(depts)
        ids.append(user.pk)
    return ids, [d.pk for d in depts]


def requeue(user_ids):
    """Put every case the bench associates hold back in the queue (raw: the bench's own bookkeeping)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "UPDATE cases_case SET status = 'new', assignee_id = NULL "
            "WHERE assignee_id = ANY(%s) AND status IN ('assigned', 'waiting_customer')",
            [user_ids],
        )
        return cur.rowcount


def vacuum_queue():
    """VACUUM the cases table after a requeue, so every run starts from the same physical queue.

    Each claim and each requeue leaves a dead version of a case at the head of the take-next index; the 1M table
    is too big for autovacuum's 20 % threshold to clean up between runs, so without this every run inherited the
    dead entries of all runs before it — more from the raw loop (it claims 3-5 times as many), and the next run
    of "ours" always followed a raw run. Both sides now pay the same: none."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("VACUUM cases_case")


def _backend_cpu(pid):
    """CPU seconds (user + system) the server process ``pid`` has used (same machine: /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def _own_cpu():
    t = os.times()
    return t.user + t.system


def _worker(mode, user_ids, dept_ids, go, start_value, seconds, ready_q, out_q):
    django_setup()
    from django.contrib.auth import get_user_model
    from django.db import close_old_connections, connection

    from cases.errors import Conflict
    from cases.services.queue import case_take_next

    results = []
    server_cpu = []
    lock = threading.Lock()
    connected = threading.Barrier(len(user_ids) + 1)

    def run(user_id):
        claims = []
        try:
            user = get_user_model().objects.get(pk=user_id)
            connection.ensure_connection()
            backend_pid = connection.connection.info.backend_pid
            raw = connection.connection if mode == "raw" else None
            if raw is not None:
                raw.autocommit = True
            connected.wait()
        except Exception as exc:  # e.g. "too many clients": fail the run instead of leaving the others waiting
            connected.abort()
            with lock:
                results.append(([], f"connect: {type(exc).__name__}: {exc}"[:200]))
            return
        go.wait()
        start_at = start_value.value
        while time.time() < start_at:
            time.sleep(0.0005)
        backend_cpu = _backend_cpu(backend_pid)
        stop = start_at + seconds
        error = None
        while time.time() < stop:
            t0 = time.perf_counter()
            try:
                if mode == "ours":
                    case_id = case_take_next(user=user).pk
                else:
                    with raw.cursor() as cur:
                        cur.execute(RAW_CLAIM, {"depts": dept_ids, "channels": CHANNELS, "user": user_id})
                        row = cur.fetchone()
                    if row is None:
                        error = "queue_empty"
                        break
                    case_id = row[0]
            except Conflict as exc:
                error = exc.code
                break
            except Exception as exc:  # a crash must show in the results, not silently end the thread
                error = f"{type(exc).__name__}: {exc}"[:200]
                break
            claims.append((case_id, user_id, time.perf_counter() - t0, time.time() - start_at))
        backend_cpu = _backend_cpu(backend_pid) - backend_cpu
        close_old_connections()
        connection.close()
        with lock:
            results.append((claims, error))
            server_cpu.append(backend_cpu)

    threads = [threading.Thread(target=run, args=(u,)) for u in user_ids]
    for t in threads:
        t.start()
    try:
        connected.wait()
    except threading.BrokenBarrierError:
        pass  # a thread could not connect: the run starts with the others and reports the error
    ready_q.put(len(user_ids))
    go.wait()
    cpu_start = _own_cpu()
    for t in threads:
        t.join()
    out_q.put((results, _own_cpu() - cpu_start, sum(server_cpu)))


def one_run(mode, user_ids, dept_ids, seconds):
    n = len(user_ids)
    procs_n = min(n, 8)
    groups = [user_ids[i::procs_n] for i in range(procs_n)]
    ctx = mp.get_context("spawn")
    q, ready_q, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    start_value = ctx.Value("d", 0.0)
    procs = [
        ctx.Process(target=_worker, args=(mode, g, dept_ids, go, start_value, seconds, ready_q, q)) for g in groups
    ]
    for p in procs:
        p.start()
    for _ in procs:  # every process booted, every associate connected: start all at once
        ready_q.get()
    start_value.value = time.time() + 0.2
    go.set()
    gathered = []
    client_cpu = server_cpu = 0.0
    for _ in procs:
        results, client, server = q.get()
        gathered.extend(results)
        client_cpu += client
        server_cpu += server
    for p in procs:
        p.join()
    claims = [c for cs, _ in gathered for c in cs]
    errors = sorted({e for _, e in gathered if e})
    ids = [c[0] for c in claims]
    doubles = len(ids) - len(set(ids))
    per_claim = 1000 / len(claims) if claims else 0.0
    cpu = {"client_ms": round(client_cpu * per_claim, 3), "server_ms": round(server_cpu * per_claim, 3)}
    return claims, doubles, errors, cpu


def per_second(claims, seconds):
    """The run second by second, by when each claim finished: claims made and their median and p99 latency. Shows
    whether the rate and the tail move through a run (ours: the bench associates' held load grows, see
    ``bench/take_next_held.py``) or are the same in every second. A claim started before the end and finished after
    it counts in the last second."""
    buckets = [[] for _ in range(max(1, int(seconds + 0.999)))]
    for claim in claims:
        buckets[min(len(buckets) - 1, max(0, int(claim[3])))].append(claim[2])
    return [
        {
            "second": i,
            "claims": len(b),
            **({k: v for k, v in summary_ms(b).items() if k in ("median_ms", "p99_ms")} if b else {}),
        }
        for i, b in enumerate(buckets)
    ]


def verify_in_db(claims):
    """Every claimed case is held by the associate who claimed it (nobody else ended up with it)."""
    from django.db import connection

    if not claims:
        return 0
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM cases_case c JOIN unnest(%s::bigint[], %s::bigint[]) AS x(id, u) ON c.id = x.id "
            "WHERE c.assignee_id IS DISTINCT FROM x.u OR c.status <> 'assigned'",
            [[c[0] for c in claims], [c[1] for c in claims]],
        )
        return cur.fetchone()[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", required=True)
    ap.add_argument("--levels", default="1,4,16,64")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    django_setup()
    from django.db import connection

    from cases.models import Case

    levels = [int(x) for x in args.levels.split(",")]
    user_ids, dept_ids = bench_associates(max(levels))
    requeue(user_ids)
    vacuum_queue()
    connection.close()
    out = {"label": args.label, "cases": Case.objects.count(), "waiting": Case.objects.filter(status="new").count()}
    out["seconds"], out["levels"] = args.seconds, {}
    for n in levels:
        level = {"ours": [], "raw": []}
        for _ in range(args.rounds):
            for mode in ("ours", "raw"):
                claims, doubles, errors, cpu = one_run(mode, user_ids[:n], dept_ids, args.seconds)
                mismatched = verify_in_db(claims)
                requeue(user_ids)
                vacuum_queue()
                connection.close()
                lat = summary_ms([c[2] for c in claims]) if claims else {}
                level[mode].append(
                    {"claims": len(claims), "per_s": round(len(claims) / args.seconds, 1), "double_claims": doubles,
                     "db_mismatch": mismatched, "errors": errors, "latency": lat, "cpu_per_claim": cpu,
                     "per_second": per_second(claims, args.seconds)}
                )  # fmt: skip
                print(n, mode, {k: v for k, v in level[mode][-1].items() if k != "per_second"}, flush=True)
        for mode in ("ours", "raw"):
            runs = level[mode]
            level[mode + "_median_per_s"] = statistics.median(r["per_s"] for r in runs)
            level[mode + "_median_p99_ms"] = statistics.median(r["latency"].get("p99_ms", 0) for r in runs)
            level[mode + "_double_claims_total"] = sum(r["double_claims"] + r["db_mismatch"] for r in runs)
            level[mode + "_median_cpu_ms_per_claim"] = statistics.median(
                r["cpu_per_claim"]["client_ms"] + r["cpu_per_claim"]["server_ms"] for r in runs
            )
        raw_rate = level["raw_median_per_s"]
        level["ratio_ours_over_raw"] = round(level["ours_median_per_s"] / raw_rate, 3) if raw_rate else None
        out["levels"][n] = level
    write_result("take_next", out)


if __name__ == "__main__":
    main()
