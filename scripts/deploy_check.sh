#!/usr/bin/env bash
# Production settings must pass Django's deployment checklist with no warning.
set -euo pipefail
DJANGO_SETTINGS_MODULE=config.settings.production \
DJANGO_SECRET_KEY="ci-$(head -c 48 /dev/urandom | base64 | tr -d '/+=' | head -c 60)" \
DJANGO_ALLOWED_HOSTS=support.example.com \
DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/resolution_hub}" \
CELERY_BROKER_URL="${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}" \
  .venv/bin/python manage.py check --deploy --fail-level WARNING
