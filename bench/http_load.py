"""Page throughput under load with wrk: the case workspace page and the queue-board partial against a Django
"hello" view (same gunicorn, same middleware, same settings), p50 / p99 latency and requests per second.

wrk runs on the same 2-core machine as gunicorn and PostgreSQL, so all three compete for CPU alike; the figures
that matter are the same-run ratios. Pages are requested by a logged-in supervisor (session cookie).

CPU a request (``cpu_ms_per_request``): the CPU time the gunicorn processes (master and workers), every PostgreSQL
process on the machine and wrk itself used during a run, divided by the requests it made (``/proc``; the harness,
the server and PostgreSQL share the machine). It says where a page's cost is (its Python, its statements); like the
rates, it moves with the machine from one round to the next (hello's server CPU 1.44–1.99 ms in one run of session 9).

Usage: DATABASE_URL=... python bench/http_load.py --label 100k [--seconds 15] [--connections 16] [--rounds 3]
"""

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess

from common import RESULTS, django_setup, write_result
from server import SETTINGS, session_cookie, start, stop

UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(text):
    out = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["req_per_s"] = float(m.group(1)) if m else None
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        out[f"p{pct}_ms"] = round(float(m.group(1)) * UNIT[m.group(2)], 2) if m else None
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    out["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"(\d+) requests in", text)
    out["requests"] = int(m.group(1)) if m else None
    return out


_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(server_pid):
    """CPU seconds so far of the server (``server_pid`` and its child processes, the workers) and of every PostgreSQL
    process; processes that exit in between drop out of the sum (none should: no worker recycling)."""
    server = database = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat.rsplit(")", 1)[1].split()
        used = (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime
        if int(entry) == server_pid or int(fields[1]) == server_pid:  # fields[1]: the parent's pid
            server += used
        elif comm.startswith("postgres"):
            database += used
    return server, database


def wrk_measured(url, cookie, *, server_pid, seconds, connections, htmx=False):
    """``wrk`` with the CPU a request of the server, PostgreSQL and wrk over the run (``cpu_ms_per_request``)."""
    server0, database0 = _cpu_seconds(server_pid)
    own0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    result, text = wrk(url, cookie, seconds=seconds, connections=connections, htmx=htmx)
    server1, database1 = _cpu_seconds(server_pid)
    own1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = (own1.ru_utime + own1.ru_stime) - (own0.ru_utime + own0.ru_stime)
    per = 1000 / result["requests"] if result.get("requests") else 0.0
    result["cpu_ms_per_request"] = {
        "server": round((server1 - server0) * per, 3),
        "database": round((database1 - database0) * per, 3),
        "wrk": round(load * per, 3),
    }
    return result, text


def wrk(url, cookie, *, seconds, connections, htmx=False):
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", f"Cookie: sessionid={cookie}"]
    if htmx:
        cmd += ["-H", "HX-Request: true"]
    text = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    return parse_wrk(text), text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", required=True)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--as-assignee", action="store_true", help="request as the case's associate, not the supervisor")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    django_setup()
    from django.db import connection
    from django.urls import NoReverseMatch, reverse
    from queue_page import bench_workspace_case

    case, user = bench_workspace_case(as_assignee=args.as_assignee)
    cookie = session_cookie(user)
    base = f"http://127.0.0.1:{args.port}"
    targets = {"hello": (base + "/bench/hello/", False)}
    missing = []
    try:
        targets["workspace"] = (base + reverse("cases:workspace", kwargs={"reference": case.reference}), False)
    except NoReverseMatch:
        missing.append("workspace")
    targets["queue_partial"] = (base + reverse("cases:queues"), True)
    connection.close()
    RESULTS.mkdir(parents=True, exist_ok=True)
    log = (RESULTS / "gunicorn.log").open("a")
    proc = start(args.port, log=log)
    runs = {name: [] for name in targets}
    raw_text = {}
    try:
        for url, htmx in targets.values():  # warm up every page (template caches, connections)
            wrk(url, cookie, seconds=2, connections=4, htmx=htmx)
        for _ in range(args.rounds):
            for name, (url, htmx) in targets.items():
                result, text = wrk_measured(
                    url, cookie, server_pid=proc.pid, seconds=args.seconds, connections=args.connections, htmx=htmx
                )
                runs[name].append(result)
                raw_text[name] = text
                print(name, result, flush=True)
    finally:
        stop(proc)
    out = {
        "label": args.label,
        "user": user.username,
        "case": case.reference,
        "connections": args.connections,
        "seconds": args.seconds,
    }
    out["gunicorn"] = SETTINGS
    out["missing_pages"] = missing
    out["pages"] = {}
    for name, rs in runs.items():
        out["pages"][name] = {
            "runs": rs,
            "median_req_per_s": statistics.median(r["req_per_s"] for r in rs),
            "median_p50_ms": statistics.median(r["p50_ms"] for r in rs),
            "median_p99_ms": statistics.median(r["p99_ms"] for r in rs),
            "non_2xx": sum(r["non_2xx"] for r in rs),
            "median_cpu_ms_per_request": {
                part: statistics.median(r["cpu_ms_per_request"][part] for r in rs)
                for part in ("server", "database", "wrk")
            },
        }
    hello = out["pages"]["hello"]["median_req_per_s"]
    for name in [n for n in ("workspace", "queue_partial") if n in out["pages"]]:
        out["pages"][name]["share_of_hello_req_per_s"] = round(out["pages"][name]["median_req_per_s"] / hello, 3)
    out["wrk_last_output"] = raw_text
    write_result("http_load", out)


if __name__ == "__main__":
    main()
