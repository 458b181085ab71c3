import datetime as dt
from decimal import Decimal

import pytest

from tasks.lights import task_light
from tasks.models import Light, Progress, Task
from tasks.selectors import tasks_filter, tasks_sorted, tasks_visible_to
from tasks.services import task_refresh_schedule
from tests.factories import MilestoneFactory, TargetFactory, TaskFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2024, 6, 1)


def _light(task, today=TODAY):
    task = Task.objects.prefetch_related("milestones", "targets").get(pk=task.pk)
    return task_light(task, today=today)


def test_past_target_not_met_is_red_and_names_target_and_latest_value():
    task = TaskFactory()
    TargetFactory(
        task=task,
        indicator="县域就诊率",
        op=">=",
        value=Decimal("90"),
        unit="%",
        due=dt.date(2022, 12, 31),
        latest_value=Decimal("86"),
    )
    info = _light(task, today=dt.date(2023, 1, 10))
    assert info.light == Light.OVERDUE
    assert info.label == "超期"
    assert info.reason == "2022-12-31 的目标“县域就诊率≥90%”已过期 10 天，最新值 86%"


def test_deadline_within_thirty_days_is_yellow():
    task = TaskFactory()
    MilestoneFactory(task=task, date=TODAY + dt.timedelta(days=30), text="6月底", context="")
    info = _light(task)
    assert info.light == Light.DUE_SOON
    assert "还有 30 天到期" in info.reason and "6月底" in info.reason


def test_deadline_today_is_yellow_and_says_today():
    task = TaskFactory()
    MilestoneFactory(task=task, date=TODAY, text="今天")
    info = _light(task)
    assert info.light == Light.DUE_SOON and "今天到期" in info.reason


def test_deadline_further_away_is_green_and_names_next_deadline():
    task = TaskFactory()
    MilestoneFactory(task=task, date=TODAY + dt.timedelta(days=31), text="7月初")
    info = _light(task)
    assert info.light == Light.NORMAL
    assert info.reason.startswith("下一节点 2024-07-02 ")


def test_task_without_dates_is_green_and_says_so():
    info = _light(TaskFactory())
    assert info.light == Light.NORMAL and info.reason == "没有带日期的未完成节点"


def test_completed_task_is_done_even_with_past_deadlines():
    task = TaskFactory(status=Progress.COMPLETED)
    MilestoneFactory(task=task, date=dt.date(2020, 1, 1))
    info = _light(task)
    assert info.light == Light.DONE and info.reason == "任务已完成"


def test_a_met_target_no_longer_makes_the_task_red():
    task = TaskFactory()
    TargetFactory(
        task=task, op=">=", value=Decimal("90"), due=dt.date(2024, 1, 1), latest_value=Decimal("91")
    )
    assert _light(task).light == Light.NORMAL


def test_earliest_open_item_decides_the_light():
    task = TaskFactory()
    MilestoneFactory(task=task, date=dt.date(2025, 12, 31), text="2025年底")
    MilestoneFactory(task=task, date=dt.date(2024, 5, 1), text="2024年4月", context="出台方案")
    info = _light(task)
    assert info.light == Light.OVERDUE and "2024-05-01" in info.reason and "出台方案" in info.reason


def test_light_filter_in_sql_agrees_with_light_computed_in_python(ledger, secretariat):
    for t in Task.objects.all():
        task_refresh_schedule(task=t)
    qs = tasks_visible_to(user=secretariat)
    for light in Light.values:
        in_sql = set(tasks_filter(qs, params={"light": light}, today=TODAY).values_list("pk", flat=True))
        in_python = {t.pk for t in Task.objects.all() if _light(t).light == light}
        assert in_sql == in_python, light


def test_sorting_by_light_puts_red_first(ledger, secretariat):
    qs = tasks_sorted(tasks_visible_to(user=secretariat), sort="light", today=TODAY)
    assert [t.pk for t in qs] == [ledger["overdue"].pk, ledger["soon"].pk, ledger["done"].pk]
