"""Tests run against PostgreSQL: DATABASE_URL if set, else the local server on 127.0.0.1:5432."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/resolution_hub")

from .base import *  # noqa: F403
from .base import env

DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = 0
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CELERY_BROKER_URL = env.str("TEST_CELERY_BROKER_URL", default="memory://")
# WhiteNoise warns when STATIC_ROOT does not exist; tests serve nothing from it.
STATIC_ROOT = VAR_DIR / "test-static"  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# A real broker only in the chaos test's worker subprocess; its visibility timeout (longer than any of its tasks)
# decides how soon a SIGKILLed worker's unacked messages come back.
# kombu looks for such messages only every unacked_restore_interval × unacked_restore_throttle seconds (100 s by
# default) and under a mutex that a killed worker may hold for unacked_mutex_expire (300 s): the test worker looks
# every second and a dead holder's mutex expires after 10 s.
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
        "unacked_mutex_expire": 10,
    }
    if CELERY_BROKER_URL.startswith("redis")
    else {}
)
