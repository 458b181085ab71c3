"""A small ledger for the reporting tests: one open period, a task led by unit A with unit B responsible and a
county involved (with a numeric target), and a task of unit B alone."""

import datetime as dt
from decimal import Decimal

import pytest

from tests.factories import PeriodFactory, TargetFactory, TaskFactory

# Asia/Shanghai is UTC+8 all year (no DST): due 2024-09-20 means late from 2024-09-20T16:00Z.
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
BEFORE_DUE = dt.datetime(2024, 9, 10, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def period(db):
    return PeriodFactory(year=2024, quarter=3, due_date=dt.date(2024, 9, 20), is_open=True)


@pytest.fixture
def task(db, unit_a, unit_b, county):
    return TaskFactory(
        lead=[unit_a], responsible=[unit_b], counties=[county], title="推进紧密型县域医共体建设"
    )


@pytest.fixture
def target(task):
    return TargetFactory(task=task, indicator="县域就诊率", op=">=", value=Decimal("90"), unit="%")


@pytest.fixture
def task_b(db, unit_b):
    """A task unit A does not carry."""
    return TaskFactory(lead=[unit_b], title="财政补助标准提高")


@pytest.fixture
def draft(task, unit_a, period, reporter):
    from reports.services import report_get_or_create_for, report_save_draft

    report, _ = report_get_or_create_for(task=task, unit=unit_a, period=period, actor=reporter)
    return report_save_draft(
        report=report,
        data={"progress": "推进中", "percent": 60, "text": "已在三个县试点"},
        version=report.version,
        actor=reporter,
    )


@pytest.fixture
def submitted(draft, reporter):
    from reports.services import report_submit

    return report_submit(report=draft, actor=reporter, now=BEFORE_DUE)


@pytest.fixture
def b_report(task, unit_b, period, outsider):
    """Unit B's report on the task unit A leads (visible read-only to A as lead unit)."""
    from reports.services import report_get_or_create_for, report_save_draft

    report, _ = report_get_or_create_for(task=task, unit=unit_b, period=period, actor=outsider)
    return report_save_draft(
        report=report, data={"text": "财政局配合"}, version=report.version, actor=outsider
    )


@pytest.fixture
def b_submitted(b_report, outsider):
    """Unit B's report on the task unit A leads, submitted: from then on A (lead), the secretariat and leaders read it."""
    from reports.services import report_submit

    return report_submit(report=b_report, actor=outsider, now=BEFORE_DUE)


@pytest.fixture
def b_own_report(task_b, unit_b, period, outsider):
    """Unit B's report on a task unit A has nothing to do with."""
    from reports.services import report_get_or_create_for, report_save_draft

    report, _ = report_get_or_create_for(task=task_b, unit=unit_b, period=period, actor=outsider)
    return report_save_draft(
        report=report, data={"text": "补助已提高"}, version=report.version, actor=outsider
    )
