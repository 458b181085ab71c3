import datetime as dt

import pytest
from django.core import mail
from django.core.management import call_command

from reports.jobs import deliveries_enqueue
from reports.models import Delivery, Notification, Reminder, Report, ReportStatus
from reports.reminders import delivery_send, reminders_send_due, report_returned_notify, webhook_payload

from .conftest import at
from .webhook_server import RobotServer

pytestmark = pytest.mark.django_db


def sweep(day, deliver="sync"):
    return reminders_send_due(now=at(day), deliver=deliver)


def test_an_smtp_error_fails_that_delivery_with_the_reason_and_the_others_are_delivered(
    ledger, unit_a, second_reporter, settings
):
    settings.EMAIL_BACKEND = "tests.reminders.backends.PartlyBrokenSMTPBackend"
    second_reporter.email = "broken@example.gov.cn"
    second_reporter.save()
    sweep("2024-09-13")
    deliveries = {d.recipient: d for d in Delivery.objects.filter(reminder__unit=unit_a, channel="email")}
    failed = deliveries.pop("broken@example.gov.cn")
    assert failed.status == "failed" and failed.attempts == 1
    assert "SMTPRecipientsRefused" in failed.error and "550" in failed.error
    assert {d.status for d in deliveries.values()} == {"sent"}
    assert sorted(m.to[0] for m in mail.outbox if "市医保局" in m.subject) == sorted(deliveries)
    assert Notification.objects.filter(user=second_reporter).count() == 1  # the inbox still got it


def test_a_failed_email_is_retried_and_sent_once_the_server_is_back(ledger, unit_a, settings):
    settings.EMAIL_BACKEND = "tests.reminders.backends.SMTPDownBackend"
    sweep("2024-09-13")
    delivery = Delivery.objects.filter(reminder__unit=unit_a, channel="email").first()
    assert delivery.status == "failed" and "SMTPConnectError" in delivery.error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert delivery_send(delivery_id=delivery.pk) == "sent"
    assert delivery_send(delivery_id=delivery.pk) == "skipped"  # a duplicate job sends nothing
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == ("sent", 2, "")
    assert [m.to for m in mail.outbox] == [[delivery.recipient]]


def test_a_delivery_gives_up_after_the_maximum_attempts(ledger, unit_a, settings):
    settings.EMAIL_BACKEND = "tests.reminders.backends.SMTPDownBackend"
    settings.REMINDER_DELIVERY_MAX_ATTEMPTS = 2
    sweep("2024-09-13")
    delivery = Delivery.objects.filter(reminder__unit=unit_a, channel="email").first()
    assert delivery_send(delivery_id=delivery.pk) == "failed"
    assert delivery_send(delivery_id=delivery.pk) == "exhausted"
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.status == "failed"


def test_the_webhook_gets_the_group_robot_text_message(ledger, unit_a):
    with RobotServer() as robot:
        unit_a.webhook_url = robot.url + "/cgi-bin/webhook/send?key=abc"
        unit_a.save()
        sweep("2024-09-13")
    assert len(robot.received) == 1
    body = robot.received[0]["body"]
    assert body["msgtype"] == "text"
    assert "市医保局" in body["text"]["content"] and "推进分级诊疗" in body["text"]["content"]
    assert Delivery.objects.get(channel="webhook").status == "sent"


def test_a_webhook_answering_500_is_recorded_as_failed_and_does_not_block_email_or_inbox(
    ledger, unit_a, unit_b, reporter
):
    with RobotServer() as robot:
        robot.status = 500
        unit_a.webhook_url = robot.url + "/robot/send"
        unit_a.save()
        unit_b.webhook_url = robot.url + "/robot/send?b"
        unit_b.save()
        sweep("2024-09-13")
    webhooks = Delivery.objects.filter(channel="webhook")
    assert webhooks.count() == 2
    assert all(d.status == "failed" and "HTTP 500" in d.error for d in webhooks)
    assert set(Delivery.objects.filter(channel="email").values_list("status", flat=True)) == {"sent"}
    assert reporter.notifications.count() == 1


def test_a_robot_error_code_counts_as_a_failure(ledger, unit_a):
    with RobotServer() as robot:
        robot.answer = {"errcode": 93000, "errmsg": "invalid webhook url"}
        unit_a.webhook_url = robot.url + "/x"
        unit_a.save()
        sweep("2024-09-13")
    d = Delivery.objects.get(channel="webhook")
    assert d.status == "failed" and "93000" in d.error


def test_an_unreachable_webhook_fails_with_the_reason(ledger, unit_a):
    unit_a.webhook_url = "http://127.0.0.1:9/robot"  # discard port: nothing listens
    unit_a.save()
    sweep("2024-09-13")
    d = Delivery.objects.get(channel="webhook")
    assert d.status == "failed" and "无法连接" in d.error


def test_webhook_payload_is_plain_text_json(ledger, unit_a):
    sweep("2024-09-13")
    payload = webhook_payload(Reminder.objects.get(unit=unit_a))
    assert set(payload) == {"msgtype", "text"} and set(payload["text"]) == {"content"}


def test_inbox_notifications_link_to_the_form_or_the_ledger(ledger, reporter):
    from django.urls import NoReverseMatch, reverse

    sweep("2024-09-13")
    note = reporter.notifications.get()
    try:
        expected = reverse("reports:my-form")
    except NoReverseMatch:
        expected = reverse("tasks:list")
    # the form of the period the reminder is about (an older open period opens as itself)
    assert note.link == f"{expected}?period={note.reminder.period_id}" and note.kind == "period_before"
    assert not note.read


def test_queued_deliveries_go_out_after_the_sweep_commits(ledger, unit_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sweep("2024-09-13", deliver=deliveries_enqueue)
    assert Delivery.objects.filter(channel="email", status="pending").count() >= 2
    assert not mail.outbox
    for callback in callbacks:
        callback()  # Celery is eager in tests: each job runs here
    assert set(Delivery.objects.filter(channel="email").values_list("status", flat=True)) == {"sent"}
    assert len(mail.outbox) == Delivery.objects.filter(channel="email").count()


def test_a_returned_report_reminds_that_unit_at_once(ledger, unit_a, reporter, period):
    report = Report.objects.create(
        task=ledger["t1"],
        unit=unit_a,
        period=period,
        status=ReportStatus.RETURNED,
        return_reason="缺少量化数据",
    )
    from django.utils import timezone

    now = dt.datetime(2024, 9, 15, 10, tzinfo=timezone.get_current_timezone())  # a holiday: it still goes
    rid = report_returned_notify(report_id=report.pk, now=now, deliver="sync")
    reminder = Reminder.objects.get(pk=rid)
    assert reminder.kind == "returned" and reminder.unit == unit_a
    assert "缺少量化数据" in reminder.message
    assert reporter.notifications.get().kind == "returned"
    assert (
        report_returned_notify(report_id=report.pk, now=now, deliver="sync") is None
    )  # the same return: once
    report.version += 1
    report.save()
    assert report_returned_notify(report_id=report.pk, now=now, deliver="sync") is not None  # returned again


def test_a_report_that_is_not_returned_reminds_nobody(ledger, unit_a, period):
    report = Report.objects.create(
        task=ledger["t1"], unit=unit_a, period=period, status=ReportStatus.SUBMITTED
    )
    assert report_returned_notify(report_id=report.pk, deliver="sync") is None
    assert not Reminder.objects.exists()


def test_send_reminders_prints_how_many_it_created_and_zero_the_second_time(ledger, capsys):
    call_command("send_reminders", "--now", "2024-09-13T08:30:00+08:00")
    first = capsys.readouterr().out
    assert first.splitlines()[0] == "created 3 reminders"
    assert len(mail.outbox) >= 2  # sent synchronously
    call_command("send_reminders", "--now", "2024-09-13T08:30:00+08:00")
    assert capsys.readouterr().out.splitlines()[0] == "created 0 reminders"


def test_send_reminders_reads_a_naive_time_as_shanghai_time(ledger, capsys):
    # 2024-09-13 00:30 in Shanghai is still 09-12 in UTC: the local date decides.
    call_command("send_reminders", "--now", "2024-09-13T00:30")
    assert capsys.readouterr().out.splitlines()[0] == "created 3 reminders"


def test_send_reminders_refuses_a_bad_time():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--now"):
        call_command("send_reminders", "--now", "明天")


def test_the_sweep_job_runs_the_same_sweep(ledger, django_capture_on_commit_callbacks):
    import time_machine

    from reports.jobs import reminders_sweep

    with time_machine.travel(at("2024-09-13"), tick=False), django_capture_on_commit_callbacks(execute=True):
        result = reminders_sweep.delay().get()
    assert result["created"] == 3
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


def test_a_webhook_that_is_not_http_is_refused_with_the_reason(ledger, unit_a):
    unit_a.webhook_url = "ftp://127.0.0.1/robot"
    unit_a.save()
    sweep("2024-09-13")
    d = Delivery.objects.get(channel="webhook")
    assert d.status == "failed" and "https://" in d.error


def test_a_webhook_on_a_host_outside_the_allow_list_is_never_called(ledger, unit_a, settings):
    """Stored before the allow-list existed (or written around the admin form): refused when sending."""
    settings.WEBHOOK_ALLOWED_HOSTS = ["qyapi.weixin.qq.com", "oapi.dingtalk.com"]
    with RobotServer() as robot:
        unit_a.webhook_url = robot.url + "/internal"
        unit_a.save()
        sweep("2024-09-13")
        assert robot.received == []
    d = Delivery.objects.get(channel="webhook")
    assert d.status == "failed" and "不在允许列表" in d.error and "127.0.0.1" in d.error
