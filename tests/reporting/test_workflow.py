"""The review workflow as services: every state change, who may make it, versions, audit and snapshots."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from departments.models import AuditEntry
from departments.services import ApplicationError, ConflictError, PermissionDeniedError
from reports.models import Notification, Report, ReportStatus
from reports.period_services import period_close, period_open, period_set_due_date
from reports.services import (
    report_accept,
    report_get_or_create_for,
    report_reopen,
    report_return,
    report_save_draft,
    report_submit,
)
from tasks.models import Progress, Task

from .conftest import BEFORE_DUE

pytestmark = pytest.mark.django_db


def audit_actions(report):
    return list(
        AuditEntry.objects.filter(object_type="report", object_id=str(report.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_reporter_starts_a_draft_for_a_task_of_its_unit(task, unit_a, period, reporter):
    report, created = report_get_or_create_for(task=task, unit=unit_a, period=period, actor=reporter)
    assert created and report.status == ReportStatus.DRAFT
    again, created_again = report_get_or_create_for(task=task, unit=unit_a, period=period, actor=reporter)
    assert again.pk == report.pk and not created_again
    assert Report.objects.count() == 1


def test_reporter_cannot_start_a_report_on_a_task_its_unit_does_not_carry(task_b, unit_a, period, reporter):
    with pytest.raises(PermissionDeniedError):
        report_get_or_create_for(task=task_b, unit=unit_a, period=period, actor=reporter)
    assert not Report.objects.exists()


def test_no_new_report_can_be_started_in_a_closed_period(task, unit_a, period, reporter, secretariat):
    period_close(period=period, actor=secretariat)
    period.refresh_from_db()
    with pytest.raises(ApplicationError, match="未开放"):
        report_get_or_create_for(task=task, unit=unit_a, period=period, actor=reporter)


def test_saving_a_draft_bumps_the_version_and_is_audited(draft):
    assert draft.version == 2
    assert draft.progress == Progress.IN_PROGRESS and draft.percent == 60
    assert audit_actions(draft) == ["report_create", "report_save_draft"]
    entry = AuditEntry.objects.filter(action="report_save_draft").get()
    assert entry.changes["text"] == ["", "已在三个县试点"]


def test_a_stale_draft_save_is_refused_and_changes_nothing(draft, reporter):
    with pytest.raises(ConflictError):
        report_save_draft(report=draft, data={"text": "覆盖"}, version=1, actor=reporter)
    draft.refresh_from_db()
    assert draft.text == "已在三个县试点" and draft.version == 2


def test_another_units_reporter_cannot_write_the_draft(draft, outsider):
    with pytest.raises(PermissionDeniedError):
        report_save_draft(report=draft, data={"text": "x"}, version=draft.version, actor=outsider)


@pytest.mark.parametrize("who", ["secretariat", "leader", "county_reporter"])
def test_only_the_units_own_reporter_writes_or_submits(draft, who, request):
    user = request.getfixturevalue(who)
    with pytest.raises(PermissionDeniedError):
        report_save_draft(report=draft, data={"text": "x"}, version=draft.version, actor=user)
    with pytest.raises(PermissionDeniedError):
        report_submit(report=draft, actor=user, now=BEFORE_DUE)


def test_submit_records_time_snapshot_and_audit(submitted):
    assert submitted.status == ReportStatus.SUBMITTED
    assert submitted.submitted_at == BEFORE_DUE and submitted.first_submitted_at == BEFORE_DUE
    assert not submitted.is_late
    rev = submitted.revisions.get()
    assert rev.action == "submit" and rev.number == 1 and rev.data["text"] == "已在三个县试点"
    assert "report_submit" in audit_actions(submitted)


def test_submitting_without_progress_text_is_refused(task, unit_a, period, reporter):
    report, _ = report_get_or_create_for(task=task, unit=unit_a, period=period, actor=reporter)
    with pytest.raises(ApplicationError, match="进展情况") as exc:
        report_submit(report=report, actor=reporter, now=BEFORE_DUE)
    assert exc.value.field == "text"
    report.refresh_from_db()
    assert report.status == ReportStatus.DRAFT


def test_a_submitted_report_cannot_be_edited_or_submitted_twice(submitted, reporter):
    with pytest.raises(ApplicationError, match="等待"):
        report_save_draft(report=submitted, data={"text": "改"}, version=submitted.version, actor=reporter)
    with pytest.raises(ApplicationError, match="已提交"):
        report_submit(report=submitted, actor=reporter, now=BEFORE_DUE)
    assert submitted.revisions.count() == 1


def test_secretariat_returns_with_reason_and_the_unit_is_told(submitted, secretariat, reporter):
    returned = report_return(report=submitted, reason="请补充县域就诊率数据", actor=secretariat)
    assert returned.status == ReportStatus.RETURNED and returned.return_reason == "请补充县域就诊率数据"
    note = Notification.objects.get(user=reporter)
    assert "请补充县域就诊率数据" in note.message and note.link.endswith(
        f"{reverse('reports:my-form')}?period={submitted.period_id}#task-{submitted.task_id}"
    )
    assert (
        returned.revisions.last().action == "return"
        and returned.revisions.last().reason == "请补充县域就诊率数据"
    )
    assert "report_return" in audit_actions(returned)


def test_return_without_reason_is_refused(submitted, secretariat):
    with pytest.raises(ApplicationError, match="退回原因") as exc:
        report_return(report=submitted, reason="  ", actor=secretariat)
    assert exc.value.field == "reason"
    submitted.refresh_from_db()
    assert submitted.status == ReportStatus.SUBMITTED


def test_returned_report_is_fixed_and_resubmitted_and_earlier_versions_stay(submitted, secretariat, reporter):
    returned = report_return(report=submitted, reason="补充数据", actor=secretariat)
    fixed = report_save_draft(
        report=returned, data={"text": "已在五个县试点"}, version=returned.version, actor=reporter
    )
    again = report_submit(report=fixed, actor=reporter, now=BEFORE_DUE + dt.timedelta(days=2))
    assert again.status == ReportStatus.SUBMITTED
    texts = [r.data["text"] for r in again.revisions.order_by("number")]
    assert texts == ["已在三个县试点", "已在三个县试点", "已在五个县试点"]
    assert [r.action for r in again.revisions.order_by("number")] == ["submit", "return", "submit"]


def test_accept_locks_the_report(submitted, secretariat, reporter):
    accepted = report_accept(report=submitted, actor=secretariat)
    assert (
        accepted.status == ReportStatus.ACCEPTED
        and accepted.is_locked
        and accepted.reviewed_by == secretariat
    )
    with pytest.raises(ApplicationError, match="锁定"):
        report_save_draft(report=accepted, data={"text": "偷改"}, version=accepted.version, actor=reporter)
    accepted.refresh_from_db()
    assert accepted.text == "已在三个县试点"


def test_only_submitted_reports_can_be_returned_or_accepted(draft, secretariat):
    with pytest.raises(ApplicationError, match="只有已提交"):
        report_accept(report=draft, actor=secretariat)
    with pytest.raises(ApplicationError, match="只有已提交"):
        report_return(report=draft, reason="x", actor=secretariat)


def test_reopen_needs_a_reason_is_audited_and_sends_the_report_back(submitted, secretariat, reporter):
    accepted = report_accept(report=submitted, actor=secretariat)
    with pytest.raises(ApplicationError, match="原因"):
        report_reopen(report=accepted, reason="", actor=secretariat)
    reopened = report_reopen(report=accepted, reason="数据口径有误", actor=secretariat)
    assert reopened.status == ReportStatus.RETURNED and reopened.return_reason == "数据口径有误"
    entry = AuditEntry.objects.get(action="report_reopen")
    assert entry.message == "数据口径有误" and entry.changes["status"] == ["accepted", "returned"]
    assert reopened.revisions.last().action == "reopen"
    report_save_draft(report=reopened, data={"percent": 70}, version=reopened.version, actor=reporter)


def test_only_accepted_reports_can_be_reopened(submitted, secretariat):
    with pytest.raises(ApplicationError, match="只有已审核通过"):
        report_reopen(report=submitted, reason="x", actor=secretariat)


@pytest.mark.parametrize("who", ["reporter", "leader", "outsider", "admin_user", "auditor"])
def test_nobody_but_the_secretariat_returns_accepts_or_reopens(submitted, who, request, secretariat):
    user = request.getfixturevalue(who)
    with pytest.raises(PermissionDeniedError):
        report_return(report=submitted, reason="x", actor=user)
    with pytest.raises(PermissionDeniedError):
        report_accept(report=submitted, actor=user)
    accepted = report_accept(report=submitted, actor=secretariat)
    with pytest.raises(PermissionDeniedError):
        report_reopen(report=accepted, reason="x", actor=user)
    accepted.refresh_from_db()
    assert accepted.status == ReportStatus.ACCEPTED


def test_review_with_a_stale_version_is_refused(submitted, secretariat):
    with pytest.raises(ConflictError):
        report_accept(report=submitted, actor=secretariat, version=submitted.version - 1)
    submitted.refresh_from_db()
    assert submitted.status == ReportStatus.SUBMITTED


def test_submitted_target_value_becomes_the_targets_latest_value(
    task, target, unit_a, period, reporter, secretariat
):
    report, _ = report_get_or_create_for(task=task, unit=unit_a, period=period, actor=reporter)
    report = report_save_draft(
        report=report,
        data={"text": "t", "target_values": [{"target": target.pk, "value": "86.5"}]},
        version=None,
        actor=reporter,
    )
    target.refresh_from_db()
    assert target.latest_value is None  # a draft does not count
    report = report_submit(report=report, actor=reporter, now=BEFORE_DUE)
    target.refresh_from_db()
    assert target.latest_value == Decimal("86.5") and target.latest_value_at == BEFORE_DUE
    report_return(report=report, reason="数据有误", actor=secretariat)
    target.refresh_from_db()
    assert target.latest_value is None  # a returned report's value no longer counts


def test_lead_units_value_wins_over_a_responsible_units_in_the_same_period(
    task, target, unit_a, unit_b, period, reporter, outsider
):
    lead, _ = report_get_or_create_for(task=task, unit=unit_a, period=period, actor=reporter)
    lead = report_save_draft(
        report=lead, data={"text": "t", "target_values": {target.pk: 88}}, version=None, actor=reporter
    )
    report_submit(report=lead, actor=reporter, now=BEFORE_DUE)
    other, _ = report_get_or_create_for(task=task, unit=unit_b, period=period, actor=outsider)
    other = report_save_draft(
        report=other, data={"text": "t", "target_values": {target.pk: 70}}, version=None, actor=outsider
    )
    report_submit(report=other, actor=outsider, now=BEFORE_DUE + dt.timedelta(hours=1))
    target.refresh_from_db()
    assert target.latest_value == Decimal("88")


def test_accepted_lead_report_saying_completed_completes_the_task(submitted, secretariat, reporter, task):
    returned = report_return(report=submitted, reason="请确认", actor=secretariat)
    done = report_save_draft(
        report=returned, data={"progress": "已完成", "percent": 100}, version=returned.version, actor=reporter
    )
    done = report_submit(report=done, actor=reporter, now=BEFORE_DUE)
    task.refresh_from_db()
    assert task.status == Progress.NOT_STARTED  # a claim alone does not move the ledger
    report_accept(report=done, actor=secretariat)
    task.refresh_from_db()
    assert task.status == Progress.COMPLETED
    assert AuditEntry.objects.filter(action="task_update", object_id=str(task.pk)).exists()


def test_accepted_responsible_unit_report_does_not_change_the_task_status(
    task, unit_b, period, outsider, secretariat
):
    report, _ = report_get_or_create_for(task=task, unit=unit_b, period=period, actor=outsider)
    report = report_save_draft(
        report=report, data={"text": "完成", "progress": "已完成"}, version=None, actor=outsider
    )
    report = report_submit(report=report, actor=outsider, now=BEFORE_DUE)
    report_accept(report=report, actor=secretariat)
    assert Task.objects.get(pk=task.pk).status == Progress.NOT_STARTED


def test_secretariat_opens_a_period_with_the_default_due_date_and_can_change_it(secretariat):
    period, created = period_open(year=2025, quarter=2, actor=secretariat)
    assert created and period.due_date == dt.date(2025, 6, 20) and period.is_open
    period = period_set_due_date(period=period, due_date="2025-06-30", actor=secretariat)
    assert period.due_date == dt.date(2025, 6, 30)
    assert list(
        AuditEntry.objects.filter(object_type="period").values_list("action", flat=True).order_by("id")
    ) == [
        "period_open",
        "period_due_date",
    ]
    again, created_again = period_open(year=2025, quarter=2, actor=secretariat)
    assert again.pk == period.pk and not created_again


@pytest.mark.parametrize("year,quarter,field", [("abc", 1, "year"), (2025, 5, "quarter"), (1999, 1, "year")])
def test_opening_a_period_with_bad_values_names_the_field(secretariat, year, quarter, field):
    with pytest.raises(ApplicationError) as exc:
        period_open(year=year, quarter=quarter, actor=secretariat)
    assert exc.value.field == field


def test_a_reporter_cannot_open_a_period(reporter):
    with pytest.raises(PermissionDeniedError):
        period_open(year=2025, quarter=1, actor=reporter)


def test_return_tells_the_unit_once_on_every_channel_after_commit(
    submitted, secretariat, reporter, mailoutbox, django_capture_on_commit_callbacks, settings
):
    from reports.models import Delivery, Reminder

    settings.CELERY_TASK_ALWAYS_EAGER = True
    reporter.email = "rep@example.org"
    reporter.save()
    with django_capture_on_commit_callbacks(execute=True):
        returned = report_return(report=submitted, reason="补充", actor=secretariat)
    reminder = Reminder.objects.get(kind=Reminder.Kind.RETURNED)
    assert reminder.subject_key == f"report:{returned.pk}:v{returned.version}"
    assert Notification.objects.filter(user=reporter).count() == 1
    assert Delivery.objects.filter(channel=Delivery.Channel.EMAIL, recipient="rep@example.org").exists()
    assert len(mailoutbox) == 1 and "补充" in mailoutbox[0].body


def test_a_failed_return_tells_nobody(submitted, secretariat, django_capture_on_commit_callbacks):
    from reports.models import Reminder

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ApplicationError):
            report_return(report=submitted, reason="", actor=secretariat)
    assert callbacks == [] and not Reminder.objects.exists() and not Notification.objects.exists()
