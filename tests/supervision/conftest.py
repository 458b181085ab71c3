"""A small ledger for 督办 tests: unit A leads t1 (two milestones) and t2; unit B is responsible on t1.

Time is fixed with time-machine at 2026-03-02 10:00 Asia/Shanghai (a Monday, a workday)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from departments.models import Role
from tests.factories import MilestoneFactory, TaskFactory, UserFactory

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=TZ)


def at(day: str, hour: int = 8, minute: int = 30) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour, minute), tzinfo=TZ)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(db, unit_a, unit_b, county, reporter, outsider, secretariat, leader, admin_user, auditor):
    unit_a.email = "yibaoju@example.gov.cn"
    unit_a.save()
    reporter.email = "rep_a@example.gov.cn"
    reporter.save()
    t1 = TaskFactory(path=["一", "(一)", "1"], title="推进分级诊疗", lead=[unit_a], responsible=[unit_b])
    MilestoneFactory(task=t1, date=dt.date(2026, 6, 30), text="2026年6月底前")
    MilestoneFactory(task=t1, date=dt.date(2026, 2, 20), text="2026年2月20日前")
    t2 = TaskFactory(path=["一", "(一)", "2"], title="医保支付方式改革", lead=[unit_a], counties=[county])
    t3 = TaskFactory(path=["一", "(一)", "3"], title="财政投入保障", lead=[unit_b])
    from tasks.services import task_refresh_schedule

    for t in (t1, t2, t3):
        task_refresh_schedule(task=t)
    return {"t1": t1, "t2": t2, "t3": t3}


@pytest.fixture
def second_secretary(db, secretariat_unit):
    return UserFactory(username="sec2", role=Role.SECRETARIAT, unit=secretariat_unit)
