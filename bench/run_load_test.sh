#!/usr/bin/env bash
# The load test of bench/load_test.py against the production stack, all on this machine's loopback:
#
#   PostgreSQL (initdb in a temp dir, free port from 56432; as the `postgres` system user when run as root),
#   Redis (free port from 56479), a Celery worker and gunicorn (free port from 58000) with
#   reform_ledger.settings.production; load_demo + a synthetic ledger of 100 reporting units; then locust,
#   headless, 100 reporters + 10 leaders for DURATION; then the figures and the database check.
#
#   bench/run_load_test.sh                       # 5 minutes
#   DURATION=60s bench/run_load_test.sh          # shorter
#   KEEP=1 bench/run_load_test.sh                # leave the temp dir (logs, CSV) behind
#   RATE=20 bench/run_load_test.sh               # offer 20 requests/s in all instead of saturating
#
# Settings: DURATION (5m), REPORTERS (100), LEADERS (10), WEB_WORKERS (4, as docker-compose), WEB_THREADS (1),
# TASKS (1500 synthetic tasks). Everything started here is stopped on exit, also on Ctrl-C or failure.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PY="${PY:-$ROOT/.venv/bin/python}"
BIN="$(dirname "$PY")"
DURATION="${DURATION:-5m}"
REPORTERS="${REPORTERS:-100}"
LEADERS="${LEADERS:-10}"
WEB_WORKERS="${WEB_WORKERS:-4}"
WEB_THREADS="${WEB_THREADS:-1}"
TASKS="${TASKS:-1500}"
PG_USER_OS="${PG_USER_OS:-postgres}"

say() { printf '\033[1m==> %s %s\033[0m\n' "$(date +%T)" "$*" >&2; }

pg_bindir() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [[ -x "$d/initdb" && -x "$d/pg_ctl" ]] && { echo "$d"; return 0; }
    done
    return 1
}
free_port() {
    "$PY" - "$1" <<'EOF'
import socket, sys
port = int(sys.argv[1])
while True:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            port += 1
            continue
    print(port)
    break
EOF
}
run_as_pg() {
    if [[ "$(id -u)" == 0 ]]; then su "$PG_USER_OS" -s /bin/sh -c "$1"; else sh -c "$1"; fi
}

PG_BIN="$(pg_bindir)" || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server not found (apt-get install redis-server)" >&2; exit 1; }
"$PY" -c "import locust" 2>/dev/null || { echo "locust missing: $PY -m pip install -e '.[bench]'" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/reform-ledger-load.XXXXXX")"
chmod 755 "$WORK"
PIDS=()
cleanup() {
    local code=$?
    trap - EXIT INT TERM
    say "stopping the stack"
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    [[ -f "$WORK/redis/redis.pid" ]] && kill "$(cat "$WORK/redis/redis.pid")" 2>/dev/null || true
    [[ -f "$WORK/pg/data/postmaster.pid" ]] && run_as_pg "'$PG_BIN/pg_ctl' -D '$WORK/pg/data' -m fast -w stop" >/dev/null 2>&1 || true
    if [[ "${KEEP:-0}" == 1 ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- PostgreSQL ------------------------------------------------------------------------------------------
mkdir -p "$WORK/pg" "$WORK/redis" "$WORK/static" "$WORK/media" "$WORK/out"
if [[ "$(id -u)" == 0 ]]; then
    id "$PG_USER_OS" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER_OS"
    chown -R "$PG_USER_OS" "$WORK/pg"
fi
PG_PORT="$(free_port 56432)"
say "PostgreSQL on 127.0.0.1:$PG_PORT"
run_as_pg "'$PG_BIN/initdb' -D '$WORK/pg/data' -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >'$WORK/pg/initdb.log' 2>&1" \
    || { cat "$WORK/pg/initdb.log" >&2; exit 1; }
# Durable settings as in production (fsync on); only the connection limit is raised for the web workers.
run_as_pg "'$PG_BIN/pg_ctl' -D '$WORK/pg/data' -l '$WORK/pg/server.log' -w -t 60 \
    -o \"-p $PG_PORT -h 127.0.0.1 -k $WORK/pg -c max_connections=200\" start >/dev/null" \
    || { cat "$WORK/pg/server.log" >&2; exit 1; }
run_as_pg "'$PG_BIN/createdb' -h 127.0.0.1 -p $PG_PORT -U postgres reform_ledger"

# ---- Redis -----------------------------------------------------------------------------------------------
REDIS_PORT="$(free_port 56479)"
say "Redis on 127.0.0.1:$REDIS_PORT"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --dir "$WORK/redis" --pidfile "$WORK/redis/redis.pid" --logfile "$WORK/redis/redis.log"
for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

# ---- the app, production settings --------------------------------------------------------------------
WEB_PORT="$(free_port 58000)"
export DJANGO_SETTINGS_MODULE=reform_ledger.settings.production
SECRET_KEY="load-test-$("$PY" -c 'import secrets; print(secrets.token_hex(24))')"
export SECRET_KEY
export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/reform_ledger"
export CELERY_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0"
export ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=0 SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0
export STATIC_ROOT="$WORK/static" MEDIA_ROOT="$WORK/media" LOG_LEVEL=WARNING
export SITE_URL="http://127.0.0.1:$WEB_PORT"

say "migrate, collectstatic, load_demo, synthetic ledger and accounts"
"$PY" manage.py migrate --noinput -v 0
"$PY" manage.py collectstatic --noinput -v 0
"$PY" manage.py load_demo >/dev/null
"$PY" bench/load_test.py setup --out "$WORK/setup.json" --reporters "$REPORTERS" --leaders "$LEADERS" --tasks "$TASKS"

say "Celery worker and gunicorn ($WEB_WORKERS workers x $WEB_THREADS threads) on 127.0.0.1:$WEB_PORT"
"$BIN/celery" -A reform_ledger worker --loglevel WARNING --concurrency 2 --without-gossip --without-mingle \
    >"$WORK/out/celery.log" 2>&1 &
PIDS+=($!)
"$BIN/gunicorn" reform_ledger.wsgi:application --bind "127.0.0.1:$WEB_PORT" --workers "$WEB_WORKERS" \
    --threads "$WEB_THREADS" --timeout 60 >"$WORK/out/gunicorn.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 150); do
    "$PY" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$WEB_PORT/healthz', timeout=2)" 2>/dev/null && break
    sleep 0.2
done

say "locust: $REPORTERS reporters + $LEADERS leaders for $DURATION"
export LOAD_SETUP="$WORK/setup.json" LOAD_SUBMITTED="$WORK/out/submitted.tsv" LOAD_STATUS="$WORK/out/status.json" LOAD_RATE="${RATE:-}"
: >"$LOAD_SUBMITTED"
set +e
"$BIN/locust" -f bench/load_test.py --headless --host "http://127.0.0.1:$WEB_PORT" \
    -u "$((REPORTERS + LEADERS))" -r 10 -t "$DURATION" --stop-timeout 10 \
    --csv "$WORK/out/locust" --only-summary --loglevel WARNING >"$WORK/out/locust.log" 2>&1
locust_status=$?
set -e
tail -n 40 "$WORK/out/locust.log" | grep -iE "error|traceback" && say "locust reported errors (see above)"

say "results"
nproc_n="$(nproc)"
echo "machine: $nproc_n CPU(s); gunicorn $WEB_WORKERS x $WEB_THREADS; duration $DURATION; locust exit $locust_status"
set +e
"$PY" bench/load_test.py verify --setup "$WORK/setup.json" --submitted "$LOAD_SUBMITTED" \
    --status "$LOAD_STATUS" --stats "$WORK/out/locust"
verify_status=$?
set -e
if grep -qE "Traceback|Internal Server Error" "$WORK/out/gunicorn.log"; then
    say "gunicorn log has tracebacks:"
    grep -B2 -A25 -m3 "Traceback" "$WORK/out/gunicorn.log" | head -80
fi
exit "$verify_status"
