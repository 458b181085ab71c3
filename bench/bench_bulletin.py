"""The quarterly 通报 and 序时进度 at province scale: 300 departments, 30 counties, 20,000 tasks.

    DATABASE_URL=postgres://ledger@127.0.0.1:55999/postgres .venv/bin/python bench/bench_bulletin.py \
        [--tasks 20000] [--units 300] [--counties 30] [--quarters 8] [--db-prefix bench_bulletin] [--keep] [--reuse]

Creates the database <prefix>_<tasks> next to the one in DATABASE_URL (dropped at the end unless --keep; --reuse
measures one kept earlier, e.g. by bench_pages.py --keep with the same prefix and size), migrates it and fills it
with `generate_scale_data`. Then, in one process, it times and prints:

- the 序时进度 class counts of every task in SQL (what the dashboard and roll-ups add per request), next to the
  same count of lights they already did;
- recomputing the stored 序时进度 dates of every task in Python (what a whole-ledger import pays once);
- the 通报's figures with the roll-up caches emptied (every unit computed) and warm;
- writing the Word file (docxtpl) and the whole `bulletin --issue` path (figures, numbering, file, snapshot,
  one inbox message per user; rolled back afterwards so it can be run again). Target (issue 17): under 5 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_pages import admin_sql, database_exists, db_url_for  # noqa: E402


def manage(env: dict, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode != 0:
        sys.stderr.write(out.stdout + out.stderr)
        raise SystemExit(f"manage.py {' '.join(args)} failed")
    return out.stdout


def timed(fn, repeat: int = 1):
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--tasks", type=int, default=20000)
    parser.add_argument("--units", type=int, default=300)
    parser.add_argument("--counties", type=int, default=30)
    parser.add_argument("--quarters", type=int, default=8)
    parser.add_argument("--db-prefix", default="bench_bulletin")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        raise SystemExit("DATABASE_URL must point at PostgreSQL (the bench creates a database next to it)")
    db = f"{args.db_prefix}_{args.tasks}"
    url = db_url_for(args.database_url, db)
    media = tempfile.mkdtemp(prefix="bench-bulletin-media-")
    env = dict(
        os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="reform_ledger.settings.local", MEDIA_ROOT=media
    )
    if not (args.reuse and database_exists(args.database_url, db)):
        admin_sql(args.database_url, f"DROP DATABASE IF EXISTS {db}")
        admin_sql(args.database_url, f"CREATE DATABASE {db}")
        manage(env, "migrate", "--noinput")
        t0 = time.perf_counter()
        manage(
            env, "generate_scale_data", "--tasks", str(args.tasks), "--units", str(args.units),
            "--counties", str(args.counties), "--quarters", str(args.quarters), "--seed", "7",
        )  # fmt: skip
        print(f"built {args.tasks} tasks in {time.perf_counter() - t0:.0f} s")
        admin_sql(url, "VACUUM ANALYZE")
    else:
        manage(env, "migrate", "--noinput")
    os.environ.update(env)
    try:
        run(args)
    finally:
        if not (args.keep or args.reuse):
            from django.db import connections

            connections.close_all()
            admin_sql(args.database_url, f"DROP DATABASE IF EXISTS {db}")


def run(args) -> None:
    import django

    django.setup()
    from django.db import connection, transaction
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from departments.models import Role, Unit, User
    from reports.bulletin import (
        bulletin_context,
        bulletin_figures,
        bulletin_for,
        bulletin_issue,
        bulletin_render,
    )
    from reports.models import Notification
    from reports.rollups import period_default, rollup_caches_empty
    from tasks.lights import light_q
    from tasks.models import Light, Task
    from tasks.pace import Pace, pace_q
    from tasks.services import tasks_refresh_pace

    today = timezone.localdate()
    period = period_default(today=today)
    tasks = Task.objects.alive().order_by()
    n_tasks, n_units = tasks.count(), Unit.objects.filter(deleted_at__isnull=True).count()
    print(f"ledger: {n_tasks} tasks, {n_units} units, period {period.label} (id {period.pk}), today {today}")

    lights_s, _ = timed(
        lambda: tasks.aggregate(
            **{light.value: Count("id", filter=light_q(light, today=today)) for light in Light}
        ),
        repeat=7,
    )
    pace_s, counts = timed(
        lambda: tasks.aggregate(**{p: Count("id", filter=pace_q(p, today=today)) for p in Pace.ALL}), repeat=7
    )
    both_s, _ = timed(
        lambda: tasks.aggregate(
            **{light.value: Count("id", filter=light_q(light, today=today)) for light in Light},
            **{f"pace_{p}": Count("id", filter=pace_q(p, today=today)) for p in Pace.ALL},
        ),
        repeat=7,
    )
    print(
        f"\n序时进度 counts in SQL over {n_tasks} tasks: {pace_s * 1000:.1f} ms (lights alone {lights_s * 1000:.1f} ms,"
    )
    print(f"  lights + 序时进度 in the dashboard's one statement {both_s * 1000:.1f} ms)")
    print("  " + ", ".join(f"{Pace.LABELS[p]} {counts[p]}" for p in Pace.ALL))
    with transaction.atomic():
        Task.objects.update(pace_start=None)
        refresh_s, changed = timed(lambda: tasks_refresh_pace())
        transaction.set_rollback(True)
    print(f"stored 序时进度 dates of all {changed} tasks recomputed in Python: {refresh_s:.2f} s")

    rollup_caches_empty()
    cold_s, figures = timed(lambda: bulletin_figures(period=period, today=today))
    warm_s, _ = timed(lambda: bulletin_figures(period=period, today=today), repeat=3)
    bulletin = bulletin_for(period=period)
    ctx = bulletin_context(
        figures=figures, title=bulletin.title, issuer=bulletin.issuer, issued_on=today, number_text="第1期",
        requirements="一是……\n二是……",
    )  # fmt: skip
    render_s, content = timed(lambda: bulletin_render(context=ctx), repeat=3)
    print("\n通报 of", period.label)
    print(f"  figures, roll-up caches emptied (every unit computed): {cold_s:.2f} s")
    print(f"  figures, caches warm: {warm_s:.2f} s")
    print(
        f"  Word file (docxtpl): {render_s:.2f} s, {len(content) / 1024:.0f} KB; ranking {len(ctx['ranking'])} units, "
        f"{len(ctx['lagging_tasks'])} tasks listed, {figures['lagging_more']} more counted"
    )
    issuer = User(username="bench_bulletin_sec", role=Role.SECRETARIAT)
    with transaction.atomic():
        issuer.save()
        rollup_caches_empty()
        with CaptureQueriesContext(connection) as queries:
            issue_s, b = timed(lambda: bulletin_issue(period=period, actor=issuer))
        sent = Notification.objects.filter(kind="bulletin").count()
        transaction.set_rollback(True)
    os.remove(b.file.path)
    print(
        f"  bulletin --issue path with caches emptied: {issue_s:.2f} s ({len(queries)} SQL queries; "
        f"{b.number_label}, {sent} inbox messages) — target < 5 s: {'yes' if issue_s < 5 else 'NO'}"
    )
    r, t = figures["reports"], figures["tasks"]
    print(
        f"  reports due {r['due']}, on time {r['on_time']}, late {r['late']}, missing {r['missing']}; "
        f"tasks {t['total']}: " + ", ".join(f"{Pace.LABELS[p]} {t[p]}" for p in Pace.ALL)
    )


if __name__ == "__main__":
    main()
