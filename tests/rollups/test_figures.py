"""Each roll-up figure on the hand-built ledger of conftest.py, against numbers worked out by hand."""

import datetime as dt
import random
from decimal import Decimal

import pytest

from reports import dashboard as dash
from reports import rollups
from tasks.models import Target
from tests.factories import TargetFactory, TaskFactory
from tests.rollups.conftest import TODAY, assert_taskunit_dup

FIELDS = [
    "tasks",
    "led",
    "shared",
    "completed",
    "on_track",
    "due_soon",
    "overdue",
    "reports_due",
    "reports_on_time",
    "reports_late",
    "reports_missing",
    "targets_met",
    "targets_total",
]


def figures(rows, unit):
    row = next(r for r in rows if r.unit_id == unit.pk)
    return {f: getattr(row, f) for f in FIELDS}


def test_department_rollup_matches_the_figures_worked_out_by_hand(ledger, leader_user):
    assert_taskunit_dup(ledger)
    rows = rollups.rollup_by_department(period=ledger.q3, today=TODAY, user=leader_user).rows
    assert figures(rows, ledger.a) == dict(
        tasks=4,
        led=3,
        shared=1,
        completed=1,
        on_track=2,
        due_soon=1,
        overdue=1,
        reports_due=4,
        reports_on_time=1,
        reports_late=1,
        reports_missing=2,
        targets_met=3,
        targets_total=5,
    )
    assert figures(rows, ledger.b) == dict(
        tasks=3,
        led=1,
        shared=2,
        completed=1,
        on_track=1,
        due_soon=1,
        overdue=1,
        reports_due=3,
        reports_on_time=1,
        reports_late=0,
        reports_missing=2,
        targets_met=2,
        targets_total=4,
    )
    assert figures(rows, ledger.c) == dict(
        tasks=2,
        led=1,
        shared=1,
        completed=1,
        on_track=1,
        due_soon=0,
        overdue=0,
        reports_due=2,
        reports_on_time=1,
        reports_late=1,
        reports_missing=0,
        targets_met=1,
        targets_total=1,
    )
    assert {r.unit_id for r in rows}.isdisjoint({ledger.k1.pk, ledger.k2.pk})


def test_on_time_rate_is_on_time_over_due(ledger, leader_user):
    rows = rollups.rollup_by_department(period=ledger.q3, today=TODAY, user=leader_user).rows
    row = next(r for r in rows if r.unit_id == ledger.a.pk)
    assert row.on_time_rate == pytest.approx(0.25)
    assert row.normal == 1


def test_county_rollup_counts_county_governments_on_tasks_that_involve_counties(ledger, leader_user):
    rows = rollups.rollup_by_county(period=ledger.q3, today=TODAY, user=leader_user).rows
    assert figures(rows, ledger.k1) == dict(
        tasks=2,
        led=0,
        shared=0,
        completed=0,
        on_track=1,
        due_soon=0,
        overdue=1,
        reports_due=2,
        reports_on_time=1,
        reports_late=0,
        reports_missing=1,
        targets_met=1,
        targets_total=2,
    )
    assert figures(rows, ledger.k2) == dict(
        tasks=1,
        led=0,
        shared=0,
        completed=0,
        on_track=0,
        due_soon=0,
        overdue=1,
        reports_due=1,
        reports_on_time=0,
        reports_late=1,
        reports_missing=0,
        targets_met=1,
        targets_total=2,
    )
    assert {r.unit_id for r in rows} == {ledger.k1.pk, ledger.k2.pk}


def test_previous_period_uses_that_periods_reports(ledger, leader_user):
    rows = rollups.rollup_by_department(period=ledger.q2, today=TODAY, user=leader_user).rows
    a = figures(rows, ledger.a)
    assert (a["reports_due"], a["reports_on_time"], a["reports_late"], a["reports_missing"]) == (4, 1, 0, 3)
    # Targets due by the end of Q2 (2024-06-30): T1 ≥90 (met) and T2 ~100 (met).
    assert (a["targets_total"], a["targets_met"]) == (2, 2)


def test_total_row_adds_up_the_reporting_figures(ledger, leader_user):
    rollup = rollups.rollup_by_department(period=ledger.q3, today=TODAY, user=leader_user)
    assert (rollup.total.reports_due, rollup.total.reports_on_time, rollup.total.reports_late) == (9, 3, 2)
    assert rollup.total.reports_missing == 4


def test_plan_rollup_gives_completion_and_overdue_per_plan_and_area(ledger, leader_user):
    (plan,) = rollups.rollup_by_plan(period=ledger.q3, today=TODAY, user=leader_user)
    assert (plan.doc_number, plan.tasks, plan.completed, plan.overdue, plan.due_soon, plan.on_track) == (
        "测办〔2024〕1号",
        5,
        1,
        1,
        1,
        3,
    )
    assert (plan.targets_total, plan.targets_met) == (5, 3)
    areas = {
        a.area: (a.tasks, a.completed, a.overdue, a.due_soon, a.on_track, a.targets_total, a.targets_met)
        for a in plan.areas
    }
    assert areas == {"一": (2, 1, 1, 0, 0, 3, 2), "二": (2, 0, 0, 1, 2, 1, 0), "三": (1, 0, 0, 0, 1, 1, 1)}
    assert [a.area for a in plan.areas] == ["一", "二", "三"]
    assert plan.completion_rate == pytest.approx(0.2)


def test_trend_gives_each_quarters_reporting_figures(ledger, leader_user):
    q2, q3 = rollups.rollup_trend(period=ledger.q3, today=TODAY, user=leader_user)
    assert (q2.label, q3.label) == (ledger.q2.label, ledger.q3.label)
    assert (q2.reports_due, q2.reports_on_time, q2.reports_late, q2.reports_missing) == (12, 2, 1, 9)
    assert (q3.reports_due, q3.reports_on_time, q3.reports_late, q3.reports_missing) == (12, 4, 3, 5)
    assert (q2.tasks_reported_completed, q3.tasks_reported_completed) == (0, 1)
    assert (q2.tasks_due, q3.tasks_due) == (1, 4)
    assert (q2.targets_total, q2.targets_met, q3.targets_total, q3.targets_met) == (2, 2, 5, 3)
    assert q3.on_time_rate == pytest.approx(4 / 12)


def test_trend_stops_at_the_selected_quarter(ledger, leader_user):
    rows = rollups.rollup_trend(period=ledger.q2, today=TODAY, user=leader_user)
    assert [r.period_id for r in rows] == [ledger.q2.pk]


def test_dashboard_lists_overdue_and_due_soon_tasks_with_reasons(ledger, leader_user):
    d = dash.dashboard_overdue(today=TODAY, user=leader_user, period=ledger.q3)
    assert [t.id for t in d.overdue] == [ledger.t1.pk] and d.overdue_count == 1
    t = d.overdue[0]
    assert (t.lead_units, t.days, t.open_due) == (["市医疗保障局"], 72, dt.date(2024, 6, 30))
    assert "已过期 72 天" in t.light_reason and "完成县域医共体试点" in t.light_reason
    assert [t.id for t in d.due_soon] == [ledger.t3.pk] and d.due_soon[0].days == 20
    assert d.light_counts == {"overdue": 1, "due_soon": 1, "normal": 2, "done": 1}


def test_dashboard_ranks_units_by_overdue_count_then_on_time_rate(ledger, leader_user):
    d = dash.dashboard_overdue(today=TODAY, user=leader_user, period=ledger.q3)
    order = [u.unit_id for u in d.units]
    assert order == [ledger.k2.pk, ledger.a.pk, ledger.b.pk, ledger.k1.pk, ledger.c.pk]
    assert [u.overdue for u in d.units] == [1, 1, 1, 1, 0]


def test_dashboard_compares_on_time_rate_with_the_previous_period(ledger, leader_user):
    d = dash.dashboard_overdue(today=TODAY, user=leader_user, period=ledger.q3)
    assert d.previous == ledger.q2
    assert (d.reports_due, d.reports_on_time, d.reports_on_time_previous) == (12, 4, 2)
    assert d.on_time_rate == pytest.approx(4 / 12)
    assert d.on_time_rate_previous == pytest.approx(2 / 12)


def test_dashboard_lists_targets_at_risk_by_latest_value(ledger, leader_user):
    d = dash.dashboard_overdue(today=TODAY, user=leader_user, period=ledger.q3)
    assert [t.id for t in d.targets_at_risk] == [ledger.targets.t1_open.pk, ledger.targets.t3_open.pk]
    assert d.targets_at_risk_count == 2
    assert d.targets_at_risk[1].latest_value == Decimal(12) and d.targets_at_risk[1].days_left == 20


def test_reporter_sees_only_its_own_units_row(ledger, reporter):
    rows = rollups.rollup_by_department(period=ledger.q3, today=TODAY, user=reporter).rows
    assert [r.unit_id for r in rows] == [ledger.a.pk]
    assert rollups.rollup_by_county(period=ledger.q3, today=TODAY, user=reporter).rows == []
    d = dash.dashboard_overdue(today=TODAY, user=reporter, period=ledger.q3)
    assert [u.unit_id for u in d.units] == [ledger.a.pk]
    assert d.reports_due == 4 and d.reports_on_time == 1
    q2, q3 = rollups.rollup_trend(period=ledger.q3, today=TODAY, user=reporter)
    assert (q3.reports_due, q3.reports_on_time, q3.reports_late, q3.reports_missing) == (4, 1, 1, 2)


def test_county_reporter_sees_only_its_county(ledger, county_reporter):
    rows = rollups.rollup_by_county(period=ledger.q3, today=TODAY, user=county_reporter).rows
    assert [r.unit_id for r in rows] == [ledger.k1.pk]


def test_auditor_sees_no_rows(ledger, auditor):
    assert rollups.rollup_by_department(period=ledger.q3, today=TODAY, user=auditor).rows == []
    assert not rollups.can_view_rollups(auditor)


def test_period_defaults_to_the_open_period_and_refuses_unknown_ones(ledger):
    assert rollups.period_resolve(value="", today=TODAY) == ledger.q3
    assert rollups.period_resolve(value=str(ledger.q2.pk), today=TODAY) == ledger.q2
    from departments.services import ApplicationError

    with pytest.raises(ApplicationError, match="不存在"):
        rollups.period_resolve(value="999999", today=TODAY)
    with pytest.raises(ApplicationError, match="无效"):
        rollups.period_resolve(value="2024Q3", today=TODAY)


@pytest.mark.django_db
def test_sql_target_check_agrees_with_target_is_met_by():
    """The SQL twin of Target.is_met_by gives the same answer on random values for every comparison."""
    rng = random.Random(7)
    task = TaskFactory()
    made = []
    for i in range(160):
        op = rng.choice([o.value for o in Target.Op])
        value = Decimal(rng.randint(0, 20))
        t = TargetFactory(
            task=task,
            indicator=f"i{i}",
            op=op,
            value=value,
            value_high=value + rng.randint(0, 5) if op == "between" else None,
            baseline=Decimal(rng.randint(0, 5)) if op == "+=" and rng.random() < 0.7 else None,
            latest_value=None
            if rng.random() < 0.15
            else Decimal(rng.randint(0, 30)) / (2 if rng.random() < 0.3 else 1),
        )
        made.append(t)
    met_in_sql = set(Target.objects.filter(rollups.target_met_q()).values_list("pk", flat=True))
    met_in_python = {t.pk for t in made if t.is_met_by(t.latest_value)}
    assert met_in_sql == met_in_python
    assert 20 < len(met_in_sql) < 140
