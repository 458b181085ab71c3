"""On time or late is decided by the submission time against the end of the due date, Asia/Shanghai."""

import datetime as dt

import pytest

from reports.period_services import period_set_due_date
from reports.selectors import period_submission_status
from reports.services import report_return, report_save_draft, report_submit

from .conftest import SHANGHAI

pytestmark = pytest.mark.django_db

DUE_END = dt.datetime(2024, 9, 21, 0, 0, tzinfo=SHANGHAI)  # due date 2024-09-20, 24:00 Beijing time


def test_submission_one_minute_before_the_due_time_is_on_time(draft, reporter):
    report = report_submit(report=draft, actor=reporter, now=DUE_END - dt.timedelta(minutes=1))
    assert report.is_late is False


def test_submission_one_minute_after_the_due_time_is_late(draft, reporter):
    report = report_submit(report=draft, actor=reporter, now=DUE_END + dt.timedelta(minutes=1))
    assert report.is_late is True


def test_the_boundary_is_beijing_time_not_utc(draft, reporter):
    # 2024-09-20 17:00 UTC is already 2024-09-21 01:00 in Shanghai: late, although still the 20th in UTC.
    report = report_submit(report=draft, actor=reporter, now=dt.datetime(2024, 9, 20, 17, 0, tzinfo=dt.UTC))
    assert report.is_late is True


def test_due_at_is_the_end_of_the_due_date_in_shanghai(period):
    assert period.due_at == DUE_END


def test_fixing_a_report_returned_after_the_due_date_does_not_make_it_late(draft, reporter, secretariat):
    report = report_submit(report=draft, actor=reporter, now=DUE_END - dt.timedelta(days=1))
    report = report_return(report=report, reason="补充", actor=secretariat)
    report = report_save_draft(report=report, data={"text": "补充后"}, version=report.version, actor=reporter)
    report = report_submit(report=report, actor=reporter, now=DUE_END + dt.timedelta(days=3))
    assert report.is_late is False and report.submitted_at == DUE_END + dt.timedelta(days=3)


def test_moving_the_due_date_changes_the_verdict_for_later_submissions(draft, reporter, secretariat, period):
    period_set_due_date(period=period, due_date=dt.date(2024, 9, 30), actor=secretariat)
    draft.refresh_from_db()
    report = report_submit(report=draft, actor=reporter, now=DUE_END + dt.timedelta(days=2))
    assert report.is_late is False


def test_period_status_counts_on_time_late_returned_and_missing(
    task, task_b, draft, b_report, b_own_report, reporter, outsider, secretariat, unit_a, unit_b, county
):
    report_submit(report=draft, actor=reporter, now=DUE_END - dt.timedelta(minutes=1))
    late = report_submit(report=b_report, actor=outsider, now=DUE_END + dt.timedelta(minutes=1))
    report_return(report=late, reason="x", actor=secretariat)
    report_submit(report=b_own_report, actor=outsider, now=DUE_END + dt.timedelta(minutes=1))
    rows = {r.unit.pk: r for r in period_submission_status(period=draft.period)}
    a, b, c = rows[unit_a.pk], rows[unit_b.pk], rows[county.pk]
    assert (a.due, a.submitted, a.on_time, a.late, a.missing, a.timeliness) == (1, 1, 1, 0, 0, "按时")
    assert (b.due, b.submitted, b.late, b.returned, b.missing, b.timeliness) == (2, 1, 1, 1, 1, "未提交")
    assert (c.due, c.submitted, c.missing, c.timeliness) == (1, 0, 1, "未提交")
