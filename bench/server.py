"""Start/stop the app under gunicorn (bench settings) for HTTP benchmarks, and log-in cookies for wrk / clients."""

import os
import signal
import subprocess
import sys
import time
import urllib.request

from common import ROOT

GUNICORN_WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", str(2 * (os.cpu_count() or 1))))
GUNICORN_THREADS = int(os.environ.get("BENCH_GUNICORN_THREADS", "4"))
SETTINGS = {"workers": GUNICORN_WORKERS, "threads": GUNICORN_THREADS, "worker_class": "gthread"}


def start(port, *, workers=GUNICORN_WORKERS, threads=GUNICORN_THREADS, log=None):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": str(ROOT)}
    cmd = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "config.wsgi:application",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--threads", str(threads),
        "--worker-class", "gthread" if threads > 1 else "sync",
        "--backlog", "2048",
        "--log-level", "warning",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/hello/", timeout=2).read()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"gunicorn exited with {proc.returncode}") from None
            time.sleep(0.3)
    stop(proc)
    raise SystemExit("gunicorn did not come up")


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def session_cookie(user):
    """A real session for ``user`` (as after a login), for clients outside Django."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


if __name__ == "__main__":
    sys.exit("import me")
