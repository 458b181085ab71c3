"""The revision triggers come from one definition (reports.invalidation.RULES) on either database, and are what
the database has after migrate."""

from types import SimpleNamespace

import pytest
from django.db import connection
from django.db.models import Sum

from reports import invalidation
from reports.models import PlanRevision, Report, UnitPeriodRevision, UnitRevision
from tasks.models import Milestone, Target, TaskUnit
from tests.factories import (
    DocumentFactory,
    MilestoneFactory,
    PeriodFactory,
    TargetFactory,
    TaskFactory,
    UnitFactory,
)

# `sqlite`: scripts/test.sh runs these again on SQLite, whose trigger dialect the embedded default uses
pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def installed() -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE 'reports\\_fig\\_%'"
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'reports_fig_%'"
            )
        return {name for (name,) in cursor.fetchall()}


def revs() -> dict[int, int]:
    return dict(UnitRevision.objects.values_list("unit_id", "rev"))


def test_the_database_has_exactly_one_trigger_per_rule_and_event():
    expected = {name for name, _event, _rule in invalidation._triggers()}
    assert installed() == expected
    assert invalidation.triggers_install()  # again: replaced, not doubled
    assert installed() == expected


def test_both_dialects_cover_the_same_tables_and_events():
    pg = [s for s in invalidation.postgresql_statements() if s.startswith("CREATE TRIGGER")]
    sqlite = invalidation.sqlite_statements()
    assert len(pg) == len(sqlite) == sum(len(r.events) for r in invalidation.RULES)
    assert [s.split()[2] for s in pg] == [s.split()[2] for s in sqlite]


def test_a_task_change_bumps_its_units_only_when_a_watched_column_changes():
    unit = UnitFactory()
    task = TaskFactory(lead=[unit])
    before = revs()
    task.note = "备注改了"  # not shown on the dashboard nor counted in a figure
    task.save(update_fields=["note"])
    assert revs() == before
    task.title = "新的标题"
    task.save(update_fields=["title"])
    assert revs()[unit.pk] == before[unit.pk] + 1


def test_a_renamed_document_bumps_the_units_of_its_tasks_and_unit_zero_for_tasks_without_units():
    unit, other = UnitFactory(), UnitFactory()
    document = DocumentFactory()
    TaskFactory(document=document, lead=[unit])
    TaskFactory(document=document)  # no unit yet
    before = revs()
    document.title = "另一个标题"
    document.save(update_fields=["title"])
    after = revs()
    assert after[unit.pk] > before[unit.pk]
    assert after[0] > before.get(0, 0)
    assert after.get(other.pk) == before.get(other.pk)


def test_after_migrating_back_below_the_revision_table_no_trigger_is_left():
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE reports_unitrevision RENAME TO reports_unitrevision_away")
    try:
        assert not invalidation.triggers_install()
        assert installed() == set()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE reports_unitrevision_away RENAME TO reports_unitrevision")
        invalidation.triggers_install()


def task_revs() -> dict[int, int]:
    return dict(UnitRevision.objects.values_list("unit_id", "task_rev"))


def test_a_report_raises_the_units_revision_but_not_the_tasks_side():
    """The dashboard keeps its tasks' part while only reports change (reports.dashboard.dashboard_overdue)."""
    unit = UnitFactory()
    task = TaskFactory(lead=[unit])
    before, before_tasks = revs(), task_revs()
    Report.objects.bulk_create([Report(task=task, unit=unit, period=PeriodFactory(), text="本期进展")])
    assert revs()[unit.pk] == before[unit.pk] + 1
    assert task_revs()[unit.pk] == before_tasks[unit.pk]


def test_a_reported_percent_raises_both_revisions_of_every_unit_of_the_task():
    """What a report changes on its task (序时进度) reaches every unit carrying the task, on both counters."""
    lead, partner, bystander = UnitFactory(), UnitFactory(), UnitFactory()
    task = TaskFactory(lead=[lead], responsible=[partner])
    TaskFactory(lead=[bystander])
    before, before_tasks = revs(), task_revs()
    type(task).objects.filter(pk=task.pk).update(reported_percent=60)
    after, after_tasks = revs(), task_revs()
    for unit in (lead, partner):
        assert after[unit.pk] == before[unit.pk] + 1
        assert after_tasks[unit.pk] == before_tasks[unit.pk] + 1
    assert after[bystander.pk] == before[bystander.pk]


# --- plan revisions: what the dashboard keeps per plan -------------------------------------------------------


def plan_sums() -> dict[int, int]:
    return dict(
        PlanRevision.objects.values("document_id").annotate(s=Sum("rev")).values_list("document_id", "s")
    )


@pytest.fixture
def two_plans():
    unit, other = UnitFactory(), UnitFactory()
    first, second = DocumentFactory(), DocumentFactory()
    task = TaskFactory(document=first, lead=[unit])
    bystander = TaskFactory(document=second, lead=[other])
    return SimpleNamespace(
        unit=unit,
        other=other,
        first=first,
        second=second,
        task=task,
        bystander=bystander,
        milestone=MilestoneFactory(task=task),
        target=TargetFactory(task=task),
    )


def _retitled(p):
    type(p.task).objects.filter(pk=p.task.pk).update(title="改过的标题")


def _deleted(p):
    Report.objects.filter(task=p.task).delete()
    Milestone.objects.filter(task=p.task).delete()
    Target.objects.filter(task=p.task).delete()
    TaskUnit.objects.filter(task=p.task).delete()
    type(p.task).objects.filter(pk=p.task.pk).delete()


def _milestone_done(p):
    type(p.milestone).objects.filter(pk=p.milestone.pk).update(done=True)


def _target_value(p):
    type(p.target).objects.filter(pk=p.target.pk).update(latest_value=1)


def _unit_joins(p):
    TaskUnit.objects.create(task=p.task, unit=p.other, role=TaskUnit.Role.RESPONSIBLE)


def _unit_leaves(p):
    TaskUnit.objects.filter(task=p.task, unit=p.unit).delete()


def _unit_renamed(p):
    type(p.unit).objects.filter(pk=p.unit.pk).update(name="改名后的单位")


def _plan_renamed(p):
    type(p.first).objects.filter(pk=p.first.pk).update(title="改名后的方案")


PLAN_CHANGES = {
    "a task retitled": _retitled,
    "a task deleted": _deleted,
    "a milestone done": _milestone_done,
    "a target's value": _target_value,
    "a unit joins the task": _unit_joins,
    "a unit leaves the task": _unit_leaves,
    "a unit renamed": _unit_renamed,
    "the plan renamed": _plan_renamed,
}


@pytest.mark.parametrize("change", list(PLAN_CHANGES))
def test_a_change_of_a_plans_tasks_raises_that_plan_only(two_plans, change):
    before = plan_sums()
    PLAN_CHANGES[change](two_plans)
    after = plan_sums()
    assert after[two_plans.first.pk] > before.get(two_plans.first.pk, 0)
    assert after.get(two_plans.second.pk) == before.get(two_plans.second.pk)


def test_a_task_moved_to_another_plan_raises_both(two_plans):
    before = plan_sums()
    type(two_plans.task).objects.filter(pk=two_plans.task.pk).update(document=two_plans.second)
    after = plan_sums()
    assert after[two_plans.first.pk] > before[two_plans.first.pk]
    assert after[two_plans.second.pk] > before[two_plans.second.pk]


def test_a_report_raises_no_plan(two_plans):
    before = plan_sums()
    Report.objects.bulk_create(
        [Report(task=two_plans.task, unit=two_plans.unit, period=PeriodFactory(), text="本期进展")]
    )
    assert plan_sums() == before


def test_a_report_raises_its_units_counter_of_its_period_only(two_plans):
    def counters():
        return {
            (u, p): r for u, p, r in UnitPeriodRevision.objects.values_list("unit_id", "period_id", "rev")
        }

    q2, q3 = PeriodFactory(year=2030, quarter=2), PeriodFactory(year=2030, quarter=3)
    Report.objects.bulk_create(
        [Report(task=two_plans.task, unit=two_plans.unit, period=q, text="本期进展") for q in (q2, q3)]
    )
    before = counters()
    Report.objects.filter(period=q3).update(text="改过的进展")
    after = counters()
    assert after[(two_plans.unit.pk, q3.pk)] > before[(two_plans.unit.pk, q3.pk)]
    assert after[(two_plans.unit.pk, q2.pk)] == before[(two_plans.unit.pk, q2.pk)]
    type(two_plans.task).objects.filter(pk=two_plans.task.pk).update(title="任务改了")
    assert counters() == after  # the tasks' side is `task_rev`'s
