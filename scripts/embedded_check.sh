#!/usr/bin/env bash
# Boot the embedded default once (SQLite + kombu filesystem transport, no services), the way `make run` does:
# migrate, seed the demo data twice (the second run must change nothing), then start a real `celery worker` and
# `celery beat` and prove both work: a task sent from here runs in the worker, and beat's heartbeat schedule
# reaches the worker too. Keeps `make run`'s path from rotting. Called by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
TMP=$(mktemp -d)
WORKER="" BEAT=""
cleanup() {
  for pid in $BEAT $WORKER; do kill "$pid" 2>/dev/null || true; done
  for pid in $BEAT $WORKER; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
export RH_VAR_DIR="$TMP" DJANGO_SETTINGS_MODULE=config.settings.local RH_HEARTBEAT_SECONDS=2
unset DATABASE_URL CELERY_BROKER_URL
PY=.venv/bin/python
START=$(date +%s)
$PY manage.py migrate --noinput -v 0
FIRST=$($PY manage.py seed_demo)
SECOND=$($PY manage.py seed_demo)
echo "$FIRST"
if [ "$FIRST" != "$SECOND" ]; then
  echo "seed_demo is not idempotent: the second run reported $SECOND" >&2
  exit 1
fi
# The staff pages whose reads are hand-written SQL (the board's roster and offers, the workspace's customer 360;
# cases/rawrows.py) render on SQLite too: the suite itself runs on PostgreSQL only.
$PY manage.py shell -v 0 -c "
from django.contrib.auth import get_user_model
from django.test import Client
from cases.models import Case
case = Case.objects.filter(customer__orders__isnull=False, assignee__username='alice').first()
pages = ['/agent/queues/', f'/agent/cases/{case.reference}/']
for username in ('sam', 'alice'):
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    for url in pages:
        for headers in ({}, {'HX-Request': 'true'}):
            status = client.get(url, headers=headers).status_code
            if status != 200:
                raise SystemExit(f'embedded default: {url} as {username} ({headers or \"page\"}) answered {status}')
print('embedded default OK: the board, its poll and the workspace render on SQLite for a supervisor and an associate')
"
SEEDED=$(date +%s)
.venv/bin/celery -A config worker --loglevel WARNING --concurrency 1 --without-gossip --without-mingle \
  >"$TMP/worker.log" 2>&1 &
WORKER=$!
.venv/bin/celery -A config beat --loglevel INFO >"$TMP/beat.log" 2>&1 &
BEAT=$!
$PY manage.py shell -v 0 -c "
import time
from cases.models import Heartbeat
from cases.tasks import heartbeat
heartbeat.delay('embedded-check')
deadline = time.monotonic() + 90
while time.monotonic() < deadline:
    names = set(Heartbeat.objects.values_list('name', flat=True))
    if {'embedded-check', 'worker'} <= names:
        print('embedded default OK: SQLite (WAL) + filesystem broker; a real worker ran a task, beat scheduled the heartbeat')
        break
    time.sleep(0.5)
else:
    raise SystemExit(f'within 90 s the worker/beat did not write both heartbeats (have: {sorted(names)})')
" || { echo "--- worker log"; cat "$TMP/worker.log"; echo "--- beat log"; cat "$TMP/beat.log"; exit 1; }
grep -q "Sending due task heartbeat" "$TMP/beat.log" || { echo "beat did not log the heartbeat" >&2; exit 1; }
echo "embedded check: migrate+seed×2 $((SEEDED - START)) s, worker+beat round trip $(($(date +%s) - SEEDED)) s"
