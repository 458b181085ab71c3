"""Roll-ups, dashboard and a filtered ledger page at province and city scale, served as in production.

    DATABASE_URL=postgres://ledger@127.0.0.1:55999/postgres .venv/bin/python bench/bench_pages.py \
        [--sizes 20000,500] [--units 300] [--counties 30] [--city-units 60] [--city-counties 10] [--quarters 8]
        [--requests 40] [--stale-requests 15] [--baseline-requests 5] [--tasks-per-plan 1000] [--keep] [--reuse]

For each size it creates a database next to the one in DATABASE_URL (bench_pages_<size>, or
bench_pages_<size>_p<N> with --tasks-per-plan N other than 1000; dropped at the end unless --keep), migrates it, fills it with `generate_scale_data --tasks N --units U --counties C --quarters Q`
(timed; --reuse instead measures a database kept by an earlier --keep run, after migrating it, so code before
and after a change can be compared on the same rows), runs VACUUM ANALYZE, adds a leader and a reporter,
collects static files and starts gunicorn with the production settings (reform_ledger.settings.production;
plain HTTP on 127.0.0.1, so SECURE_SSL_REDIRECT=0 and non-secure cookies). It signs in through the login form, requests every page and API call `--requests` times
in a row over one keep-alive connection (after 3 warm-up requests) and prints the median and 95th percentile per
page beside the trivial /healthz, with the ratio (the trivial page is also sampled before every row's batch and
the ratio taken to the pooled median: this machine's speed drifts within a run), plus the number of SQL queries each page issues (counted
in-process with Django's test client on the same database).

Sizes of 10,000 tasks and more get --units departments and --counties counties (province scale); smaller
sizes get --city-units and --city-counties (a city: DOMAIN.md's ~60 departments and ~10 counties).

The roll-up figures are cached per unit and period (reports.UnitFigures) and recomputed for the units a write
touched; the dashboard is cached per audience and period (reports.DashboardCache): after a report only the units
whose revision moved are put back into its ranking, after a change of the tasks it is recomputed; the roll-up by
plan and area and the trend are kept per process under the revision sums. So after the warm-up the main rows
measure a warm cache. More rows measure what a write costs the next reader: one report changed before every
request (its unit's figures, the dashboard's units part and the trend recomputed), one task changed before every
request (as a report that moves its task's reported percent does, or an edit: the dashboard's tasks part and the
plans recomputed too), and the caches emptied and every revision raised before every request (every unit
recomputed, also where a process keeps figures in memory: the first request of a day, or right after an import
of the whole ledger).

Targets (issue 5): dashboard, both roll-ups and a filtered ledger page: median < 100 ms at 20,000 tasks,
< 20 ms at 500 tasks; the query counts are the same at both sizes.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
PASSWORD = "Bench#Pages2026"


def db_url_for(base: str, name: str) -> str:
    parts = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def admin_sql(base: str, sql: str) -> None:
    import psycopg2

    parts = urllib.parse.urlsplit(base)
    conn = psycopg2.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname=(parts.path or "/postgres").lstrip("/") or "postgres",
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def manage(env: dict, *args: str, quiet: bool = True) -> str:
    out = subprocess.run(
        [PY, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        sys.stderr.write(out.stdout + out.stderr)
        raise SystemExit(f"manage.py {' '.join(args)} failed")
    return out.stdout


def production_env(database_url: str, static_root: str) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="reform_ledger.settings.production",
        DATABASE_URL=database_url,
        SECRET_KEY="bench-only-" + "x" * 40,
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
        CELERY_BROKER_URL="memory://",
        STATIC_ROOT=static_root,
        CONN_MAX_AGE="60",
        LOG_LEVEL="WARNING",
    )
    return env


class Client:
    """One keep-alive HTTP connection with a cookie jar of two cookies (session and CSRF)."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        h = {"Host": "127.0.0.1", "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        h.update(headers or {})
        self.conn.request(method, path, body=body, headers=h)
        resp = self.conn.getresponse()
        data = resp.read()
        for key, value in resp.getheaders():
            if key.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return resp.status, data, resp

    def login(self, username: str) -> None:
        status, body, _ = self.request("GET", "/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
        form = urllib.parse.urlencode(
            {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token}
        )
        status, _, resp = self.request(
            "POST",
            "/login/",
            form,
            {"Content-Type": "application/x-www-form-urlencoded", "Referer": "http://127.0.0.1/login/"},
        )
        if status != 302:
            raise SystemExit(f"login as {username} failed: HTTP {status}")


def wait_for(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not answer /healthz")


def pick_ids(env: dict) -> dict:
    code = (
        "import json; from departments.models import Unit; from tasks.models import TaskUnit;"
        "u = Unit.objects.filter(name__startswith='规模测试市').order_by('pk').first();"
        "print(json.dumps({'unit': u.pk}))"
    )
    return json.loads(manage(env, "shell", "-c", code).strip().splitlines()[-1])


def pages(ids: dict) -> list[tuple[str, str, str]]:
    """(label, user, path): the trivial page first."""
    u = ids["unit"]
    return [
        ("/healthz (trivial)", "leader", "/healthz"),
        ("dashboard", "leader", "/reports/dashboard/"),
        ("roll-up by department", "leader", "/reports/rollups/departments/"),
        ("roll-up by county", "leader", "/reports/rollups/counties/"),
        ("ledger filtered (lead unit, overdue)", "leader", f"/tasks/?lead_unit={u}&light=overdue"),
        ("ledger filtered (lead unit, 欠进度)", "leader", f"/tasks/?lead_unit={u}&pace=behind"),
        ("roll-up by plan and area", "leader", "/reports/rollups/plans/"),
        ("trend (8 quarters)", "leader", "/reports/rollups/trend/"),
        ("API departments", "leader", "/api/rollups/departments/?page_size=500"),
        ("API counties", "leader", "/api/rollups/counties/"),
        ("API dashboard/overdue", "leader", "/api/dashboard/overdue/"),
        ("API tasks filtered", "leader", f"/api/tasks/?lead_unit={u}&light=overdue"),
        ("dashboard (reporter)", "reporter", "/reports/dashboard/"),
        ("roll-up by department (reporter)", "reporter", "/reports/rollups/departments/"),
    ]


QUERY_COUNTER = r"""
import json, sys
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from departments.models import User
out = {}
clients = {}
for who, name in (("leader", "bench_pages_leader"), ("reporter", "bench_pages_reporter")):
    c = Client(); c.force_login(User.objects.get(username=name)); clients[who] = c
for label, who, path in json.loads(sys.stdin.read()):
    clients[who].get(path)  # warm caches (content types, sessions) like a running server
    with CaptureQueriesContext(connection) as ctx:
        r = clients[who].get(path)
    out[label] = [r.status_code, len(ctx.captured_queries)]
print(json.dumps(out))
"""


def count_queries(env: dict, page_list) -> dict:
    out = subprocess.run(
        [PY, str(ROOT / "manage.py"), "shell", "-c", QUERY_COUNTER],
        env=env,
        cwd=ROOT,
        input=json.dumps(page_list),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_size(args, size: int) -> dict:
    db = f"{args.db_prefix}_{size}" + (f"_p{args.tasks_per_plan}" if args.tasks_per_plan != 1000 else "")
    url = db_url_for(args.database_url, db)
    static_root = tempfile.mkdtemp(prefix="bench-static-")
    env = production_env(url, static_root)
    if args.reuse and database_exists(args.database_url, db):
        # A database kept by an earlier --keep run: migrate (new indexes) and measure the same rows again.
        manage(env, "migrate", "--noinput")
        admin_sql(url, "VACUUM ANALYZE")
        return measure(args, env, db, size, built=None)
    admin_sql(args.database_url, f"DROP DATABASE IF EXISTS {db}")
    admin_sql(args.database_url, f"CREATE DATABASE {db}")
    manage(env, "migrate", "--noinput")
    units, counties = unit_counts(args, size)
    print(
        f"building {size} tasks, {units} departments, {counties} counties, {args.quarters} quarters, "
        f"{args.tasks_per_plan} tasks per plan"
    )
    started = time.monotonic()
    print(
        manage(
            env,
            "generate_scale_data",
            "--tasks",
            str(size),
            "--units",
            str(units),
            "--counties",
            str(counties),
            "--quarters",
            str(args.quarters),
            "--seed",
            "7",
            "--tasks-per-plan",
            str(args.tasks_per_plan),
        ).strip()
    )
    built = time.monotonic() - started
    admin_sql(url, "VACUUM ANALYZE")
    manage(env, "add_user", "bench_pages_leader", "--role", "leader", "--password", PASSWORD)
    unit = (
        manage(
            env,
            "shell",
            "-c",
            "from departments.models import Unit; print(Unit.objects.filter(name__startswith='规模测试市').order_by('pk').first().name)",
        )
        .strip()
        .splitlines()[-1]
    )
    manage(
        env, "add_user", "bench_pages_reporter", "--role", "reporter", "--password", PASSWORD, "--unit", unit
    )
    return measure(args, env, db, size, built=built)


def unit_counts(args, size: int) -> tuple[int, int]:
    """Province scale (>= 10,000 tasks) with --units/--counties; a city's ledger with --city-units/--city-counties
    (DOMAIN.md: ~60 departments and ~10 counties)."""
    return (args.units, args.counties) if size >= 10_000 else (args.city_units, args.city_counties)


def database_exists(base: str, name: str) -> bool:
    import psycopg2

    parts = urllib.parse.urlsplit(base)
    conn = psycopg2.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname=(parts.path or "/postgres").lstrip("/") or "postgres",
    )
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        found = cur.fetchone() is not None
    conn.close()
    return found


def measure(args, env: dict, db: str, size: int, *, built: float | None) -> dict:
    manage(env, "collectstatic", "--noinput")
    ids = pick_ids(env)
    page_list = pages(ids)

    gunicorn = subprocess.Popen(
        [
            PY,
            "-m",
            "gunicorn",
            "reform_ledger.wsgi:application",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--access-logfile",
            "/dev/null",
            "--error-logfile",
            "-",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    results = {}
    try:
        wait_for(args.port)
        clients = {"leader": Client(args.port), "reporter": Client(args.port)}
        clients["leader"].login("bench_pages_leader")
        clients["reporter"].login("bench_pages_reporter")
        # The trivial page is the yardstick: this machine's speed drifts within a run (the same warm page measured
        # 12 and 22 ms in two runs minutes apart), so it is sampled before every page's batch too and the pooled
        # sample is what the others are divided by.
        trivial: list[float] = []

        def baseline() -> None:
            trivial.extend(timed(clients["leader"], "/healthz", args.baseline_requests, warmup=1))

        for label, who, path in page_list:
            if path != "/healthz":
                baseline()
            times = timed(clients[who], path, args.requests, warmup=3)
            if path == "/healthz":
                trivial.extend(times)
            results[label] = figures(times, path)
        # The roll-up figures are cached per unit (reports.UnitFigures) and recomputed for the units a write
        # touched; the dashboard is cached whole (reports.DashboardCache) and recomputed after any write. These
        # rows measure that cost: before each request one report is changed (the dashboard and that unit's
        # figures are stale), or both caches are emptied (the first request of a day, or after a ledger import).
        for label, path, sql in stale_scenarios(url_of(env)):
            baseline()
            times = timed(
                clients["leader"],
                path,
                args.stale_requests,
                warmup=1,
                before=lambda sql=sql: admin_sql(url_of(env), sql),
            )
            results[label] = figures(times, path, cached=False)
        first = results["/healthz (trivial)"]["median"]
        results["/healthz (trivial)"] = {
            **figures(sorted(trivial), "/healthz"),
            "pooled": len(trivial),
            "first": first,
        }
    except SystemExit:
        # a page answered an error: show the server's log (the traceback) before giving up
        os.killpg(gunicorn.pid, signal.SIGTERM)
        sys.stderr.write(gunicorn.communicate(timeout=20)[1].decode(errors="replace")[-6000:])
        raise
    finally:
        if gunicorn.poll() is None:
            os.killpg(gunicorn.pid, signal.SIGTERM)
            gunicorn.wait(timeout=20)
    counts = count_queries(env, page_list)
    for label in results:
        results[label]["queries"] = counts[label][1] if label in counts else None
    if not (args.keep or args.reuse):
        admin_sql(args.database_url, f"DROP DATABASE IF EXISTS {db}")
    return {"size": size, "built_seconds": built, "results": results}


def timed(client: Client, path: str, n: int, *, warmup: int, before=None) -> list[float]:
    """Milliseconds of `n` GETs of `path` after `warmup` untimed ones, sorted; `before` runs untimed before each."""
    times = []
    for i in range(n + warmup):
        if before is not None:
            before()
        t0 = time.perf_counter()
        status, body, _ = client.request("GET", path)
        elapsed = (time.perf_counter() - t0) * 1000
        if status != 200:
            raise SystemExit(f"{path}: HTTP {status}\n{body[:500]!r}")
        if i >= warmup:
            times.append(elapsed)
    return sorted(times)


def figures(times: list[float], path: str, cached: bool = True) -> dict:
    return {
        "median": statistics.median(times),
        "p95": times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))],
        "path": path,
        "cached": cached,
    }


def url_of(env: dict) -> str:
    return env["DATABASE_URL"]


def stale_scenarios(url: str) -> list[tuple[str, str, str]]:
    """(label, path, SQL run before each request)."""
    # One report of the first synthetic unit in the latest quarter (the one the pages show, where reports are
    # written): an UPDATE that changes nothing but still fires the triggers.
    touch = (
        "UPDATE reports_report SET updated_at = now() WHERE id = (SELECT r.id FROM reports_report r "
        "JOIN departments_unit u ON u.id = r.unit_id WHERE u.name LIKE '规模测试市%' AND r.period_id = "
        "(SELECT id FROM reports_period ORDER BY year DESC, quarter DESC LIMIT 1) ORDER BY r.id LIMIT 1)"
    )
    # What a report that moves its task's reported percent does to the ledger (reports.report_effects), or a
    # task edited: one task of that unit changed, so everything counted from the tasks is stale too.
    task = (
        "UPDATE tasks_task SET reported_percent = (COALESCE(reported_percent, 0) + 1) % 100 WHERE id = "
        "(SELECT tu.task_id FROM tasks_taskunit tu JOIN departments_unit u ON u.id = tu.unit_id "
        "WHERE u.name LIKE '规模测试市%' ORDER BY tu.id LIMIT 1)"
    )
    # Everything changed (an import of the whole ledger; the first request of a day likewise finds nothing current):
    # the cached rows deleted and every revision raised, so that figures kept in a process's memory miss too.
    empty = (
        "DELETE FROM reports_unitfigures; DELETE FROM reports_dashboardcache; "
        "UPDATE reports_unitrevision SET rev = rev + 1, task_rev = task_rev + 1; "
        "UPDATE reports_planrevision SET rev = rev + 1"
    )
    return [
        ("dashboard, 1 unit changed before each", "/reports/dashboard/", touch),
        ("roll-up dept., 1 unit changed before each", "/reports/rollups/departments/", touch),
        ("roll-up plans, 1 unit changed before each", "/reports/rollups/plans/", touch),
        ("trend, 1 unit changed before each", "/reports/rollups/trend/", touch),
        ("dashboard, 1 task changed before each", "/reports/dashboard/", task),
        ("roll-up dept., 1 task changed before each", "/reports/rollups/departments/", task),
        ("roll-up plans, 1 task changed before each", "/reports/rollups/plans/", task),
        ("dashboard, cache emptied before each", "/reports/dashboard/", empty),
        ("roll-up dept., cache emptied before each", "/reports/rollups/departments/", empty),
    ]


def built_text(seconds: float | None) -> str:
    return "kept database, not rebuilt" if seconds is None else f"data built in {seconds:.0f} s"


def print_report(report: dict, target_ms: float) -> None:
    size, results = report["size"], report["results"]
    base = results["/healthz (trivial)"]["median"]
    print(
        f"\n== {size} tasks ({built_text(report['built_seconds'])}); target for the main pages: median < {target_ms:.0f} ms"
    )
    print(f"{'page':44} {'median ms':>10} {'p95 ms':>9} {'x trivial':>10} {'queries':>8}")
    for label, r in results.items():
        queries = "-" if r["queries"] is None else str(r["queries"])
        print(f"{label:44} {r['median']:10.1f} {r['p95']:9.1f} {r['median'] / base:10.1f} {queries:>8}")
    trivial = results["/healthz (trivial)"]
    print(
        f"(the trivial page: median of {trivial['pooled']} requests taken before every row's batch; "
        f"{trivial['first']:.1f} ms in its own batch at the start)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--sizes", default="20000,500")
    parser.add_argument("--units", type=int, default=300)
    parser.add_argument("--counties", type=int, default=30)
    parser.add_argument("--city-units", type=int, default=60, help="departments for sizes under 10,000")
    parser.add_argument("--city-counties", type=int, default=10, help="counties for sizes under 10,000")
    parser.add_argument("--quarters", type=int, default=8)
    parser.add_argument("--tasks-per-plan", type=int, default=1000, help="tasks per plan (document)")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--stale-requests", type=int, default=15, help="requests per stale-cache scenario")
    parser.add_argument(
        "--baseline-requests", type=int, default=5, help="trivial-page requests before every row's batch"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=0, help="gunicorn's port; 0: a free one")
    parser.add_argument("--db-prefix", default="bench_pages", help="bench databases are <prefix>_<size>")
    parser.add_argument("--keep", action="store_true", help="keep the bench databases")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure a database kept by an earlier --keep run (migrated, not rebuilt); implies --keep",
    )
    args = parser.parse_args()
    if not args.port:  # a fixed port would collide with another run on the same machine
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            args.port = sock.getsockname()[1]
    if not args.database_url.startswith("postgres"):
        raise SystemExit("DATABASE_URL must point at PostgreSQL (the bench creates databases next to it)")
    load = os.getloadavg()
    print(f"host: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    reports = [bench_size(args, int(s)) for s in args.sizes.split(",")]
    for report in reports:
        print_report(report, 100 if report["size"] >= 10_000 else 20)
    sizes = [r["size"] for r in reports]
    if len(reports) > 1:
        same = all(
            len({r["results"][label]["queries"] for r in reports}) == 1
            for label in reports[0]["results"]
            if reports[0]["results"][label]["cached"]
        )
        print(
            f"\nSQL queries per page the same at {' and '.join(map(str, sizes))} tasks: {'yes' if same else 'NO'}"
        )
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
