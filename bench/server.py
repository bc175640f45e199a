"""Start/stop the app under gunicorn (bench settings) for HTTP benchmarks, and log-in cookies for wrk / clients."""

import os
import runpy
import signal
import subprocess
import sys
import time
import urllib.request

from common import ROOT

GUNICORN_CONF = ROOT / "config" / "gunicorn.conf.py"


def _server_env(port=None):
    """The same server settings as `make run` (config/gunicorn.conf.py); BENCH_GUNICORN_WORKERS / _THREADS
    override them for an experiment (recorded in the results)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": str(ROOT)}
    if os.environ.get("BENCH_GUNICORN_WORKERS"):
        env["WEB_CONCURRENCY"] = os.environ["BENCH_GUNICORN_WORKERS"]
    if os.environ.get("BENCH_GUNICORN_THREADS"):
        env["WEB_THREADS"] = os.environ["BENCH_GUNICORN_THREADS"]
    if port is not None:
        env["PORT"] = str(port)
    return env


def _settings():
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(_server_env())
        conf = runpy.run_path(str(GUNICORN_CONF))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {"workers": conf["workers"], "threads": conf["threads"], "worker_class": conf["worker_class"],
            "config": "config/gunicorn.conf.py"}  # fmt: skip


SETTINGS = _settings()


def start(port, *, log=None):
    env = _server_env(port)
    cmd = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "--config", str(GUNICORN_CONF),
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
