"""Profile the case workspace page in-process: every query with its time (EXPLAIN ANALYZE of the slow ones), the
view's Python time, template render time and a cProfile of repeated requests. The case and the users are the ones
bench/http_load.py requests (an assigned chat with an order; the bench supervisor, or the case's associate).

Usage: DATABASE_URL=... python bench/workspace_profile.py [--as-assignee] [--runs 20] [--explain-ms 5] [--cprofile]
"""

import argparse
import cProfile
import io
import pstats
import statistics
import time

from common import django_setup


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--as-assignee", action="store_true")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--explain-ms", type=float, default=5.0, help="EXPLAIN ANALYZE queries slower than this")
    ap.add_argument("--cprofile", action="store_true")
    args = ap.parse_args()
    django_setup()
    from django.db import connection
    from django.template import loader
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from queue_page import bench_workspace_case

    case, user = bench_workspace_case(as_assignee=args.as_assignee)
    url = reverse("cases:workspace", kwargs={"reference": case.reference})
    client = Client()
    client.force_login(user)
    print(f"user {user.username}  case {case.reference}  url {url}")
    client.get(url)  # warm-up
    captured = []

    def timer(execute, sql, params, many, context):  # microsecond timing (CaptureQueriesContext rounds to 1 ms)
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            captured.append(((time.perf_counter() - t) * 1000, sql, params))

    t0 = time.perf_counter()
    with connection.execute_wrapper(timer):
        response = client.get(url)
    total = (time.perf_counter() - t0) * 1000
    assert response.status_code == 200, response.status_code
    in_db = sum(c[0] for c in captured)
    print(f"\n{len(captured)} queries, {in_db:.1f} ms in execute of {total:.1f} ms; {len(response.content)} bytes")
    slow = []
    for i, (ms, sql, params) in enumerate(captured, 1):
        print(f"{i:3d} {ms:8.2f} ms  {sql[:160]}")
        if ms >= args.explain_ms and sql.lstrip().upper().startswith("SELECT"):
            slow.append((sql, params))
    for sql, params in slow:
        with connection.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            print("\n--- EXPLAIN ANALYZE", sql[:300])
            print("\n".join(r[0] for r in cur.fetchall()))

    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - t) * 1000)
    print(f"\npage (test client, full middleware) median {statistics.median(times):.1f} ms  min {min(times):.1f} ms")

    # Template render alone, on the context the view builds.
    from cases import views_workspace

    captured = {}
    real_render = views_workspace.render

    def spy(request, template, context):
        captured["request"], captured["context"] = request, context
        return real_render(request, template, context)

    views_workspace.render = spy
    client.get(url)
    views_workspace.render = real_render
    template = loader.get_template(views_workspace.TEMPLATE)
    rtimes = []
    with CaptureQueriesContext(connection) as rctx:
        for _ in range(args.runs):
            t = time.perf_counter()
            template.render(captured["context"], captured["request"])
            rtimes.append((time.perf_counter() - t) * 1000)
    print(
        f"template render alone median {statistics.median(rtimes):.2f} ms  min {min(rtimes):.2f} ms"
        f"  (queries during {args.runs} renders: {len(rctx.captured_queries)})"
    )

    if args.cprofile:
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(args.runs):
            client.get(url)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(45)
        print(out.getvalue())
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(30)
        print(out.getvalue())


if __name__ == "__main__":
    main()
