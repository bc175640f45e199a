#!/usr/bin/env bash
# The benchmark harness (`make bench`). Never part of `make test`. Results: bench/results/*.jsonl (gitignored);
# summary in docs/BENCHMARKS.md. Knobs (environment):
#   BENCH_SCALES      case counts for the queue page (default "10000 50000 100000 1000000")
#   BENCH_FULL_AT     the scale at which take-next, page throughput and live chat run (default: largest scale)
#   BENCH_ONLY        space-separated subset of: build queue helpdesk take_next http live_chat sla refunds
#                     ("build" alone only builds/extends the per-scale databases)
#   BENCH_PG          PostgreSQL server URL without database (default postgres://postgres@127.0.0.1:5432)
#   BENCH_DB_PREFIX   per-scale databases are <prefix><scale> (default rh_bench_), built once and reused
#   BENCH_REDIS_URL   Redis database for the refunds benchmark (default redis://127.0.0.1:6379/8; it is flushed)
#   BENCH_LIVE_REDIS_URL  Redis for the live chat's pub/sub (default redis://127.0.0.1:6379/9; nothing is stored;
#                     "off" measures the embedded fallback, database re-checks)
#   BENCH_REPEAT      samples per page size for the queue page (default 40); BENCH_HELPDESK_BUDGET: seconds per
#                     helpdesk page size before it stops sampling (default 60, at least 5 samples)
#   BENCH_REFUND_TIME_LIMIT  seconds the 100,000-charge refund run may take before it reports what it issued (600)
#   BENCH_QUICK=1     short runs (smoke test of the harness, figures not meaningful)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=$ROOT/.venv/bin/python
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
PREFIX=${BENCH_DB_PREFIX:-rh_bench_}
SCALES=${BENCH_SCALES:-"10000 50000 100000 1000000"}
FULL_AT=${BENCH_FULL_AT:-$(echo "$SCALES" | tr ' ' '\n' | sort -n | tail -1)}
ONLY=${BENCH_ONLY:-"queue helpdesk take_next http live_chat sla refunds"}
REDIS=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/8}
HD_VENV=$ROOT/bench/.helpdesk-venv
RESULTS=$ROOT/bench/results
mkdir -p "$RESULTS"
export PYTHONDONTWRITEBYTECODE=1

if [[ "${BENCH_QUICK:-0}" == 1 ]]; then
  REPEAT=8; TN_ARGS="--seconds 3 --rounds 1"; HTTP_ARGS="--seconds 4 --rounds 1"; CHAT_ARGS="--seconds 12"
else
  REPEAT=${BENCH_REPEAT:-40}; TN_ARGS="--seconds 8 --rounds 3"; HTTP_ARGS="--seconds 15 --rounds 3"; CHAT_ARGS="--seconds 40"
fi

want() { [[ " $ONLY " == *" $1 "* ]]; }
FAILED=()
step() {  # step <name> <output file> <command...>: a failing benchmark is reported, the others still run
  local name=$1 out=$2; shift 2
  if ! "$@" > "$out" 2>&1; then FAILED+=("$name"); log "FAILED: $name (see $out)"; tail -5 "$out"; fi
}
log() { echo "[bench $(date -u +%H:%M:%S)] $*"; }
psql_do() { psql "$PG/postgres" -v ON_ERROR_STOP=1 -Atqc "$1"; }
ensure_db() {  # create the database if missing
  if [[ -z "$(psql_do "SELECT 1 FROM pg_database WHERE datname = '$1'")" ]]; then psql_do "CREATE DATABASE $1"; fi
}
label() { local n=$1; if (( n >= 1000000 )); then echo "$((n / 1000000))M"; elif (( n >= 1000 )); then echo "$((n / 1000))k"; else echo "$n"; fi; }

build_scale() {  # migrate + bring the database up to $1 cases (10 % open, 1 customer per 10 cases, 1 order and 1 credit per case)
  local n=$1 db=$PREFIX$(label "$1" | tr 'A-Z' 'a-z')
  ensure_db "$db"
  export DATABASE_URL=$PG/$db
  DJANGO_SETTINGS_MODULE=bench.settings "$PY" manage.py migrate -v0
  local have
  have=$(psql "$DATABASE_URL" -Atqc "SELECT count(*) FROM cases_case")
  if (( have < n )); then
    local add=$((n - have))
    log "generate_load: $add cases into $db"
    /usr/bin/time -f "generate_load wall %e s, max RSS %M KB" \
      "$PY" manage.py generate_load --cases "$add" --open $((add / 10)) --customers $((add / 10)) \
        --orders "$add" --credits "$add" --agents 50 --settings bench.settings 2>&1 | tr '\r' '\n' | grep -E "Generated|wall" \
      | tee -a "$RESULTS/generate_load.log"
  else
    log "$db already has $have cases"
  fi
}

ensure_helpdesk_venv() {
  if [[ ! -x $HD_VENV/bin/python ]] || ! "$HD_VENV/bin/python" -c "import helpdesk, pinax.teams" 2>/dev/null; then
    log "installing django-helpdesk into a throwaway venv ($HD_VENV)"
    python3.11 -m venv "$HD_VENV"
    "$HD_VENV/bin/pip" install -q "django-helpdesk==2.6.1" "pinax-teams==3.0.1" "Django==5.2.19" "psycopg[binary]==3.3.9"
  fi
}

ensure_wrk() {  # the page-throughput load generator comes from Debian, like Chromium for the browser tests
  command -v wrk >/dev/null && return 0
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    log "installing Debian's wrk"
    apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
  else
    echo "wrk is missing: install Debian's 'wrk' package" >&2; return 1
  fi
}
if want http; then ensure_wrk; fi

log "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GB RAM, $(psql "$PG/postgres" -Atqc 'SHOW server_version'), commit $(git rev-parse --short HEAD)"

for n in $SCALES; do
  lbl=$(label "$n")
  if want build || want queue || { [[ $n == "$FULL_AT" ]] && { want take_next || want http || want live_chat; }; }; then
    build_scale "$n"
  fi
  if want queue; then
    log "queue page at $lbl cases"
    step "queue $lbl" "$RESULTS/queue_page_$lbl.out" "$PY" bench/queue_page.py --label "$lbl" --repeat "$REPEAT"
    if [[ $n == "$FULL_AT" ]]; then  # the board's 3 s poll, and both as an associate (their departments only)
      step "queue $lbl poll" "$RESULTS/queue_page_${lbl}_poll.out" \
        "$PY" bench/queue_page.py --label "$lbl" --repeat "$REPEAT" --partial
      step "queue $lbl associate" "$RESULTS/queue_page_${lbl}_associate.out" \
        "$PY" bench/queue_page.py --label "$lbl" --repeat "$REPEAT" --as-associate
      step "queue $lbl associate poll" "$RESULTS/queue_page_${lbl}_associate_poll.out" \
        "$PY" bench/queue_page.py --label "$lbl" --repeat "$REPEAT" --as-associate --partial
    fi
  fi
  if want helpdesk; then
    ensure_helpdesk_venv
    ensure_db helpdesk_bench
    log "django-helpdesk ticket list at $lbl tickets"
    step "helpdesk $lbl" "$RESULTS/helpdesk_$lbl.out" env HELPDESK_DATABASE_URL="$PG/helpdesk_bench" \
      "$HD_VENV/bin/python" bench/helpdesk_bench.py --tickets "$n" --label "$lbl" --repeat "$REPEAT" \
      --budget "${BENCH_HELPDESK_BUDGET:-60}"
  fi
  if [[ $n == "$FULL_AT" ]]; then
    export DATABASE_URL=$PG/$PREFIX$(echo "$lbl" | tr 'A-Z' 'a-z')
    # shellcheck disable=SC2086
    if want take_next; then log "take-next at $lbl"; step "take_next" "$RESULTS/take_next_$lbl.out" "$PY" bench/take_next.py --label "$lbl" $TN_ARGS; fi
    # shellcheck disable=SC2086
    if want http; then log "page throughput at $lbl"; step "http" "$RESULTS/http_load_$lbl.out" "$PY" bench/http_load.py --label "$lbl" $HTTP_ARGS; fi
    # shellcheck disable=SC2086
    if want live_chat; then log "live chat at $lbl"; step "live_chat" "$RESULTS/live_chat_$lbl.out" "$PY" bench/live_chat.py --label "$lbl" $CHAT_ARGS; fi
  fi
done

# Benchmarks owned by other areas: run them when present, each in its own database (sla_sweep.py TRUNCATEs the
# cases of the database it is given: rh_bench_sla is its own).
if want sla && [[ -f bench/sla_sweep.py ]]; then
  ensure_db "${PREFIX}sla"
  log "SLA sweep (bench/sla_sweep.py)"
  DATABASE_URL=$PG/${PREFIX}sla DJANGO_SETTINGS_MODULE=config.settings.local "$PY" manage.py migrate -v0
  DATABASE_URL=$PG/${PREFIX}sla BENCH_RESULTS=$RESULTS "$PY" bench/sla_sweep.py --yes 2>&1 | tee "$RESULTS/sla_sweep.out" | tail -20
fi
if want refunds && [[ -f bench/refunds.py ]]; then
  ensure_db "${PREFIX}refunds"
  log "refund checks (bench/refunds.py)"
  DATABASE_URL=$PG/${PREFIX}refunds DJANGO_SETTINGS_MODULE=config.settings.local "$PY" manage.py migrate -v0
  DATABASE_URL=$PG/${PREFIX}refunds BENCH_REDIS_URL=$REDIS BENCH_RESULTS=$RESULTS "$PY" bench/refunds.py \
    --time-limit "${BENCH_REFUND_TIME_LIMIT:-600}" 2>&1 \
    | tee "$RESULTS/refunds.out" | tail -20
fi

log "summary"
"$PY" bench/report.py
if (( ${#FAILED[@]} )); then log "failed: ${FAILED[*]}"; exit 1; fi
