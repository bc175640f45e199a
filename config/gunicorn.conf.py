"""The web server's settings, in one place: `make run` (Procfile) and the benchmarks (bench/server.py) use them.

gthread workers: each process serves requests from a pool of threads. The live chat's long polls (cases/live.py)
each hold a thread while they wait (up to 20 s), so the pool is larger than page traffic alone needs: per process
WEB_THREADS (96) threads of which at most RH_LIVE MAX_WAITERS (threads - max(4, threads // 4) = 72) may wait; the
other 24 always serve pages at once. 72 and not fewer because connections do not spread evenly over the workers
(whichever worker accepts first keeps the keep-alive connection): with 100 open chats on 4 workers one worker
held more than 48 in the benchmark. Idle threads cost nothing (created on demand) and waiting ones no CPU; a
long poll gives its database connection back while it waits (with Redis), and on PostgreSQL the threads share a
pool of WEB_DB_POOL (8) connections per process, so the thread count does not become a PostgreSQL connection
count. Page concurrency is still bounded by the 2 cores, not by threads: the page
benchmarks (wrk, 16 connections) never have more than 16 requests in flight.

Environment: PORT (8000), WEB_CONCURRENCY (worker processes; default 2 x CPUs, between 2 and 8), WEB_THREADS
(threads per worker, 96), WEB_DB_POOL (PostgreSQL connections per worker, 8), ACCESS_LOG (a path, or - for
stdout; default none).
"""

import os

bind = f"127.0.0.1:{os.environ.get('PORT', '8000')}"
wsgi_app = "config.wsgi:application"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", str(max(2, min(8, 2 * (os.cpu_count() or 1))))))
threads = int(os.environ.get("WEB_THREADS", "96"))
graceful_timeout = 5  # a waiting long poll is cut on shutdown; the page re-arms against the next server
backlog = 2048
accesslog = os.environ.get("ACCESS_LOG") or None
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")

# The app sizes its per-process cap of waiting long polls from the thread count (config/settings/base.py).
os.environ["WEB_THREADS"] = str(threads)
# PostgreSQL: a connection pool per worker process (psycopg_pool, through Django) instead of one persistent
# connection per thread; WEB_DB_POOL connections per process (8: the 2 cores are saturated long before 8
# queries run at once in one process; 4 workers x 8 = 32 connections at most). Ignored on SQLite.
os.environ.setdefault("DB_POOL_MAX_SIZE", os.environ.get("WEB_DB_POOL", "8"))
