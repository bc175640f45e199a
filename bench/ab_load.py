"""Same-run before/after of the workspace page under wrk: two checkouts of the app (e.g. ``main`` in a second git
worktree, and your branch) served at once by gunicorn with the same config/gunicorn.conf.py, database and session;
each round runs wrk on hello and on the workspace page of one side, then the other, the order alternating between
rounds (A B, B A, ...). Prints every run and the medians, and each side's workspace ÷ hello per round — on a
shared machine the per-round ratios are what to compare. The case and viewer are bench_workspace_case's, like
bench/http_load.py (whose wrk parsing this uses).

Usage: DATABASE_URL=... python bench/ab_load.py --base /path/to/main-worktree [--rounds 4] [--seconds 8]
       [--as-assignee]   (this checkout is the "ours" side; ports 8841 / 8842)
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

from common import django_setup
from http_load import parse_wrk

OURS = str(Path(__file__).resolve().parent.parent)


def start(root, port):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": root, "PORT": str(port)}
    cmd = [root + "/.venv/bin/gunicorn", "--config", root + "/config/gunicorn.conf.py", "--log-level", "warning"]
    (Path(OURS) / "bench" / "results").mkdir(parents=True, exist_ok=True)
    log = open(f"{OURS}/bench/results/ab_gunicorn_{port}.log", "a")  # kept open for the server's life
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/hello/", timeout=2).read()
            return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.3)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    raise SystemExit(f"gunicorn for {root} did not come up (see bench/results/ab_gunicorn_{port}.log)")


def wrk(url, cookie, seconds, connections=16):
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", f"Cookie: sessionid={cookie}", url]
    return parse_wrk(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--as-assignee", action="store_true")
    ap.add_argument("--base", required=True, help="the other checkout's root (its .venv is used)")
    args = ap.parse_args()
    django_setup()
    from django.db import connection
    from queue_page import bench_workspace_case
    from server import session_cookie

    case, user = bench_workspace_case(as_assignee=args.as_assignee)
    cookie = session_cookie(user)
    connection.close()
    sides = {"base": (str(Path(args.base).resolve()), 8841), "ours": (OURS, 8842)}
    procs = {name: start(root, port) for name, (root, port) in sides.items()}
    res = {f"{s}/{p}": [] for s in sides for p in ("hello", "workspace")}
    try:
        for _root, port in sides.values():  # warm-up
            for path in ("/bench/hello/", f"/agent/cases/{case.reference}/"):
                wrk(f"http://127.0.0.1:{port}{path}", cookie, 2, 4)
        order = list(sides)
        for r in range(args.rounds):
            for name in order if r % 2 == 0 else order[::-1]:
                port = sides[name][1]
                for page, path in (("hello", "/bench/hello/"), ("workspace", f"/agent/cases/{case.reference}/")):
                    out = wrk(f"http://127.0.0.1:{port}{path}", cookie, args.seconds)
                    res[f"{name}/{page}"].append(out)
                    print(r, name, page, out, "load", os.getloadavg()[0], flush=True)
    finally:
        for p in procs.values():
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=30)
    summary = {}
    for key, rs in res.items():
        summary[key] = {
            "req_s": statistics.median(x["req_per_s"] for x in rs),
            "p50": statistics.median(x["p50_ms"] for x in rs),
            "p99": statistics.median(x["p99_ms"] for x in rs),
            "non2xx": sum(x["non_2xx"] for x in rs),
        }
    for name in sides:
        summary[name + "/share"] = round(summary[f"{name}/workspace"]["req_s"] / summary[f"{name}/hello"]["req_s"], 3)
        # per-round shares (hello and workspace of the same round)
        summary[name + "/share_rounds"] = [
            round(w["req_per_s"] / h["req_per_s"], 3)
            for h, w in zip(res[f"{name}/hello"], res[f"{name}/workspace"], strict=True)
        ]
    print(json.dumps({"case": case.reference, "user": user.username, "when": time.strftime("%H:%M:%S"), **summary}))


if __name__ == "__main__":
    main()
