"""Deterministic cost of the workspace page against hello, in-process: process CPU time per request and Python
function calls per request (cProfile's count), N requests each through the test client (full middleware), hello
and the workspace alternated in blocks. CPU time and call counts move far less than wall time on a shared machine;
use it for before/after in two worktrees (run each side in turn, several times).

--cold empties the page's memos (cases.panels, {% url_memo %}, {% memo %}) before every request: the cost of a first view.
--html PATH writes the page (CSRF tokens blanked, the session's times too) for diffing two checkouts.
--parts also prints the CPU time a request of the view's parts (the case read, the page's statement and panels,
the template render, the CSRF token, ...), timed by wrapping them.

Usage: DATABASE_URL=... python bench/workspace_cpu.py [--runs 200] [--blocks 5] [--as-assignee] [--case REF]
       [--html out.html] [--top 0] [--parts]
"""

import argparse
import collections
import cProfile
import functools
import io
import pstats
import re
import statistics
import time

from common import django_setup


def normalise(html: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value=""', html)
    return re.sub(r'"X-CSRFToken": "[^"]+"', '"X-CSRFToken": ""', html)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--blocks", type=int, default=5)
    ap.add_argument("--as-assignee", action="store_true")
    ap.add_argument("--case", help="a case reference (default: bench_workspace_case's)")
    ap.add_argument("--html")
    ap.add_argument("--top", type=int, default=0, help="print the top N functions by own time")
    ap.add_argument("--cold", action="store_true", help="empty the page's memos before every request (a first view)")
    ap.add_argument("--parts", action="store_true", help="time the view's parts too")
    args = ap.parse_args()
    django_setup()
    from django.test import Client
    from django.urls import reverse
    from queue_page import bench_workspace_case

    from cases.models import Case

    case, user = bench_workspace_case(as_assignee=args.as_assignee)
    if args.case:
        case = Case.objects.get(reference=args.case)
        if args.as_assignee:
            user = case.assignee
    url = reverse("cases:workspace", kwargs={"reference": case.reference})
    client = Client()
    client.force_login(user)
    for _ in range(3):
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        client.get("/bench/hello/")
    if args.html:
        with open(args.html, "w") as f:
            f.write(normalise(response.content.decode()))
    print(f"user {user.username}  case {case.reference}  {len(response.content)} bytes")

    def forget():
        try:  # a checkout without the memos (before session 4) has nothing to forget
            from cases import panels
            from cases.templatetags import url_memo
        except ImportError:
            return
        panels.memo_clear()
        url_memo._reverse.cache_clear()
        try:  # the templates' {% memo %} fragments (session 7)
            from cases.templatetags import memo
        except ImportError:
            return
        memo.memo_clear()

    def cpu(path):
        t = time.process_time()
        for _ in range(args.runs):
            if args.cold and path == url:
                forget()
            client.get(path)
        return (time.process_time() - t) / args.runs * 1000

    page, hello = [], []
    for _ in range(args.blocks):
        hello.append(cpu("/bench/hello/"))
        page.append(cpu(url))
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(20):
        if args.cold:
            forget()
        client.get(url)
    prof.disable()
    stats = pstats.Stats(prof)
    calls = stats.total_calls / 20
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(20):
        client.get("/bench/hello/")
    prof.disable()
    hello_calls = pstats.Stats(prof).total_calls / 20
    hm, pm = statistics.median(hello), statistics.median(page)
    print(f"CPU ms/request, median of {args.blocks} blocks of {args.runs}: hello {hm:.3f}  workspace {pm:.3f}")
    print(f"  blocks: hello {' '.join(f'{v:.3f}' for v in hello)} | workspace {' '.join(f'{v:.3f}' for v in page)}")
    print(f"calls/request: hello {hello_calls:.0f}  workspace {calls:.0f}")
    print(f"CPU-bound ceiling, workspace ÷ hello: {hm / pm:.1%}")
    if args.parts:
        print("CPU ms a request, the view's parts:")
        for name, ms in parts(client, url, args.runs).items():
            print(f"  {ms:7.3f}  {name}")
    if args.top:
        out = io.StringIO()
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(20):
            client.get(url)
        prof.disable()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(args.top)
        print(out.getvalue())


def parts(client, url, runs) -> dict:
    """CPU time a request spent in each part of the workspace view (process time inside the wrapped call)."""
    from cases import panels, selectors
    from cases import views_workspace as view
    from cases.services import workspace as ws

    spent = collections.Counter()
    wrapped = [
        (selectors, "case_get_for_agent", "case read (gate, prepared)"),
        (ws, "case_workspace_open", "page statement + panels"),
        (panels, "case_head", "head panel"),
        (panels, "work", "work panel"),
        (view, "get_token", "CSRF token"),
        (view, "render", "template render"),
    ]
    saved = []
    for module, name, label in wrapped:
        original = getattr(module, name)
        saved.append((module, name, original))

        def timed(*a, _f=original, _label=label, **k):
            t = time.process_time()
            try:
                return _f(*a, **k)
            finally:
                spent[_label] += time.process_time() - t

        setattr(module, name, functools.wraps(original)(timed))
    try:
        t = time.process_time()
        for _ in range(runs):
            client.get(url)
        total = time.process_time() - t
    finally:
        for module, name, original in saved:
            setattr(module, name, original)
    out = {label: spent[label] / runs * 1000 for _m, _n, label in wrapped}
    out["the whole request"] = total / runs * 1000
    return out


if __name__ == "__main__":
    main()
