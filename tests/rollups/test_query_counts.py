"""The dashboard and the roll-ups (selectors, pages and API) issue the same number of queries for 10 tasks and
for 200: no query per task, unit or report."""

import datetime as dt
import random
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from departments.models import Role, Unit, UnitKind
from reports import dashboard as dash
from reports import rollups
from reports.models import Period, Report, ReportStatus
from tasks.models import Document, Milestone, Progress, Target, Task, TaskUnit
from tests.factories import UserFactory

TODAY = dt.date(2024, 9, 10)


def build_ledger(n_tasks: int, *, seed: int = 1) -> None:
    """n tasks over 6 departments and 3 counties, with milestones, targets and reports in two quarters; every
    kind of row the pages show (overdue, due soon, targets at risk, late and missing reports) is present."""
    rng = random.Random(seed)
    depts = [Unit.objects.create(name=f"市规模局{i}") for i in range(6)]
    counties = [Unit.objects.create(name=f"规模{i}县政府", kind=UnitKind.COUNTY) for i in range(3)]
    doc = Document.objects.create(doc_number=f"规办〔2024〕{n_tasks}号", title="规模测试方案")
    q2 = Period.objects.create(year=2024, quarter=2, due_date=dt.date(2024, 6, 20))
    q3 = Period.objects.create(year=2024, quarter=3, due_date=dt.date(2024, 9, 20), is_open=True)
    tasks = []
    for i in range(n_tasks):
        kind = i % 4  # overdue, due soon, normal, completed
        due = [dt.date(2024, 5, 31), dt.date(2024, 9, 25), dt.date(2025, 6, 30), dt.date(2024, 3, 31)][kind]
        path = ["一二三"[i % 3], "(一)", str(i + 1)]
        tasks.append(
            Task(
                document=doc,
                path=path,
                path_key=".".join(path),
                sort_key=f"{i:06d}",
                title=f"任务{i}",
                status=Progress.COMPLETED if kind == 3 else Progress.IN_PROGRESS,
                open_due=None if kind == 3 else due,
                deadline=due,
            )
        )
    Task.objects.bulk_create(tasks)
    Milestone.objects.bulk_create([Milestone(task=t, date=t.deadline, text="节点") for t in tasks])
    Target.objects.bulk_create(
        [
            Target(
                task=t,
                indicator="指标",
                op=">=",
                value=Decimal(90),
                due=t.deadline,
                latest_value=Decimal(rng.choice([80, 95])),
            )
            for t in tasks
        ]
    )
    units, reports = [], []
    for i, t in enumerate(tasks):
        carried = [(depts[i % 6], TaskUnit.Role.LEAD), (depts[(i + 1) % 6], TaskUnit.Role.RESPONSIBLE)]
        if i % 5 == 0:
            carried.append((depts[i % 6], TaskUnit.Role.RESPONSIBLE))  # the same unit in two roles
        if i % 3 == 0:
            carried += [(c, TaskUnit.Role.COUNTY) for c in counties]
        units += [TaskUnit(task=t, unit=u, role=r) for u, r in carried]
        for u in {u for u, _ in carried}:
            for period in (q2, q3):
                status = rng.choice([ReportStatus.SUBMITTED, ReportStatus.ACCEPTED, ReportStatus.DRAFT, None])
                if status:
                    reports.append(
                        Report(task=t, unit=u, period=period, status=status, is_late=rng.random() < 0.3)
                    )
    TaskUnit.objects.bulk_create(units)
    Report.objects.bulk_create(reports)


def count_queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        result = fn()
    status = getattr(result, "status_code", 200)
    assert status == 200, (status, getattr(result, "content", b"")[:300])
    return len(ctx.captured_queries)


def measure(user_role: str, n_tasks: int) -> dict[str, int]:
    build_ledger(n_tasks)
    period = Period.objects.get(year=2024, quarter=3)
    if user_role == Role.REPORTER:
        user = UserFactory(
            username=f"rep{n_tasks}", role=Role.REPORTER, unit=Unit.objects.get(name="市规模局0")
        )
    else:
        user = UserFactory(username=f"lead{n_tasks}", role=user_role)
    from django.test import Client
    from rest_framework.test import APIClient

    page, api = Client(), APIClient()
    page.force_login(user)
    api.force_authenticate(user)
    counts = {
        "department rollup": count_queries(
            lambda: rollups.rollup_by_department(period=period, today=TODAY, user=user)
        ),
        "department rollup, cached": count_queries(
            lambda: rollups.rollup_by_department(period=period, today=TODAY, user=user)
        ),
        "county rollup": count_queries(
            lambda: rollups.rollup_by_county(period=period, today=TODAY, user=user)
        ),
        "plan rollup": count_queries(lambda: rollups.rollup_by_plan(period=period, today=TODAY, user=user)),
        "trend": count_queries(lambda: rollups.rollup_trend(period=period, today=TODAY, user=user)),
        "dashboard": count_queries(lambda: dash.dashboard_overdue(today=TODAY, user=user, period=period)),
        "dashboard, cached": count_queries(
            lambda: dash.dashboard_overdue(today=TODAY, user=user, period=period)
        ),
    }
    with time_machine.travel("2024-09-10 10:00 +08:00", tick=False):
        for name in ("dashboard", "rollup-departments", "rollup-counties", "rollup-plans", "rollup-trend"):
            url = reverse(f"reports:{name}")
            counts[f"page {name}"] = count_queries(lambda url=url: page.get(url))
            counts[f"xlsx {name}"] = count_queries(lambda url=url: page.get(url, {"format": "xlsx"}))
        for url in ("/api/rollups/departments/", "/api/rollups/counties/", "/api/dashboard/overdue/"):
            counts[url] = count_queries(lambda url=url: api.get(url, {"page_size": 500}))
    return counts


@pytest.mark.parametrize("role", [Role.LEADER, Role.REPORTER])
def test_rollups_and_dashboard_issue_the_same_number_of_queries_for_10_and_200_tasks(db, role):
    small = _in_savepoint(role, 10)
    large = _in_savepoint(role, 200)
    assert small == large
    assert max(small.values()) <= 30  # and the constant is small
    # First read: units, cached rows (with the current revisions), then for the stale units their revisions,
    # repeated unit rows, task and report figures, target figures and the upsert. Next read: units, cached rows.
    assert small["department rollup"] == 7
    assert small["department rollup, cached"] == 2
    # The dashboard, once computed: the previous period (the page passes it), and the cached row.
    assert small["dashboard, cached"] == 2 < small["dashboard"]


def _in_savepoint(role, n):
    """Each size in its own rolled-back savepoint, so the two ledgers do not mix."""
    from django.db import transaction

    try:
        with transaction.atomic():
            raise _Rollback(measure(role, n))
    except _Rollback as done:
        return done.counts


class _Rollback(Exception):
    def __init__(self, counts):
        super().__init__("rollback")
        self.counts = counts
