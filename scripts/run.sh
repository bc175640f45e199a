#!/usr/bin/env bash
# `make run`: migrate, load demo data, start web + Celery worker + beat (honcho, Procfile), print the URL and the
# demo logins, then confirm that beat's heartbeat went through a real worker. Quiet by default; for every request
# and task in the log: ACCESS_LOG=- CELERY_LOGLEVEL=INFO make run
set -euo pipefail
cd "$(dirname "$0")/.."
export PORT="${1:-8000}"
PY=.venv/bin/python
echo "Preparing the embedded database (SQLite in var/) and demo data..."
$PY manage.py migrate --noinput -v 0
$PY manage.py collectstatic --noinput -v 0
$PY manage.py seed_demo
.venv/bin/honcho start -f Procfile &
HONCHO=$!
stop() { kill "$HONCHO" 2>/dev/null || true; wait "$HONCHO" 2>/dev/null || true; }
trap 'stop; exit 0' INT TERM
trap stop EXIT
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:${PORT}/healthz" >/dev/null 2>&1 && break
  sleep 1
done
$PY manage.py seed_demo --print-logins --url "http://127.0.0.1:${PORT}/"
# Beat schedules `cases.tasks.heartbeat` every 30 s; a worker writes the row the staff footer shows.
$PY manage.py shell -v 0 -c "
import time
from django.utils import timezone
from cases.models import Heartbeat
start = timezone.now()
for _ in range(90):
    beat = Heartbeat.objects.filter(name='worker', last_seen_at__gte=start).first()
    if beat:
        print(f'Celery is working: beat scheduled the heartbeat and worker {beat.worker} ran it at {beat.last_seen_at:%H:%M:%S} UTC.')
        break
    time.sleep(1)
else:
    print('No heartbeat from the Celery worker yet: look at the worker/beat lines above (CELERY_LOGLEVEL=INFO make run).')
" || true
wait $HONCHO
