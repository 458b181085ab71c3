#!/usr/bin/env bash
# The README's test command (`make test`): the whole suite against real services.
#
#   1. installs the project with its test extras into .venv (creating it with python3 if needed);
#   2. installs the Debian packages it needs when missing (postgresql, redis-server, chromium, libreoffice-calc-nogui,
#      libreoffice-writer-nogui; root only);
#   3. starts a throwaway PostgreSQL and Redis on free loopback ports, in a temp dir;
#   4. runs pytest (unit + integration + browser) with DATABASE_URL / REDIS_URL / CELERY_BROKER_URL set;
#   5. stops the servers (also on Ctrl-C or failure) and exits with pytest's exit code.
#
# Extra arguments go to pytest: `scripts/test.sh tests/ledger -x`.
# Servers left behind by an interrupted run are stopped at the next start (see STATE_FILE).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
STATE_DIR="$ROOT/.test-services"     # git-ignored; remembers what this checkout started
STATE_FILE="$STATE_DIR/running"
PG_USER_OS="${PG_USER_OS:-postgres}"  # initdb refuses root: the cluster belongs to this system user

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# ---- 1. Python environment ----------------------------------------------------------------------------
if [[ ! -x "$PY" ]]; then
    say "creating $VENV"
    "$PYTHON" -m venv "$VENV"
    "$PY" -m pip install -q --upgrade pip
fi
say "installing the project with test extras"
"$PY" -m pip install -q -e '.[test]'

# ---- 2. Debian packages ---------------------------------------------------------------------------------
pg_bindir() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]] && { echo "$d"; return 0; }
    done
    return 1
}
missing=()
pg_bindir >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
# The Excel tests check that files written by LibreOffice (.xls/.xlsx) import like openpyxl's.
command -v libreoffice >/dev/null || missing+=(libreoffice-calc-nogui)
# Plan reading converts .doc/.wps plans to .docx with LibreOffice Writer (the tests of that need it).
[[ -e /usr/lib/libreoffice/program/libswlo.so ]] || missing+=(libreoffice-writer-nogui)
if ((${#missing[@]})); then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
        say "installing Debian packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        say "missing ${missing[*]} and cannot apt-get install them: the tests that need them will be skipped"
    fi
fi

# ---- 3. services ------------------------------------------------------------------------------------------
run_as_pg() {  # a shell command as the cluster's owner (root may not run PostgreSQL)
    if [[ "$(id -u)" == 0 ]]; then su "$PG_USER_OS" -s /bin/sh -c "$1"; else sh -c "$1"; fi
}

stop_recorded_services() {
    [[ -f "$STATE_FILE" ]] || return 0
    local kind path
    while read -r kind path; do
        case "$kind" in
            pg)
                if [[ -f "$path/data/postmaster.pid" ]]; then
                    local bindir; bindir="$(pg_bindir || true)"
                    if [[ -n "$bindir" ]]; then
                        run_as_pg "'$bindir/pg_ctl' -D '$path/data' -m immediate -w stop" >/dev/null 2>&1 \
                            || kill -9 "$(head -1 "$path/data/postmaster.pid")" 2>/dev/null || true
                    fi
                fi
                rm -rf "$path"; rmdir "$(dirname "$path")" 2>/dev/null || true ;;
            redis)
                [[ -f "$path/redis.pid" ]] && kill "$(cat "$path/redis.pid")" 2>/dev/null || true
                for _ in $(seq 50); do [[ -f "$path/redis.pid" ]] && kill -0 "$(cat "$path/redis.pid")" 2>/dev/null || break; sleep 0.1; done
                rm -rf "$path"; rmdir "$(dirname "$path")" 2>/dev/null || true ;;
        esac
    done <"$STATE_FILE"
    rm -f "$STATE_FILE"
}

free_port() {  # first free loopback TCP port at or above $1
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

mkdir -p "$STATE_DIR"
if [[ -f "$STATE_FILE" ]]; then
    say "stopping services left behind by a previous run"
    stop_recorded_services
fi

cleanup() {
    local code=$?
    trap - EXIT INT TERM
    say "stopping test services"
    stop_recorded_services
    exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A temp dir outside the checkout: the checkout may sit in a root-only directory the postgres user can't enter.
SERVICES_TMP="$(mktemp -d "${TMPDIR:-/tmp}/reform-ledger-test.XXXXXX")"
chmod 755 "$SERVICES_TMP"

if [[ "$(id -u)" == 0 ]] && ! id "$PG_USER_OS" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER_OS"
fi

if PG_BIN="$(pg_bindir)"; then
    PG_DIR="$SERVICES_TMP/pg"
    mkdir -p "$PG_DIR"
    echo "pg $PG_DIR" >>"$STATE_FILE"
    PG_PORT="$(free_port "${PG_PORT:-55432}")"
    as_pg() {
        [[ "$(id -u)" == 0 ]] && chown -R "$PG_USER_OS" "$PG_DIR"
        run_as_pg "$1"
    }
    say "starting PostgreSQL ($PG_BIN) on 127.0.0.1:$PG_PORT"
    as_pg "'$PG_BIN/initdb' -D '$PG_DIR/data' -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >'$PG_DIR/initdb.log' 2>&1" \
        || { cat "$PG_DIR/initdb.log" >&2; exit 1; }
    # Throwaway data: durability off makes the suite faster.
    as_pg "'$PG_BIN/pg_ctl' -D '$PG_DIR/data' -l '$PG_DIR/server.log' -w -t 60 \
        -o \"-p $PG_PORT -h 127.0.0.1 -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200\" start >/dev/null" \
        || { cat "$PG_DIR/server.log" >&2; exit 1; }
    export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/reform_ledger"
    as_pg "'$PG_BIN/createdb' -h 127.0.0.1 -p $PG_PORT -U postgres reform_ledger"
else
    say "no PostgreSQL server: unit tests run on SQLite, worker tests are skipped"
    unset DATABASE_URL
fi

if command -v redis-server >/dev/null; then
    REDIS_DIR="$SERVICES_TMP/redis"
    mkdir -p "$REDIS_DIR"
    echo "redis $REDIS_DIR" >>"$STATE_FILE"
    REDIS_PORT="$(free_port "${REDIS_PORT:-56379}")"
    say "starting Redis on 127.0.0.1:$REDIS_PORT"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
        --dir "$REDIS_DIR" --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log"
    for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
    export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
    export CELERY_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/1"
else
    unset REDIS_URL CELERY_BROKER_URL
fi

[[ -x /usr/bin/chromium ]] && export CHROMIUM_PATH=/usr/bin/chromium
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

# ---- 4. the suite ----------------------------------------------------------------------------------------
say "pytest (DATABASE_URL=${DATABASE_URL:-sqlite} REDIS_URL=${REDIS_URL:-none} CHROMIUM_PATH=${CHROMIUM_PATH:-none})"
set +e
"$PY" -m pytest "$@"
status=$?
if [[ "$status" == 0 && -n "${DATABASE_URL:-}" ]]; then
    # The embedded default's own paths (the SQLite backup format, skipped on PostgreSQL) and the SQLite dialect of
    # the revision triggers the caches rely on: run the tests marked `sqlite` on SQLite too.
    say "pytest -m sqlite (DATABASE_URL=sqlite)"
    env -u DATABASE_URL "$PY" -m pytest -m sqlite "$@"
    status=$?
    [[ "$status" == 5 ]] && status=0  # arguments that select no such test (scripts/test.sh tests/ledger)
fi
set -e
if [[ "$status" == 5 ]]; then
    say "pytest collected no tests: that is a failure"
fi
exit "$status"
