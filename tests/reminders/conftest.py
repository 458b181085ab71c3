"""A small ledger for reminder tests: one open period (2024 Q3, due Fri 2024-09-20) and three tasks."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from departments.models import Role
from reports.models import ReportStatus
from tests.factories import PeriodFactory, ReportFactory, TaskFactory, UserFactory

TZ = ZoneInfo("Asia/Shanghai")


def at(day: str, hour: int = 8, minute: int = 30) -> dt.datetime:
    """A fixed moment in Asia/Shanghai: the beat's 08:30 by default."""
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour, minute), tzinfo=TZ)


@pytest.fixture
def period(db):
    return PeriodFactory(year=2024, quarter=3, due_date=dt.date(2024, 9, 20), is_open=True)


@pytest.fixture
def ledger(db, period, unit_a, unit_b, county, reporter, outsider, county_reporter, secretariat, leader):
    """unit_a leads t1 and t2, unit_b is responsible on t1, the county carries t2."""
    unit_a.email = "yibaoju@example.gov.cn"
    unit_a.save()
    reporter.email = "rep_a@example.gov.cn"
    reporter.save()
    t1 = TaskFactory(path=["一", "(一)", "1"], title="推进分级诊疗", lead=[unit_a], responsible=[unit_b])
    t2 = TaskFactory(path=["一", "(一)", "2"], title="医保支付方式改革", lead=[unit_a], counties=[county])
    return {"t1": t1, "t2": t2, "period": period}


def submit(task, unit, period, status=ReportStatus.SUBMITTED):
    return ReportFactory(task=task, unit=unit, period=period, status=status)


@pytest.fixture
def second_reporter(db, unit_a):
    return UserFactory(username="rep_a2", role=Role.REPORTER, unit=unit_a, email="rep_a2@example.gov.cn")
