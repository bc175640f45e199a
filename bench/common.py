"""Helpers shared by the benchmark scripts: Django setup, timing statistics, results files."""

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def django_setup():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()


def pct(values, p):
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))
    return s[k]


def summary_ms(seconds):
    ms = [v * 1000 for v in seconds]
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 3),
        "p95_ms": round(pct(ms, 95), 3),
        "p99_ms": round(pct(ms, 99), 3),
        "min_ms": round(min(ms), 3),
    }


def machine():
    info = {"nproc": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    try:
        with open("/proc/meminfo") as f:
            info["ram_gb"] = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        info["commit"] = subprocess.check_output(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], text=True
        ).strip()
        dirty = subprocess.check_output(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"], text=True
        )
        info["dirty"] = bool(dirty.strip())
    except (OSError, subprocess.CalledProcessError):
        pass
    info["date_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    try:
        info["loadavg"] = os.getloadavg()
    except OSError:
        pass
    return info


def write_result(name, data):
    RESULTS.mkdir(parents=True, exist_ok=True)
    record = {"machine": machine(), **data}
    path = RESULTS / f"{name}.jsonl"
    with path.open("a") as f:
        f.write(json.dumps(record, default=str) + "\n")
    print(json.dumps(record, default=str, indent=1))
    return record


def timed(fn, *, warmup=3, repeat=30):
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out
