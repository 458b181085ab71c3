"""Notifications a person can live with: notice reminders and escalation, one digest per person per sweep,
preferences, 钉钉 robots with 加签 and markdown, and catching up a sweep the server missed."""

import base64
import datetime as dt
import hashlib
import hmac
from urllib.parse import parse_qs, unquote_plus, urlsplit

import pytest
import time_machine
from django.core import mail

from reports.digests import digests_send
from reports.models import Delivery, Digest, Notice, Notification, Reminder, SweepRun
from reports.notices import notice_issue, notice_reply
from reports.notify import dingtalk_sign, preference_update, signed_url
from reports.sweep import sweep_on_start, sweep_run
from tests.factories import PeriodFactory
from tests.reminders.webhook_server import RobotServer

from .conftest import at


def sweep(day: str, **kw):
    with time_machine.travel(at(day), tick=False):
        return sweep_run(now=at(day), deliver="sync", **kw)


def days(first: str, last: str):
    day = dt.date.fromisoformat(first)
    while day <= dt.date.fromisoformat(last):
        yield f"{day:%Y-%m-%d}"
        day += dt.timedelta(days=1)


@pytest.fixture
def notice(world, secretariat, unit_a):
    return notice_issue(
        unit=unit_a, tasks=[world["t1"].pk], text="请整改", reply_by="2026-03-12", actor=secretariat
    )


def notice_due_for(user):
    return Notification.objects.filter(user=user, kind=Reminder.Kind.NOTICE_DUE)


def test_an_unanswered_notice_is_reminded_then_escalated_to_the_secretariat_and_leaders(
    notice, reporter, secretariat, leader
):
    first = {}
    for day in days("2026-03-03", "2026-03-31"):
        sweep(day)
        for name, user in (("unit", reporter), ("secretariat", secretariat), ("leader", leader)):
            if name not in first and notice_due_for(user).exists():
                first[name] = day
    assert first["unit"] <= "2026-03-12"  # before or on the reply date
    assert first["unit"] < first["secretariat"] < first["leader"]
    assert "尚未签收" in notice_due_for(reporter).first().message


def test_a_rerun_of_the_same_sweep_sends_nothing_twice(notice, reporter):
    assert sweep("2026-03-11").created >= 1
    notes, outbox = Notification.objects.count(), len(mail.outbox)
    assert sweep("2026-03-11").created == 0
    assert Notification.objects.count() == notes and len(mail.outbox) == outbox


def test_a_replied_notice_is_not_reminded(notice, reporter):
    notice_reply(notice=notice, text="措施", expected_date="2026-04-30", actor=reporter)
    for day in days("2026-03-10", "2026-03-20"):
        sweep(day)
    assert not Reminder.objects.filter(kind=Reminder.Kind.NOTICE_DUE).exists()


@pytest.fixture
def late_units(world, unit_a, unit_b, county, county_reporter, outsider, leader, secretariat):
    """An open period due Friday 2026-03-20 that none of the three units reported on."""
    leader.email = "leader@example.gov.cn"
    leader.save()
    secretariat.email = "sec@example.gov.cn"
    secretariat.save()
    for user, address in ((outsider, "rep_b@example.gov.cn"), (county_reporter, "rep_c@example.gov.cn")):
        user.email = address
        user.save()
    return PeriodFactory(year=2026, quarter=1, due_date=dt.date(2026, 3, 20), is_open=True)


def to(address):
    return [m for m in mail.outbox if m.to == [address]]


def test_a_leader_gets_one_digest_not_one_message_per_late_unit(late_units, leader, reporter):
    checked = False
    for day in days("2026-03-21", "2026-04-10"):
        notes_before, mails_before = notice_count(leader), len(to("leader@example.gov.cn"))
        sweep(day)
        new_notes = notice_count(leader) - notes_before
        new_mails = to("leader@example.gov.cn")[mails_before:]
        assert len(new_mails) <= 1  # never more than one message per sweep
        if new_notes >= 3:
            assert len(new_mails) == 1
            body = new_mails[0].body
            assert "消息汇总" in new_mails[0].subject
            assert all(name in body for name in ("市医保局", "市财政局", "叶县"))
            assert "【已逾期】" in body
            checked = True
    assert checked, "the leaders were never copied"
    assert Digest.objects.filter(user=leader).count() >= 1
    # the reporter chose nothing: immediate, one message for its unit per sweep
    assert to("rep_a@example.gov.cn")


def notice_count(user):
    return Notification.objects.filter(user=user).count()


def test_a_leader_who_chooses_immediate_gets_each_message(late_units, leader):
    preference_update(user=leader, mode="immediate", by_email=True)
    for day in days("2026-03-21", "2026-04-10"):
        sweep(day)
    assert len(to("leader@example.gov.cn")) == Notification.objects.filter(user=leader).count() >= 3
    assert not Digest.objects.filter(user=leader).exists()


def test_a_reporter_who_chooses_the_digest_gets_notices_and_decisions_in_it(
    reporter, world, secretariat, unit_a
):
    preference_update(user=reporter, mode="digest", by_email=True)
    from reports.extensions import extension_reject, extension_request

    notice_issue(unit=unit_a, tasks=[world["t1"].pk], text="请整改", reply_by="2026-03-12", actor=secretariat)

    req = extension_request(
        task=world["t1"], milestone_date="2026-06-30", new_date="2026-09-30", reason="理由", actor=reporter
    )
    extension_reject(extension=req, actor=secretariat, reason="不同意")
    assert not to("rep_a@example.gov.cn")  # nothing pushed at once
    sweep("2026-03-03", catch_up=False)
    (digest,) = to("rep_a@example.gov.cn")
    assert "【督办单】" in digest.body and "【延期申请】" in digest.body and "未获批准" in digest.body
    sweep("2026-03-03", catch_up=False)
    assert len(to("rep_a@example.gov.cn")) == 1  # one digest per person per sweep


def test_switching_to_the_digest_does_not_repeat_what_was_already_sent(reporter, world, secretariat, unit_a):
    notice_issue(unit=unit_a, tasks=[world["t1"].pk], text="请整改", reply_by="2026-03-30", actor=secretariat)
    sweep("2026-03-03", catch_up=False)  # the notice's e-mail (immediate mode) is sent by the sweep's resume
    assert len(to("rep_a@example.gov.cn")) == 1
    preference_update(user=reporter, mode="digest", by_email=True)
    sweep("2026-03-04", catch_up=False)
    assert len(to("rep_a@example.gov.cn")) == 1 and not Digest.objects.filter(user=reporter).exists()


def test_digests_are_claimed_once_even_when_called_twice(late_units, leader):
    sweep("2026-03-26")
    claimed = Digest.objects.count()
    assert digests_send(now=at("2026-03-26", 9)) == 0
    assert Digest.objects.count() == claimed


def _verify_sign(url: str, secret: str):
    query = parse_qs(urlsplit(url).query)
    ts = query["timestamp"][0]
    expected = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    assert base64.b64decode(query["sign"][0]) == expected  # parse_qs already url-decoded it
    return int(ts)


def test_dingtalk_sign_matches_the_documented_algorithm():
    secret = "SEC0123456789abcdef"
    sign = dingtalk_sign(secret, 1700000000000)
    raw = base64.b64decode(unquote_plus(sign))
    assert raw == hmac.new(secret.encode(), b"1700000000000\n" + secret.encode(), hashlib.sha256).digest()
    assert "+" not in sign and "/" not in sign and "=" not in sign  # urlencoded
    url = signed_url(
        "https://oapi.dingtalk.com/robot/send?access_token=t", secret, timestamp_ms=1700000000000
    )
    assert url.startswith("https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1700000000000&sign=")
    assert signed_url("https://x/robot", "") == "https://x/robot"


def test_a_unit_robot_with_a_secret_gets_a_signed_markdown_message(notice, unit_a):
    with RobotServer() as robot:
        unit_a.webhook_url = robot.url + "/robot/send?access_token=abc"
        unit_a.webhook_secret = "SECunitsecret"
        unit_a.save()
        sweep("2026-03-11")
    (post,) = robot.received
    ts = _verify_sign(post["path"], "SECunitsecret")
    assert abs(ts / 1000 - at("2026-03-11").timestamp()) < 60  # the clock at send time (DingTalk allows 1 h)
    assert post["body"]["msgtype"] == "markdown"
    assert "督办〔2026〕1号" in post["body"]["markdown"]["text"] and post["body"]["markdown"]["title"]
    assert Delivery.objects.get(channel="webhook").status == "sent"


def test_a_personal_dingtalk_robot_gets_the_digest_in_markdown(late_units, leader):
    with RobotServer() as robot:
        preference_update(
            user=leader, mode="digest", by_email=False, dingtalk_webhook=robot.url + "/robot/send?access_token=me",
            dingtalk_secret="SECleader",
        )  # fmt: skip
        for day in days("2026-03-21", "2026-04-03"):
            sweep(day)
    assert robot.received and not to("leader@example.gov.cn")
    for post in robot.received:
        _verify_sign(post["path"], "SECleader")
        assert post["body"]["msgtype"] == "markdown" and "消息汇总" in post["body"]["markdown"]["title"]
    assert len(robot.received) == Digest.objects.filter(user=leader).count()


def test_bad_preferences_are_refused_with_a_message(reporter):
    cases = [
        ({"mode": "weekly"}, "mode"),
        ({"email": "not-an-address"}, "email"),
        ({"dingtalk_webhook": "ftp://x"}, "dingtalk_webhook"),
        (
            {"dingtalk_webhook": "https://10.0.0.5/robot/send"},
            "dingtalk_webhook",
        ),  # not a robot host: no SSRF
        ({"dingtalk_secret": "SECabc"}, "dingtalk_webhook"),
        (
            {"dingtalk_webhook": "https://oapi.dingtalk.com/robot/send", "dingtalk_secret": "abc"},
            "dingtalk_secret",
        ),
        ({"by_email": True, "email": ""}, "email"),
    ]
    from departments.services import ApplicationError

    for change, field in cases:
        args = {"mode": "digest", "by_email": False} | change
        with pytest.raises(ApplicationError) as info:
            preference_update(user=reporter, **args)
        assert info.value.field == field
    from reports.models import NotificationPreference

    assert not NotificationPreference.objects.exists()


def test_the_preference_page_saves_and_audits_without_the_secret(client_as, reporter):
    from departments.models import AuditEntry

    client = client_as(reporter)
    page = client.get("/settings/notifications/")
    assert page.status_code == 200 and "每日汇总" in page.content.decode()
    response = client.post(
        "/settings/notifications/",
        {"mode": "digest", "by_email": "on", "email": "rep_a@example.gov.cn",
         "dingtalk_webhook": "https://oapi.dingtalk.com/robot/send?access_token=x", "dingtalk_secret": "SECtopsecret123"},
    )  # fmt: skip
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="notification_preferences")
    assert "SECtopsecret123" not in str(entry.changes)
    bad = client.post("/settings/notifications/", {"mode": "digest", "email": "x@", "by_email": "on"})
    assert bad.status_code == 400 and "邮箱“x@”格式不正确" in bad.content.decode()


# ------------------------------------------------------------------------------------------------ catch-up


@pytest.fixture
def q1(world):
    return PeriodFactory(year=2026, quarter=1, due_date=dt.date(2026, 3, 20), is_open=True)


def test_a_sweep_missed_while_the_server_was_down_is_caught_up_at_start_once(q1, reporter):
    sweep("2026-03-12")  # the last sweep before the outage (Thursday)
    # Down Friday 03-13 (d7 of the due date 03-20) through Monday; back on Tuesday 03-17 at 07:00
    with time_machine.travel(at("2026-03-17", 7, 0), tick=False):
        outcome = sweep_on_start(now=at("2026-03-17", 7, 0), deliver="sync")
    assert dt.date(2026, 3, 13) in outcome.caught_up and dt.date(2026, 3, 16) in outcome.caught_up
    assert outcome.created >= 1
    caught = Notification.objects.filter(user=reporter, message__contains="补发")
    assert caught.exists() and "03月13日" in caught.first().message
    assert SweepRun.objects.filter(day="2026-03-13", caught_up=True, finished_at__isnull=False).exists()
    notes = Notification.objects.count()
    with time_machine.travel(at("2026-03-17", 7, 5), tick=False):
        again = sweep_on_start(now=at("2026-03-17", 7, 5), deliver="sync")
    assert again.created == 0 and again.caught_up == [] and Notification.objects.count() == notes
    # the day's regular sweep then runs as usual and repeats none of it
    caught_total = Notification.objects.filter(message__contains="补发").count()
    sweep("2026-03-17")
    assert Notification.objects.filter(message__contains="补发").count() == caught_total


def test_a_start_after_the_sweep_hour_runs_todays_sweep_too(q1, reporter):
    sweep("2026-03-12")
    with time_machine.travel(at("2026-03-13", 11, 0), tick=False):
        outcome = sweep_on_start(now=at("2026-03-13", 11, 0), deliver="sync")
    assert outcome.created >= 1 and outcome.caught_up == []
    assert SweepRun.objects.filter(day="2026-03-13", finished_at__isnull=False, caught_up=False).exists()


def test_a_copy_started_long_after_its_last_sweep_does_not_send_the_past(q1):
    sweep("2026-01-05")
    with time_machine.travel(at("2026-03-17", 10, 0), tick=False):
        outcome = sweep_on_start(now=at("2026-03-17", 10, 0), deliver="sync")
    assert outcome.caught_up == [] and outcome.created == 0


def test_a_new_installation_does_not_send_the_past(q1):
    with time_machine.travel(at("2026-03-17", 7, 0), tick=False):
        outcome = sweep_on_start(now=at("2026-03-17", 7, 0), deliver="sync")
    assert outcome.caught_up == [] and outcome.created == 0


def test_the_command_runs_the_same_sweep_and_catches_up_on_request(q1, notice):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("send_reminders", "--now", "2026-03-11T08:30:00+08:00", stdout=out)
    assert out.getvalue().splitlines()[0].startswith("created ")
    assert Reminder.objects.filter(kind=Reminder.Kind.NOTICE_DUE).exists()
    out = StringIO()
    call_command("send_reminders", "--now", "2026-03-11T08:30:00+08:00", stdout=out)
    assert out.getvalue().splitlines()[0] == "created 0 reminders"
    out = StringIO()
    call_command("send_reminders", "--now", "2026-03-17T08:30:00+08:00", "--catch-up", stdout=out)
    assert "补发 2026-03-12、2026-03-13、2026-03-16" in out.getvalue()
    assert Notice.objects.count() == 1


def test_a_unit_robot_secret_must_look_like_a_dingtalk_secret(unit_a):
    from django.core.exceptions import ValidationError

    unit_a.webhook_secret = "abc"
    with pytest.raises(ValidationError) as info:
        unit_a.full_clean()
    assert "webhook_secret" in info.value.message_dict
    unit_a.webhook_url = "https://oapi.dingtalk.com/robot/send?access_token=x"
    unit_a.webhook_secret = "SECok"
    unit_a.full_clean()
