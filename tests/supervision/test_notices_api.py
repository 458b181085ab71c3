"""督办单 over the API: who issues, who signs and replies, who closes and sends back, who sees nothing."""

import pytest
from django.core import mail

from departments.models import AuditEntry
from reports.models import Notice, NoticeEvent, Notification, Reminder


def issue(api, world, to, **extra):
    body = {
        "unit": to.pk,
        "tasks": [world["t1"].pk],
        "text": "请加快推进分级诊疗。",
        "reply_by": "2026-03-12",
    }
    body.update(extra)
    return api.post("/api/notices/", body, format="json")


@pytest.fixture
def notice(world, api_as, secretariat, unit_a):
    response = issue(api_as(secretariat), world, unit_a)
    assert response.status_code == 201, response.json()
    return Notice.objects.get(pk=response.json()["id"])


def test_the_secretariat_issues_a_numbered_notice_and_the_unit_is_told(
    world, api_as, secretariat, unit_a, reporter, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        body = issue(api_as(secretariat), world, unit_a).json()
    assert body["number"] == "督办〔2026〕1号"
    assert body["unit"] == unit_a.pk and body["tasks"] == [world["t1"].pk]
    assert body["status"] == "issued" and body["signed_at"] is None and body["reply"] == ""
    assert set(body) >= {"id", "number", "tasks", "unit", "text", "reply_by", "status", "signed_at", "signed_by",
                         "reply", "replied_at"}  # fmt: skip
    note = Notification.objects.get(user=reporter, kind=Reminder.Kind.NOTICE)
    assert "督办〔2026〕1号" in note.message and note.link == f"/notices/{body['id']}/"
    assert any("督办〔2026〕1号" in m.body for m in mail.outbox)  # the reporter is in immediate mode
    assert AuditEntry.objects.filter(action="notice_issue", object_id=str(body["id"])).exists()


def test_numbers_count_up_within_the_year(world, api_as, secretariat, leader, unit_a, unit_b):
    issue(api_as(secretariat), world, unit_a)
    second = issue(api_as(leader), world, unit_b).json()  # leaders may issue too; unit B shares t1
    assert second["number"] == "督办〔2026〕2号"


@pytest.mark.parametrize("who", ["reporter", "admin_user", "auditor"])
def test_only_the_secretariat_and_leaders_issue(world, api_as, request, unit_a, who):
    response = issue(api_as(request.getfixturevalue(who)), world, unit_a)
    assert response.status_code == 403 and "督办单" in response.json()["detail"]
    assert not Notice.objects.exists()


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"tasks": []}, "tasks", "至少选择一项"),
        ({"tasks": "x"}, "tasks", "列表"),
        ({"tasks": [999999]}, "tasks", "不存在"),
        ({"text": "  "}, "text", "督办事项"),
        ({"reply_by": "2026-02-30"}, "reply_by", "不是有效日期"),
        ({"reply_by": "2026-03-01"}, "reply_by", "早于今天"),
        ({"unit": 999999}, "unit", "不存在"),
    ],
)
def test_a_bad_notice_is_refused_with_a_chinese_message_and_nothing_written(
    world, api_as, secretariat, unit_a, change, field, words
):
    response = issue(api_as(secretariat), world, unit_a, **change)
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == field and words in response.json()["detail"]
    assert not Notice.objects.exists() and not Reminder.objects.exists()


def test_a_notice_about_another_units_task_is_refused(world, api_as, secretariat, unit_a):
    response = issue(api_as(secretariat), world, unit_a, tasks=[world["t3"].pk])
    assert response.status_code == 400 and "不是市医疗保障局承担的任务" in response.json()["detail"]


def test_reporters_see_their_own_units_notices_only(
    notice, api_as, reporter, outsider, leader, admin_user, auditor
):
    assert api_as(reporter).get("/api/notices/").json()["count"] == 1
    assert api_as(reporter).get(f"/api/notices/{notice.pk}/").status_code == 200
    assert api_as(leader).get(f"/api/notices/{notice.pk}/").status_code == 200
    for user in (outsider, admin_user, auditor):
        assert api_as(user).get("/api/notices/").json()["count"] == 0
        assert api_as(user).get(f"/api/notices/{notice.pk}/").status_code == 404
        assert api_as(user).post(f"/api/notices/{notice.pk}/sign/").status_code == 404


def test_the_unit_signs_then_replies_then_the_secretariat_closes(notice, api_as, reporter, secretariat):
    signed = api_as(reporter).post(f"/api/notices/{notice.pk}/sign/").json()
    assert signed["status"] == "signed" and signed["signed_by"] == str(reporter) and signed["signed_at"]
    again = api_as(reporter).post(f"/api/notices/{notice.pk}/sign/")
    assert again.status_code == 409 and "无需重复签收" in again.json()["detail"]
    replied = (
        api_as(reporter)
        .post(
            f"/api/notices/{notice.pk}/reply/",
            {"text": "已召开专题会，本月完成。", "expected_date": "2026-03-31"},
            format="json",
        )
        .json()
    )
    assert (
        replied["status"] == "replied"
        and replied["reply"] == "已召开专题会，本月完成。"
        and replied["replied_at"]
    )
    closed = api_as(secretariat).post(f"/api/notices/{notice.pk}/close/").json()
    assert closed["status"] == "closed"
    late = api_as(reporter).post(
        f"/api/notices/{notice.pk}/reply/", {"text": "补充", "expected_date": "2026-03-31"}, format="json"
    )
    assert late.status_code == 409 and "已于" in late.json()["detail"] and "办结" in late.json()["detail"]
    actions = list(NoticeEvent.objects.filter(notice=notice).values_list("action", flat=True))
    assert actions == ["issue", "sign", "reply", "close"]
    assert {"notice_sign", "notice_reply", "notice_close"} <= set(
        AuditEntry.objects.values_list("action", flat=True)
    )


def test_replying_signs_a_notice_not_yet_signed(notice, api_as, reporter):
    body = (
        api_as(reporter)
        .post(
            f"/api/notices/{notice.pk}/reply/", {"text": "措施", "expected_date": "2026-04-30"}, format="json"
        )
        .json()
    )
    assert body["status"] == "replied" and body["signed_at"] and body["signed_by"] == str(reporter)


@pytest.mark.parametrize(
    "body, field",
    [({"text": "", "expected_date": "2026-04-30"}, "text"), ({"text": "措施"}, "expected_date"),
     ({"text": "措施", "expected_date": "2026-01-01"}, "expected_date")],
)  # fmt: skip
def test_a_bad_reply_is_refused_and_nothing_changes(notice, api_as, reporter, body, field):
    response = api_as(reporter).post(f"/api/notices/{notice.pk}/reply/", body, format="json")
    assert response.status_code == 400 and response.json()["field"] == field
    notice.refresh_from_db()
    assert notice.status == "issued" and notice.signed_at is None and notice.reply == ""


def test_the_secretariat_sends_a_reply_back_with_a_reason(notice, api_as, reporter, secretariat):
    api_as(reporter).post(
        f"/api/notices/{notice.pk}/reply/",
        {"text": "第一次答复", "expected_date": "2026-04-30"},
        format="json",
    )
    assert api_as(secretariat).post(f"/api/notices/{notice.pk}/reopen/", {}, format="json").status_code == 400
    body = (
        api_as(secretariat)
        .post(
            f"/api/notices/{notice.pk}/reopen/",
            {"reason": "措施不具体", "reply_by": "2026-03-20"},
            format="json",
        )
        .json()
    )
    assert body["status"] == "signed" and body["reply"] == "" and body["reply_by"] == "2026-03-20"
    events = list(NoticeEvent.objects.filter(notice=notice).values_list("action", "text"))
    assert ("reply", "第一次答复") in events and (
        "reopen",
        "措施不具体",
    ) in events  # the refused reply stays on record
    assert Notification.objects.filter(user=reporter, message__contains="措施不具体").exists()


def test_roles_that_may_not_act_get_403(notice, api_as, reporter, secretariat, leader):
    assert api_as(secretariat).post(f"/api/notices/{notice.pk}/sign/").status_code == 403
    assert api_as(leader).post(f"/api/notices/{notice.pk}/sign/").status_code == 403
    assert api_as(leader).post(f"/api/notices/{notice.pk}/close/").status_code == 403
    assert api_as(reporter).post(f"/api/notices/{notice.pk}/close/").status_code == 403
    assert (
        api_as(reporter).post(f"/api/notices/{notice.pk}/reopen/", {"reason": "x"}, format="json").status_code
        == 403
    )
    notice.refresh_from_db()
    assert notice.status == "issued"


def test_an_unreplied_notice_cannot_be_sent_back_and_a_closed_one_not_closed_again(
    notice, api_as, secretariat
):
    response = api_as(secretariat).post(f"/api/notices/{notice.pk}/reopen/", {"reason": "x"}, format="json")
    assert response.status_code == 409 and "尚未答复" in response.json()["detail"]
    api_as(secretariat).post(f"/api/notices/{notice.pk}/close/")
    again = api_as(secretariat).post(f"/api/notices/{notice.pk}/close/")
    assert again.status_code == 409 and "已由" in again.json()["detail"]


def test_notice_list_filters(notice, api_as, secretariat, world):
    assert api_as(secretariat).get("/api/notices/?status=issued").json()["count"] == 1
    assert api_as(secretariat).get("/api/notices/?status=closed").json()["count"] == 0
    assert api_as(secretariat).get(f"/api/notices/?task={world['t2'].pk}").json()["count"] == 0
    bad = api_as(secretariat).get("/api/notices/?status=done")
    assert bad.status_code == 400 and "状态" in bad.json()["detail"]
