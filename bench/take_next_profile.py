"""Profile take-next in-process: one bench associate makes ``--claims`` claims back to back through
``case_take_next`` (after ``--warm`` claims that prepare the statements), then every claimed case is put back in
the queue and the cases table vacuumed, as ``bench/take_next.py`` does between runs.

Prints the client's CPU time a claim (``time.process_time``), the server backend's (``/proc``), wall time a claim and, with ``--cprofile``, Python
function calls a claim and the top functions by own time. The call count is deterministic (it does not move with
the machine's load), so it is the figure to compare before / after on a shared machine; for instruction counts
run it under ``valgrind --tool=callgrind`` with ``--claims`` small.

Usage: DATABASE_URL=... python bench/take_next_profile.py [--claims 500] [--warm 20] [--cprofile] [--top 40]
"""

import argparse
import cProfile
import io
import pstats
import time

from common import django_setup


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=500)
    ap.add_argument("--warm", type=int, default=20)
    ap.add_argument("--cprofile", action="store_true")
    ap.add_argument("--sort", default="tottime")
    ap.add_argument("--top", type=int, default=40)
    args = ap.parse_args()
    django_setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from take_next import _backend_cpu, bench_associates, requeue, vacuum_queue

    from cases.services.queue import case_take_next

    user_ids, _ = bench_associates(1)
    requeue(user_ids)
    vacuum_queue()
    user = get_user_model().objects.get(pk=user_ids[0])
    try:
        for _ in range(args.warm):
            case_take_next(user=user)
        profiler = cProfile.Profile() if args.cprofile else None
        backend = connection.connection.info.backend_pid
        server0 = _backend_cpu(backend)
        cpu0, t0 = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        for _ in range(args.claims):
            case_take_next(user=user)
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
        server = _backend_cpu(backend) - server0
        per = 1000 / args.claims
        print(
            f"{args.claims} claims: client CPU {cpu * per:.3f} ms a claim, server backend CPU {server * per:.3f} ms,"
            f" wall {wall * per:.3f} ms"
        )
        if profiler:
            stats = pstats.Stats(profiler)
            print(f"Python calls a claim: {stats.total_calls / args.claims:.1f}")
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
            print(out.getvalue())
    finally:
        requeue(user_ids)
        vacuum_queue()
        connection.close()


if __name__ == "__main__":
    main()
