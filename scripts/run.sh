#!/usr/bin/env bash
# `make run`: migrate, load demo data, start web + Celery worker + beat, print the URL and the demo logins.
set -euo pipefail
cd "$(dirname "$0")/.."
export PORT="${1:-8000}"
PY=.venv/bin/python
$PY manage.py migrate --noinput
$PY manage.py collectstatic --noinput -v 0
$PY manage.py seed_demo
.venv/bin/honcho start -f Procfile &
HONCHO=$!
trap 'kill $HONCHO 2>/dev/null; wait $HONCHO 2>/dev/null' INT TERM EXIT
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:${PORT}/healthz" >/dev/null 2>&1 && break
  sleep 1
done
$PY manage.py seed_demo --print-logins --url "http://127.0.0.1:${PORT}/"
wait $HONCHO
