"""Benchmark settings: the production-shaped app (PostgreSQL from DATABASE_URL, DEBUG off) served over plain
HTTP on 127.0.0.1, plus one "hello" view (bench.urls) as the floor for page-throughput comparisons."""

from config.settings.base import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "bench.urls"
STORAGES = {  # no manifest needed: pages are measured server-side, static files are not part of the figures
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

import warnings  # noqa: E402

warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")
