"""序时进度 in the ledger: stored dates kept by the services, SQL counts equal to the Python rule, the API fields,
the yellow light of a 欠进度 task, and the counts per unit and on the dashboard."""

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from departments.models import Role
from reports.dashboard import dashboard_overdue
from reports.models import Period, Report
from reports.rollups import rollup_by_department, rollup_by_plan
from reports.services import report_get_or_create_for, report_save_draft, report_submit
from tasks.lights import annotate_light, task_light
from tasks.models import Light, Progress, Task
from tasks.pace import Pace, annotate_pace, task_pace
from tasks.services import task_refresh_schedule, tasks_refresh_pace
from tests.factories import (
    DocumentFactory,
    MilestoneFactory,
    PeriodFactory,
    TargetFactory,
    TaskFactory,
    UserFactory,
)

TODAY = dt.date(2026, 7, 2)  # half of 2026 has passed


@pytest.fixture
def plan(db, unit_a):
    doc = DocumentFactory(doc_number="测办〔2026〕1号", issued_on=dt.date(2026, 1, 1))
    behind = TaskFactory(document=doc, path=["一", "1"], lead=[unit_a], status=Progress.IN_PROGRESS)
    MilestoneFactory(task=behind, date=dt.date(2026, 12, 31), text="2026年底前")
    TargetFactory(task=behind, indicator="县域就诊率", value=Decimal(90), baseline=Decimal(70), due=dt.date(2026, 12, 31),
                  latest_value=Decimal(75), latest_period_end=dt.date(2026, 6, 30))  # fmt: skip
    ahead = TaskFactory(document=doc, path=["一", "2"], lead=[unit_a], status=Progress.IN_PROGRESS)
    TargetFactory(task=ahead, indicator="签约率", value=Decimal(80), baseline=Decimal(40), due=dt.date(2026, 12, 31),
                  latest_value=Decimal(75))  # fmt: skip
    on_pace = TaskFactory(document=doc, path=["一", "3"], lead=[unit_a], status=Progress.IN_PROGRESS)
    MilestoneFactory(task=on_pace, date=dt.date(2027, 6, 30), text="2027年6月底前")
    unknown = TaskFactory(document=doc, path=["一", "4"], lead=[unit_a], status=Progress.NOT_STARTED)
    MilestoneFactory(task=unknown, date=dt.date(2027, 6, 30))
    done = TaskFactory(document=doc, path=["一", "5"], lead=[unit_a], status=Progress.COMPLETED)
    later_doc = DocumentFactory(doc_number="测办〔2027〕1号", issued_on=dt.date(2027, 1, 1))
    not_started = TaskFactory(
        document=later_doc, path=["一", "1"], lead=[unit_a], status=Progress.NOT_STARTED
    )
    MilestoneFactory(task=not_started, date=dt.date(2027, 12, 31))
    tasks = dict(
        behind=behind, ahead=ahead, on_pace=on_pace, unknown=unknown, done=done, not_started=not_started
    )
    for t in tasks.values():
        task_refresh_schedule(task=t)
    PeriodFactory(year=2026, quarter=3, is_open=True)
    return {k: Task.objects.get(pk=t.pk) for k, t in tasks.items()}


EXPECTED = dict(
    behind=Pace.BEHIND, ahead=Pace.AHEAD, on_pace=Pace.ON_PACE, unknown=Pace.UNKNOWN, done=Pace.COMPLETED,
    not_started=Pace.NOT_STARTED,
)  # fmt: skip


def test_each_task_gets_its_class_in_python_and_in_sql(plan):
    sql = dict(annotate_pace(Task.objects.all(), today=TODAY).values_list("pk", "pace"))
    for name, task in plan.items():
        assert task_pace(task, today=TODAY).pace == EXPECTED[name], name
        assert sql[task.pk] == EXPECTED[name], name


def test_a_behind_task_lights_yellow_before_its_deadline_and_says_why(plan):
    task = plan["behind"]
    info = task_light(task, today=TODAY)
    assert info.light == Light.DUE_SOON
    assert info.reason.startswith("欠进度：县域就诊率 应达 80%，最新填报 75%（2026年第二季度）")
    lights = dict(annotate_light(Task.objects.all(), today=TODAY).values_list("pk", "light"))
    assert lights[task.pk] == Light.DUE_SOON
    assert lights[plan["on_pace"].pk] == Light.NORMAL


def test_api_gives_pace_reason_expected_now_and_latest(plan, leader, api_as, time_machine):
    time_machine.move_to(dt.datetime(2026, 7, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))), tick=False)
    body = api_as(leader).get(f"/api/tasks/{plan['behind'].pk}/").json()
    assert body["pace"] == "behind"
    assert body["pace_reason"].startswith("县域就诊率 应达 80%，最新填报 75%")
    (target,) = body["targets"]
    assert (target["expected_now"], target["latest"]) == (80, 75)
    body = api_as(leader).get(f"/api/tasks/{plan['on_pace'].pk}/").json()
    assert (body["pace"], body["pace_reason"]) == ("on_pace", "牵头单位填报“推进中”（序时推进）")


def test_unit_plan_and_dashboard_count_each_class(plan, unit_a, leader):
    period = Period.objects.get()
    row = next(
        r
        for r in rollup_by_department(period=period, today=TODAY, user=leader).rows
        if r.unit_id == unit_a.pk
    )
    assert (
        row.completed,
        row.pace_ahead,
        row.pace_on_pace,
        row.pace_behind,
        row.pace_not_started,
        row.pace_unknown,
    ) == (1, 1, 1, 1, 1, 1)
    plans = {p.doc_number: p for p in rollup_by_plan(period=period, today=TODAY, user=leader)}
    assert (plans["测办〔2026〕1号"].pace_behind, plans["测办〔2027〕1号"].pace_not_started) == (1, 1)
    dash = dashboard_overdue(today=TODAY, user=leader, period=period)
    assert dash.pace_counts == {p: 1 for p in Pace.ALL}
    assert next(u for u in dash.units if u.unit_id == unit_a.pk).behind == 1


def test_the_dashboard_cache_follows_a_new_percent(plan, unit_a, leader, reporter, time_machine):
    time_machine.move_to(dt.datetime(2026, 7, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))), tick=False)
    period = Period.objects.get()
    assert dashboard_overdue(today=TODAY, user=leader, period=period).pace_counts[Pace.ON_PACE] == 1
    report, _ = report_get_or_create_for(task=plan["on_pace"], unit=unit_a, period=period, actor=reporter)
    report = report_save_draft(
        report=report,
        data={"progress": Progress.IN_PROGRESS, "percent": 5, "text": "推进中"},
        version=None,
        actor=reporter,
    )
    report_submit(report=report, actor=reporter)
    task = Task.objects.get(pk=plan["on_pace"].pk)
    assert (task.reported_percent, task.reported_period_end) == (5, dt.date(2026, 9, 30))
    # 5 % done with 33 % of 2026-01-01..2027-06-30 gone: 欠进度, and the cached dashboard knows it
    assert task_pace(task, today=TODAY).pace == Pace.BEHIND
    counts = dashboard_overdue(today=TODAY, user=leader, period=period).pace_counts
    assert (counts[Pace.ON_PACE], counts[Pace.BEHIND]) == (0, 2)


def test_bulk_refresh_gives_the_same_dates_as_the_one_task_refresh(db, unit_a):
    rng = random.Random(7)
    doc = DocumentFactory(issued_on=dt.date(2025, 3, 1))
    for _task in range(40):
        t = TaskFactory(document=doc, lead=[unit_a], status=rng.choice(list(Progress.values)))
        for _ in range(rng.randint(0, 2)):
            MilestoneFactory(
                task=t,
                date=dt.date(2025, 1, 1) + dt.timedelta(days=rng.randint(0, 900)),
                done=rng.random() < 0.3,
            )
        if rng.random() < 0.6:
            value = Decimal(rng.choice([60, 80, 90]))
            TargetFactory(task=t, op=rng.choice([">=", "<=", "~", "+="]), value=value,
                          baseline=None if rng.random() < 0.3 else value - rng.randint(-20, 30),
                          due=dt.date(2025, 6, 1) + dt.timedelta(days=rng.randint(0, 700)),
                          latest_value=None if rng.random() < 0.3 else value + rng.randint(-25, 10))  # fmt: skip
        Task.objects.filter(pk=t.pk).update(reported_percent=rng.choice([None, 0, 30, 70, 100]))
    assert tasks_refresh_pace() == 40
    fields = ("deadline", "pace_fixed", "pace_start", "pace_behind_on", "pace_ahead_until", "pace_measured")
    bulk = {t["id"]: t for t in Task.objects.values("id", *fields)}
    for t in Task.objects.all():
        task_refresh_schedule(task=t)
    single = {t["id"]: t for t in Task.objects.values("id", *fields)}
    assert bulk == single
    assert tasks_refresh_pace() == 0
    # and SQL agrees with the rule on any day
    for day in (dt.date(2025, 2, 1), dt.date(2025, 9, 1), dt.date(2026, 5, 1), dt.date(2028, 1, 1)):
        sql = dict(annotate_pace(Task.objects.all(), today=day).values_list("pk", "pace"))
        for t in Task.objects.prefetch_related("milestones", "targets"):
            assert sql[t.pk] == task_pace(t, today=day).pace, (t.pk, day)


def test_a_plan_without_an_issue_date_starts_at_its_first_period(db, unit_a):
    doc = DocumentFactory(issued_on=None)
    Period.objects.create(year=2025, quarter=2, due_date=dt.date(2025, 6, 20), document=doc)
    t = TaskFactory(document=doc, lead=[unit_a])
    MilestoneFactory(task=t, date=dt.date(2026, 6, 30))
    task_refresh_schedule(task=t)
    assert Task.objects.get(pk=t.pk).pace_start == dt.date(2025, 4, 1)
    other = TaskFactory(document=DocumentFactory(issued_on=None), lead=[unit_a])
    MilestoneFactory(task=other, date=dt.date(2026, 6, 30))
    task_refresh_schedule(task=other)
    assert Task.objects.get(pk=other.pk).pace_start == timezone.localdate(other.created_at)


@pytest.fixture
def leader(db):
    return UserFactory(username="leader_pace", role=Role.LEADER)


def test_task_page_shows_pace_and_the_chart_loads_the_quarterly_trajectory(
    plan, unit_a, leader, outsider, client_as, time_machine
):
    time_machine.move_to(
        dt.datetime(2026, 10, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))), tick=False
    )
    from reports.models import TargetValue

    task = plan["behind"]
    q2 = PeriodFactory(year=2026, quarter=2, is_open=False)
    q3 = Period.objects.get(year=2026, quarter=3)
    target = task.targets.get()
    for period, percent, value in ((q2, 30, "74"), (q3, 45, "79")):
        r = Report.objects.create(task=task, unit=unit_a, period=period, status="submitted", percent=percent,
                                  submitted_at=timezone.now(), text="x")  # fmt: skip
        TargetValue.objects.create(report=r, target=target, value=Decimal(value))
    c = client_as(leader)
    html = c.get(reverse("tasks:detail", args=[task.pk])).content.decode()
    assert 'data-testid="task-pace"' in html and "欠进度" in html
    assert (
        "县域就诊率 应达 85.05%，最新填报 75%" in html
    )  # 70 → 90 over 2026; 2026-10-02 is 274/364 of the way
    data = c.get(reverse("reports:task-trajectory", args=[task.pk])).json()
    # every quarter of the plan's time, also Q1 and Q4 that have no reporting period here
    assert data["periods"] == ["2026年第一季度", "2026年第二季度", "2026年第三季度", "2026年第四季度（年度）"]
    assert data["percent"]["reported"] == [None, 30, 45, None]
    assert data["percent"]["expected"] == [24.45, 49.45, 74.73, 100]  # 89, 180, 272 of 364 days
    (t,) = data["targets"]
    assert t["reported"] == [None, 74, 79, None]
    assert t["expected"] == [74.89, 79.89, 84.95, 90]
    assert client_as(outsider).get(reverse("reports:task-trajectory", args=[task.pk])).status_code == 404


def test_ledger_filters_by_pace_and_refuses_an_unknown_class(plan, leader, client_as, api_as, time_machine):
    time_machine.move_to(dt.datetime(2026, 7, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))), tick=False)
    html = client_as(leader).get(reverse("tasks:list"), {"pace": "behind"}).content.decode()
    assert plan["behind"].title in html and plan["ahead"].title not in html
    assert '<option value="behind" selected>' in html
    body = api_as(leader).get("/api/tasks/", {"pace": "ahead"}).json()
    assert [t["id"] for t in body["results"]] == [plan["ahead"].pk]
    r = api_as(leader).get("/api/tasks/", {"pace": "slow"})
    assert r.status_code == 400 and "序时进度" in r.json()["detail"]


def test_a_behind_task_without_an_open_dated_item_lists_last_among_the_yellow_ones(plan, unit_a, leader):
    # 滞后 reported, its only milestone already done: 欠进度 and yellow, but no open date to sort by
    doc = plan["behind"].document
    lagging = TaskFactory(document=doc, path=["二", "1"], lead=[unit_a], status=Progress.LAGGING)
    MilestoneFactory(task=lagging, date=dt.date(2026, 12, 31), done=True)
    soon = TaskFactory(document=doc, path=["二", "2"], lead=[unit_a], status=Progress.IN_PROGRESS)
    MilestoneFactory(task=soon, date=dt.date(2026, 7, 20))
    for t in (lagging, soon):
        task_refresh_schedule(task=t)
    assert Task.objects.get(pk=lagging.pk).open_due is None
    d = dashboard_overdue(today=TODAY, user=leader, period=Period.objects.get())
    ids = [t.id for t in d.due_soon]
    assert ids[0] == soon.pk and ids[-1] == lagging.pk
    assert d.due_soon[-1].light_reason.startswith("欠进度：牵头单位填报“滞后”")
