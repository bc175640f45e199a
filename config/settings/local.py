"""Embedded default: `make run` on one machine with no services (SQLite + filesystem broker unless env says otherwise)."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
