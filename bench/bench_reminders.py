"""The daily reminder sweep on a province-size ledger (PostgreSQL).

    DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres .venv/bin/python bench/bench_reminders.py \
        [--tasks 20000] [--small 2000] [--units 300] [--counties 30] [--quarters 8]

Creates a throwaway database next to the one in DATABASE_URL (test_<name>, dropped at the end), fills it with
`generate_scale_data` at two sizes (same units, --small and --tasks tasks), adds one reporter account with an
email per unit, then runs the sweep (`reminders_send_due`) as the beat would on three days of the open period:
the 7-day reminder, the due day and an overdue day that escalates to the secretariat and leaders. For each it
prints the seconds, the SQL query count, reminders created, messages and deliveries, and then the same sweep
again (must create 0). Deliveries are left pending (in production each is a Celery job); the figure is the
sweep itself.

Targets: < 10 s per sweep at 20,000 tasks / 300 units / 30 counties, and the same query count at both sizes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reform_ledger.settings.test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

TODAY = dt.date(2024, 12, 10)  # the open period is 2024 Q4, due Fri 2024-12-20
TZ = ZoneInfo("Asia/Shanghai")


def add_reporters() -> int:
    from departments.models import Role, Unit, User

    have = set(User.objects.filter(role=Role.REPORTER).values_list("unit_id", flat=True))
    users = [
        User(
            username=f"bench_rep_{u.pk}", role=Role.REPORTER, unit=u, email=f"rep{u.pk}@bench.example.gov.cn"
        )
        for u in Unit.objects.exclude(pk__in=have)
    ]
    for user in users:
        user.set_unusable_password()
    User.objects.bulk_create(users, batch_size=1000)
    for role, name in ((Role.SECRETARIAT, "bench_sec"), (Role.LEADER, "bench_leader")):
        User.objects.get_or_create(
            username=name, defaults={"role": role, "email": f"{name}@bench.example.gov.cn"}
        )
    return len(users)


def reset_reminders():
    from reports.models import Delivery, Notification, Reminder

    Notification.objects.all().delete()
    Delivery.objects.all().delete()
    Reminder.objects.all().delete()


def sweep_days() -> list[tuple[str, dt.datetime]]:
    from reports.models import Period
    from reports.workdays import send_day

    due = Period.objects.get(is_open=True).due_date
    every = settings.REMINDER_OVERDUE_EVERY_DAYS
    days = [
        ("d7", send_day(due - dt.timedelta(days=7))),
        ("d0", send_day(due)),
        ("overdue3", send_day(due + dt.timedelta(days=3 * every), after=due)),
    ]
    return [(label, dt.datetime.combine(day, dt.time(8, 30), tzinfo=TZ)) for label, day in days]


def measure(now: dt.datetime) -> dict:
    from reports.models import Delivery
    from reports.reminders import reminders_send_due

    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        result = reminders_send_due(now=now, deliver="none")
        seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "queries": len(queries.captured_queries),
        "created": result.created,
        "messages": result.messages,
        "deliveries": Delivery.objects.count(),
    }


def run_size(n_tasks: int, args) -> list[dict]:
    from departments.models import User
    from reports.models import Report
    from tasks.models import Task, TaskUnit

    reset_reminders()
    User.objects.filter(username__startswith="bench_").delete()  # --reset keeps units that have accounts
    start = time.perf_counter()
    call_command(
        "generate_scale_data",
        tasks=n_tasks,
        units=args.units,
        counties=args.counties,
        quarters=args.quarters,
        today=TODAY,
        reset=True,
        verbosity=0,
    )
    add_reporters()
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE"
        )  # fresh bulk-loaded tables: give the planner the statistics autovacuum would
    print(
        f"\n== {n_tasks} tasks: {Task.objects.count()} tasks, {TaskUnit.objects.count()} task-unit rows, "
        f"{Report.objects.count()} reports (generated in {time.perf_counter() - start:.0f} s)"
    )
    rows = []
    for label, now in sweep_days():
        reset_reminders()
        first = measure(now)
        again = measure(now)
        rows.append({"tasks": n_tasks, "day": f"{label} {now:%Y-%m-%d}", **first, "again": again})
        print(
            f"  {label:9s} {now:%Y-%m-%d}: {first['seconds']:6.2f} s  {first['queries']:4d} queries  "
            f"created {first['created']:5d}  messages {first['messages']:4d}  deliveries {first['deliveries']:5d}   "
            f"| rerun: {again['seconds']:5.2f} s {again['queries']:4d} queries created {again['created']}"
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20000)
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--units", type=int, default=300)
    parser.add_argument("--counties", type=int, default=30)
    parser.add_argument("--quarters", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench_reminders needs PostgreSQL: set DATABASE_URL=postgres://…")
    old_name = connection.settings_dict["NAME"]
    test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    print(f"database {test_name} on {connection.settings_dict['HOST']}:{connection.settings_dict['PORT']}")
    try:
        rows = run_size(args.small, args) + run_size(args.tasks, args)
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(old_name, verbosity=0)
    print("\nsummary (target: < 10 s per sweep; queries the same at both sizes)")
    for day in dict.fromkeys(r["day"] for r in rows):
        small, big = [r for r in rows if r["day"] == day]
        print(
            f"  {day}: {args.small} tasks {small['seconds']:.2f} s / {small['queries']} queries; "
            f"{args.tasks} tasks {big['seconds']:.2f} s / {big['queries']} queries"
        )
    worst = max(r["seconds"] for r in rows)
    print(f"slowest sweep {worst:.2f} s: {'OK' if worst < 10 else 'OVER TARGET'}")


if __name__ == "__main__":
    main()
