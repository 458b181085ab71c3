import datetime as dt

import pytest

from reports.models import Reminder
from reports.reminders import reminders_send_due
from tasks.models import Progress
from tests.factories import MilestoneFactory, TargetFactory, TaskFactory

from .conftest import at

pytestmark = pytest.mark.django_db


def sweep(day):
    return reminders_send_due(now=at(day), deliver="sync")


@pytest.fixture
def task(db, unit_a, unit_b, county, reporter):
    """unit_a leads; the deadline 2024-12-31 (Tue) has a milestone and a target."""
    task = TaskFactory(
        path=["三", "(二)", "4"],
        title="县域医共体建设",
        lead=[unit_a],
        responsible=[unit_b],
        counties=[county],
    )
    MilestoneFactory(task=task, date=dt.date(2024, 12, 31), text="2024年底前")
    TargetFactory(task=task, indicator="县域就诊率", op=">=", value=90, unit="%", due=dt.date(2024, 12, 31))
    return task


def task_reminders():
    return list(Reminder.objects.filter(kind__startswith="task").values_list("unit__name", "kind", "stage"))


def test_thirty_days_before_a_deadline_on_a_sunday_the_lead_unit_is_reminded_the_friday_before(task, unit_a):
    # 2024-12-31 minus 30 days is Sun 12-01: sent Fri 11-29, only to the lead unit.
    assert sweep("2024-12-01").created == 0
    sweep("2024-11-29")
    assert task_reminders() == [(unit_a.name, "task_before", "2024-12-31:d30")]
    message = Reminder.objects.get(kind="task_before").message
    assert "三.(二).4" in message and "节点“2024年底前”" in message and "县域就诊率≥90%" in message
    assert "还有 32 天" in message


def test_seven_days_before_the_deadline(task, unit_a):
    sweep("2024-12-24")
    assert task_reminders() == [(unit_a.name, "task_before", "2024-12-31:d7")]


def test_a_passed_deadline_is_reminded_on_the_first_workday_after_new_year(task, unit_a):
    # The day after (2025-01-01) is a holiday and the workday before it is the deadline itself: Jan 2.
    assert sweep("2024-12-31").created == 0
    sweep("2025-01-02")
    assert task_reminders() == [(unit_a.name, "task_overdue", "2024-12-31:passed")]
    assert "已于 2024-12-31 到期，任务尚未完成" in Reminder.objects.get().message


def test_a_completed_task_and_a_done_milestone_get_no_deadline_reminder(task):
    task.status = Progress.COMPLETED
    task.save()
    assert sweep("2024-12-24").created == 0
    other = TaskFactory(lead=[task.task_units.first().unit])
    MilestoneFactory(task=other, date=dt.date(2024, 12, 31), done=True)
    assert sweep("2024-12-24").created == 0


def test_a_unit_gets_one_message_for_its_period_and_all_its_task_deadlines(db, unit_a, reporter, period):
    # 2024-09-13: the period's d7, and d30 for two tasks due Sun 10-13 (nominal 09-13).
    for i in range(2):
        t = TaskFactory(title=f"节点任务{i}", lead=[unit_a])
        MilestoneFactory(task=t, date=dt.date(2024, 10, 13), text=f"节点{i}")
    result = sweep("2024-09-13")
    assert result.created == 3 and result.messages == 1
    notes = list(reporter.notifications.all())
    assert len(notes) == 1
    assert notes[0].message.startswith("贵单位有 3 项事项需要处理")
    assert (
        "2024年第三季度" in notes[0].message and "节点0" in notes[0].message and "节点1" in notes[0].message
    )
    assert Reminder.objects.filter(dispatched_at__isnull=True).count() == 0
