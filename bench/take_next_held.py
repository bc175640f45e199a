"""What a claim costs as the associate's held load grows (a diagnostic of ``bench/take_next.py``, not a target).

The take-next benchmark raises its associates' capacities to 32,000 so capacity never stops them, and nobody
finishes a case during a run: by the end of an 8 s run at 16 associates each one holds several hundred cases,
and every claim counts them (the capacity check: one grouped index scan over the associate's held cases, whose
entries were just written, so each is checked against the heap). The raw loop counts nothing. A real associate
holds at most their capacity (3 chats, 1 call by default).

Here one bench associate first claims ``held`` cases through ``case_take_next`` (untimed, as during a run), then
makes ``--claims`` more, timed: client CPU, the server backend's CPU and wall time a claim, for each held level.
Each level starts from the same queue (everything put back, the cases table vacuumed).

Usage: DATABASE_URL=... python bench/take_next_held.py [--held 0,250,500,1000] [--claims 300] [--rounds 3]
"""

import argparse
import statistics
import time

from common import django_setup, write_result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--held", default="0,250,500,1000")
    ap.add_argument("--claims", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    django_setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from take_next import _backend_cpu, bench_associates, requeue, vacuum_queue

    from cases.services.queue import case_take_next

    user_ids, _ = bench_associates(1)
    user = get_user_model().objects.get(pk=user_ids[0])
    levels = [int(x) for x in args.held.split(",")]
    out = {}
    try:
        for held in levels:
            rounds = []
            for _ in range(args.rounds):
                requeue(user_ids)
                vacuum_queue()
                for _ in range(held + 20):  # the held load, and 20 claims that prepare the statements
                    case_take_next(user=user)
                backend = connection.connection.info.backend_pid
                server0, cpu0, t0 = _backend_cpu(backend), time.process_time(), time.perf_counter()
                for _ in range(args.claims):
                    case_take_next(user=user)
                per = 1000 / args.claims
                rounds.append(
                    {
                        "client_ms": round((time.process_time() - cpu0) * per, 3),
                        "server_ms": round((_backend_cpu(backend) - server0) * per, 3),
                        "wall_ms": round((time.perf_counter() - t0) * per, 3),
                    }
                )
            out[held] = {k: round(statistics.median(r[k] for r in rounds), 3) for k in rounds[0]} | {"rounds": rounds}
            med = out[held]
            print(
                f"held {held + 20}–{held + 20 + args.claims}: client {med['client_ms']:.3f} ms, server"
                f" {med['server_ms']:.3f} ms, wall {med['wall_ms']:.3f} ms a claim (medians of {args.rounds})",
                flush=True,
            )
    finally:
        requeue(user_ids)
        vacuum_queue()
        connection.close()
    write_result("take_next_held", {"claims": args.claims, "levels": out})


if __name__ == "__main__":
    main()
