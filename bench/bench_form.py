"""The reporter's quarterly form at real size: a unit with 60 tasks (targets, last quarter's reports to reuse) in a
city ledger, its page and its save, measured as server time (in-process, Django's test client over the whole
middleware stack, production settings, no network).

    DATABASE_URL=postgres://postgres@127.0.0.1:55600/rl_he .venv/bin/python bench/bench_form.py \
        [--tasks 60] [--ledger 500] [--units 60] [--counties 10] [--requests 20] [--keep]

It creates a database next to the one in DATABASE_URL (`<name>_bench_form`, dropped at the end unless --keep;
with a sqlite URL a temporary file), migrates it, fills a city ledger with `generate_scale_data` and adds the
bench unit's tasks, then measures (after 2 warm-up requests):

- GET /reports/my/ (60 cards, index, last quarter's text);
- POST save with every one of the 60 rows changed (60 drafts written, each audited; the redirect not followed);
- POST save with one bad value among the 60 (59 saved, the page shown again with the faulty row);
- POST save of the whole form with 5 rows changed (the usual save during the quarter);
- POST the first save of the quarter: 60 rows, no report yet (60 reports started, each audited twice); the unit's
  reports of the period are deleted before each request (outside the timing);

and prints median and 95th percentile in ms and the SQL query count of each. Targets (issue 16): page < 300 ms,
save < 500 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_pages import admin_sql, db_url_for  # noqa: E402

PASSWORD = "Bench#Form2026"


def settings_env(database_url: str) -> dict:
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
        STATIC_ROOT=tempfile.mkdtemp(prefix="bench-form-static-"),
        LOG_LEVEL="ERROR",
    )
    return env


def run(env: dict, *args: str) -> None:
    out = subprocess.run(
        [sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        sys.stderr.write(out.stdout + out.stderr)
        raise SystemExit(f"{' '.join(args)} failed")
    if "--child" in args:
        sys.stdout.write(out.stdout)


def build(args) -> None:
    """In the child process, with Django set up on the bench database: the bench unit, its tasks, reporter and
    last quarter's reports."""
    import datetime as dt
    from decimal import Decimal

    from departments.models import Role, Unit, UnitKind, User
    from reports.models import Period, Report, ReportStatus
    from tasks.models import Document, Target, Task, TaskUnit

    unit = Unit.objects.create(name="基准测试市卫生健康委", short_name="基准卫健委", kind=UnitKind.DEPARTMENT)
    other = Unit.objects.exclude(pk=unit.pk).filter(kind=UnitKind.DEPARTMENT).first()
    user = User(username="bench_reporter", role=Role.REPORTER, unit=unit)
    user.set_password(PASSWORD)
    user.save()
    doc = Document.objects.create(
        doc_number="基准〔2026〕1号", title="基准测试实施方案", issued_on=dt.date(2026, 1, 1)
    )
    tasks = []
    for i in range(args.tasks):
        task = Task(document=doc, path=["一", f"({'一二三四五六'[i % 6]})", str(i + 1)],
                    title=f"基准任务{i + 1}：推进第{i + 1}项重点改革", text="任务内容。" * 20)  # fmt: skip
        task.save()
        lead = unit if i % 4 else other  # three in four led, one in four shared
        TaskUnit.objects.create(task=task, unit=lead, role=TaskUnit.Role.LEAD, position=0)
        if lead != unit:
            TaskUnit.objects.create(task=task, unit=unit, role=TaskUnit.Role.RESPONSIBLE, position=0)
        if i % 2 == 0:
            Target.objects.create(task=task, indicator=f"指标{i}", op=">=", value=Decimal("90"), unit="%",
                                  due=dt.date(2026, 12, 31))  # fmt: skip
        tasks.append(task)
    current = Period.objects.filter(is_open=True).order_by("-year", "-quarter").first()
    key = (current.year, current.quarter - 1) if current.quarter > 1 else (current.year - 1, 4)
    before = Period.objects.get(year=key[0], quarter=key[1])
    Report.objects.bulk_create(
        Report(
            task=t,
            unit=unit,
            period=before,
            status=ReportStatus.ACCEPTED,
            text=f"上季度第{n}项进展",
            version=3,
        )
        for n, t in enumerate(tasks)
    )
    print(f"bench unit: {args.tasks} tasks ({sum(1 for i in range(args.tasks) if i % 4)} led), "
          f"{Target.objects.filter(task__document=doc).count()} targets, open period {current.label}")  # fmt: skip


def measure(args) -> None:
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from departments.models import User
    from reports.models import Period, Report

    user = User.objects.get(username="bench_reporter")
    period = Period.objects.filter(is_open=True).order_by("-year", "-quarter").first()
    client = Client()
    client.force_login(user)
    rows = list(
        __import__("reports.selectors", fromlist=["form_rows_for"]).form_rows_for(
            unit=user.unit, period=period
        )
    )

    bad_row = next(i for i, r in enumerate(rows) if i >= len(rows) // 2 and r.task.targets.all())

    def post_data(n: int, bad: bool = False, changed: int | None = None) -> dict:
        """Every row posted, as a browser does; the first `changed` rows (all by default) with new content."""
        versions = dict(
            Report.objects.filter(unit=user.unit, period=period).values_list("task_id", "version")
        )
        data = {"period": period.pk, "action": "save"}
        for i, row in enumerate(rows):
            p = f"t{row.task.pk}-"
            k = n if changed is None or i < changed else 0
            data.update({p + "progress": "in_progress", p + "percent": str((k + i) % 100), p + "text": f"第{k}轮进展{i}",
                         p + "problems": "", p + "next_steps": "下一步", p + "version": str(versions.get(row.task.pk, ""))})  # fmt: skip
            for t in row.task.targets.all():
                data[f"{p}target-{t.pk}"] = "五十" if bad and i == bad_row else str(80 + k % 10)
        return data

    def timed(fn, count: int) -> tuple[list[float], list[float], int]:
        for _ in range(2):
            fn(-1)
        times, cpu = [], []
        for n in range(count):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn(n)
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        with CaptureQueriesContext(connection) as ctx:
            fn(count)
        return times, cpu, len(ctx.captured_queries)

    def get(n):
        r = client.get("/reports/my/")
        assert r.status_code == 200 and r.content.count(b'class="card report-row') == len(rows), r.status_code

    state = {"n": 1000}

    def save(n):
        state["n"] += 1
        data = post_data(state["n"])
        start, start_cpu = time.perf_counter(), time.process_time()
        r = client.post("/reports/my/", data)
        state["t"], state["cpu"] = (
            (time.perf_counter() - start) * 1000,
            (time.process_time() - start_cpu) * 1000,
        )
        assert r.status_code == 302, r.status_code

    def save_five(n):
        state["n"] += 1
        data = post_data(state["n"], changed=5)
        start, start_cpu = time.perf_counter(), time.process_time()
        r = client.post("/reports/my/", data)
        state["t"], state["cpu"] = (
            (time.perf_counter() - start) * 1000,
            (time.process_time() - start_cpu) * 1000,
        )
        assert r.status_code == 302, r.status_code

    def save_first(n):
        # Two statements (counted with the request's, like the versions read by post_data): the drafts have
        # target values only, no revisions or attachments.
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM reports_targetvalue WHERE report_id IN"
                " (SELECT id FROM reports_report WHERE unit_id = %s AND period_id = %s)",
                [user.unit_id, period.pk],
            )
            cursor.execute(
                "DELETE FROM reports_report WHERE unit_id = %s AND period_id = %s", [user.unit_id, period.pk]
            )
        state["n"] += 1
        data = post_data(state["n"])
        start, start_cpu = time.perf_counter(), time.process_time()
        r = client.post("/reports/my/", data)
        state["t"], state["cpu"] = (
            (time.perf_counter() - start) * 1000,
            (time.process_time() - start_cpu) * 1000,
        )
        assert r.status_code == 302, r.status_code

    def save_bad(n):
        state["n"] += 1
        data = post_data(state["n"], bad=True)
        start, start_cpu = time.perf_counter(), time.process_time()
        r = client.post("/reports/my/", data)
        state["t"], state["cpu"] = (
            (time.perf_counter() - start) * 1000,
            (time.process_time() - start_cpu) * 1000,
        )
        assert r.status_code == 400, r.status_code

    def only_request(fn):
        # The POST body is built from the database first (current versions); only the request is timed.
        def wrapped(count):
            for _ in range(2):
                fn(-1)
            times, cpu = [], []
            for n in range(count):
                fn(n)
                times.append(state["t"])
                cpu.append(state["cpu"])
            with CaptureQueriesContext(connection) as ctx:
                fn(count)
            return times, cpu, len(ctx.captured_queries)

        return wrapped

    reset_queries()
    results = [
        ("GET 填报页（60 项）", *timed(get, args.requests), 300),
        ("POST 保存 60 项草稿", *only_request(save)(args.requests), 500),
        ("POST 保存，1 项错误（59 项保存）", *only_request(save_bad)(args.requests), 500),
        ("POST 保存，改了 5 项（60 项提交）", *only_request(save_five)(args.requests), 500),
        ("POST 首次保存 60 项（新建报告）", *only_request(save_first)(args.requests), 500),
    ]
    # Wall time is what a user waits for; the CPU time of this (web) process shows what the code costs when the
    # machine is shared (the database server's own work is in the wall time only).
    load = os.getloadavg()[0]
    print(f"\nload average {load:.1f} on {os.cpu_count()} CPUs")
    print(f"{'request':<30}{'median ms':>10}{'p95 ms':>10}{'CPU ms':>9}{'queries':>9}{'target ms':>11}")
    for name, times, cpu, queries, target in results:
        p95 = statistics.quantiles(times, n=20)[18] if len(times) >= 20 else max(times)
        med = statistics.median(times)
        flag = "ok" if med < target else "SLOW"
        print(
            f"{name:<26}{med:>10.1f}{p95:>10.1f}{statistics.median(cpu):>9.1f}{queries:>9}{target:>9} {flag}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=60)
    parser.add_argument("--ledger", type=int, default=500, help="tasks of the rest of the city ledger")
    parser.add_argument("--units", type=int, default=60)
    parser.add_argument("--counties", type=int, default=10)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument(
        "--reuse", action="store_true", help="measure a database kept by an earlier --keep run"
    )
    parser.add_argument("--child", choices=["build", "measure"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        import django

        django.setup()
        build(args) if args.child == "build" else measure(args)
        return

    base = os.environ.get("DATABASE_URL", "sqlite:///bench.sqlite3")
    tmp = None
    if base.startswith("postgres"):
        name = urllib.parse.urlsplit(base).path.lstrip("/") + "_bench_form"
        if not args.reuse:
            admin_sql(base, f'DROP DATABASE IF EXISTS "{name}"')
            admin_sql(base, f'CREATE DATABASE "{name}"')
        url = db_url_for(base, name)
    else:
        tmp = tempfile.mkdtemp(prefix="bench-form-")
        url = f"sqlite:///{tmp}/bench.sqlite3"
    env = settings_env(url)
    try:
        started = time.perf_counter()
        run(env, "manage.py", "migrate", "-v0")
        run(env, "manage.py", "collectstatic", "--noinput", "-v0")
        me = [str(Path(__file__).resolve()), "--tasks", str(args.tasks), "--requests", str(args.requests)]
        if not args.reuse:
            run(env, "manage.py", "generate_scale_data", "--tasks", str(args.ledger), "--units", str(args.units),
                "--counties", str(args.counties), "--quarters", "4")  # fmt: skip
            run(env, *me, "--child", "build")
        print(f"database {url.rsplit('/', 1)[-1]} ready in {time.perf_counter() - started:.0f} s")
        out = subprocess.run(
            [sys.executable, *me, "--child", "measure"], env=env, cwd=ROOT, text=True, check=False
        )
        if out.returncode:
            raise SystemExit("measuring failed")
    finally:
        if base.startswith("postgres") and not (args.keep or args.reuse):
            admin_sql(base, f'DROP DATABASE IF EXISTS "{name}"')


if __name__ == "__main__":
    main()
