"""延期申请 over the API: a lead unit asks, the secretariat decides, approval moves the milestone."""

import datetime as dt

import pytest

from departments.models import AuditEntry
from reports.models import Notification
from tasks.models import ExtensionRequest, Milestone, Progress, Task
from tasks.services import TaskData, task_update


def ask(api, on, **extra):
    body = {
        "task": on.pk,
        "milestone_date": "2026-06-30",
        "new_date": "2026-09-30",
        "reason": "配套文件未出台",
    }
    body.update(extra)
    return api.post("/api/extension-requests/", body, format="json")


@pytest.fixture
def pending(world, api_as, reporter):
    response = ask(api_as(reporter), world["t1"])
    assert response.status_code == 201, response.json()
    return ExtensionRequest.objects.get(pk=response.json()["id"])


def test_a_lead_units_reporter_asks_and_the_secretariat_is_told(world, api_as, reporter, unit_a, secretariat):
    body = ask(api_as(reporter), world["t1"]).json()
    assert body["task"] == world["t1"].pk and body["unit"] == unit_a.pk
    assert (body["milestone_date"], body["new_date"], body["status"]) == (
        "2026-06-30",
        "2026-09-30",
        "pending",
    )
    assert body["is_late"] is False and body["decided_by"] is None and body["decision_reason"] == ""
    assert Notification.objects.filter(user=secretariat, message__contains="延期至 2026-09-30").exists()
    assert AuditEntry.objects.filter(action="extension_request", object_id=str(body["id"])).exists()


def test_a_request_after_the_date_has_passed_is_marked_late(world, api_as, reporter):
    body = ask(api_as(reporter), world["t1"], milestone_date="2026-02-20", new_date="2026-04-30").json()
    assert body["is_late"] is True


def test_the_secretariat_approves_and_the_milestone_moves_keeping_the_original(
    pending, api_as, secretariat, reporter, world
):
    t1 = world["t1"]
    version = Task.objects.get(pk=t1.pk).version
    body = (
        api_as(secretariat)
        .post(f"/api/extension-requests/{pending.pk}/approve/", {"reason": "同意"}, format="json")
        .json()
    )
    assert body["status"] == "approved" and body["decided_by"] == str(secretariat) and body["decided_at"]
    moved = Milestone.objects.get(task=t1, text="2026年6月底前")
    assert moved.date == dt.date(2026, 9, 30) and moved.original_date == dt.date(2026, 6, 30)
    assert moved.extension_note == "原定 2026-06-30，经批准延期至 2026-09-30"
    task = Task.objects.get(pk=t1.pk)
    assert task.deadline == dt.date(2026, 9, 30) and task.version == version + 1
    detail = api_as(reporter).get(f"/api/tasks/{t1.pk}/").json()
    assert {"date": "2026-09-30", "text": "2026年6月底前"} in detail["milestones"]  # the contract's shape
    assert "2026-09-30" in detail["deadline"]
    assert AuditEntry.objects.filter(
        action="task_update", object_id=str(t1.pk), message__contains="经批准延期"
    ).exists()
    assert Notification.objects.filter(user=reporter, message__contains="已批准").exists()


def test_the_light_reason_says_the_date_was_moved(pending, api_as, secretariat, world):
    pending.milestone_date = dt.date(2026, 2, 20)
    ExtensionRequest.objects.filter(pk=pending.pk).update(milestone_date="2026-02-20", new_date="2026-03-10")
    api_as(secretariat).post(f"/api/extension-requests/{pending.pk}/approve/", {}, format="json")
    light = api_as(secretariat).get(f"/api/tasks/{world['t1'].pk}/").json()
    assert light["light"] == "due_soon"
    assert "原定 2026-02-20，经批准延期至 2026-03-10" in light["light_reason"]


def test_a_task_edit_keeps_the_original_date_of_a_moved_milestone(pending, api_as, secretariat, world):
    api_as(secretariat).post(f"/api/extension-requests/{pending.pk}/approve/", {}, format="json")
    task = Task.objects.get(pk=world["t1"].pk)
    task_update(task=task, data=TaskData(note="补充备注"), version=task.version, actor=secretariat)
    from tasks.services import MilestoneData

    task = Task.objects.get(pk=task.pk)
    milestones = [MilestoneData(date=m.date, text=m.text) for m in task.milestones.all()]
    task_update(
        task=task, data=TaskData(milestones=milestones, note="再改"), version=task.version, actor=secretariat
    )
    assert Milestone.objects.get(task=task, date="2026-09-30").original_date == dt.date(2026, 6, 30)


def test_rejection_needs_a_reason_and_leaves_the_milestone(pending, api_as, secretariat, world, reporter):
    response = api_as(secretariat).post(f"/api/extension-requests/{pending.pk}/reject/", {}, format="json")
    assert response.status_code == 400 and "理由" in response.json()["detail"]
    body = (
        api_as(secretariat)
        .post(f"/api/extension-requests/{pending.pk}/reject/", {"reason": "理由不充分"}, format="json")
        .json()
    )
    assert body["status"] == "rejected" and body["decision_reason"] == "理由不充分"
    assert Milestone.objects.filter(task=world["t1"], date="2026-06-30", original_date__isnull=True).exists()
    assert Notification.objects.filter(user=reporter, message__contains="未获批准").exists()


def test_deciding_twice_answers_409_and_changes_nothing(pending, api_as, secretariat, second_secretary):
    api_as(secretariat).post(
        f"/api/extension-requests/{pending.pk}/reject/", {"reason": "不同意"}, format="json"
    )
    response = api_as(second_secretary).post(
        f"/api/extension-requests/{pending.pk}/approve/", {}, format="json"
    )
    assert response.status_code == 409
    assert "已由 sec" in response.json()["detail"] and "未批准" in response.json()["detail"]
    pending.refresh_from_db()
    assert pending.status == "rejected" and pending.decided_by == secretariat
    assert not Milestone.objects.filter(original_date__isnull=False).exists()


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"new_date": "2026-05-01"}, "new_date", "必须晚于原时限"),
        ({"new_date": "2026-06-30"}, "new_date", "必须晚于原时限"),
        ({"milestone_date": "2026-07-01"}, "milestone_date", "没有日期为 2026-07-01 的时间节点"),
        ({"milestone_date": "六月底"}, "milestone_date", "不是有效日期"),
        ({"new_date": ""}, "new_date", "请填写"),
        ({"reason": " "}, "reason", "延期理由"),
        ({"task": "abc"}, "task", "无效"),
    ],
)
def test_a_bad_request_is_refused_and_nothing_is_written(world, api_as, reporter, change, field, words):
    response = ask(api_as(reporter), world["t1"], **change)
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == field and words in response.json()["detail"]
    assert not ExtensionRequest.objects.exists()


def test_no_request_on_a_completed_task(world, api_as, reporter):
    Task.objects.filter(pk=world["t1"].pk).update(status=Progress.COMPLETED)
    response = ask(api_as(reporter), world["t1"])
    assert response.status_code == 400 and "已完成，不能申请延期" in response.json()["detail"]


def test_a_second_pending_request_for_the_same_milestone_is_refused(pending, api_as, reporter):
    response = ask(api_as(reporter), pending.task, new_date="2026-12-31")
    assert response.status_code == 409 and "已有一份待审批的延期申请" in response.json()["detail"]
    assert ExtensionRequest.objects.count() == 1


def test_a_responsible_unit_may_not_ask_and_others_do_not_see_the_task(
    world, api_as, outsider, county_reporter
):
    # unit B is responsible on t1: it sees the task but does not lead it
    response = ask(api_as(outsider), world["t1"])
    assert response.status_code == 403 and "牵头单位" in response.json()["detail"]
    assert ask(api_as(county_reporter), world["t1"]).status_code == 400  # not its task at all


def test_visibility_by_role(pending, api_as, reporter, outsider, secretariat, leader, admin_user, auditor):
    for user in (reporter, secretariat, leader):
        assert api_as(user).get(f"/api/extension-requests/{pending.pk}/").status_code == 200
        assert api_as(user).get("/api/extension-requests/").json()["count"] == 1
    for user in (outsider, admin_user, auditor):
        assert api_as(user).get(f"/api/extension-requests/{pending.pk}/").status_code == 404
        assert api_as(user).get("/api/extension-requests/").json()["count"] == 0
        assert api_as(user).post(f"/api/extension-requests/{pending.pk}/approve/").status_code == 404


@pytest.mark.parametrize("who", ["reporter", "leader"])
def test_only_the_secretariat_decides(pending, api_as, request, who):
    response = api_as(request.getfixturevalue(who)).post(f"/api/extension-requests/{pending.pk}/approve/")
    assert response.status_code == 403
    pending.refresh_from_db()
    assert pending.status == "pending"


@pytest.mark.parametrize("who", ["secretariat", "leader", "admin_user", "auditor"])
def test_only_reporters_ask(world, api_as, request, who):
    assert ask(api_as(request.getfixturevalue(who)), world["t1"]).status_code == 403


def test_approval_fails_whole_when_the_milestone_was_edited_away(pending, api_as, secretariat, world):
    task = Task.objects.get(pk=world["t1"].pk)
    from tasks.services import MilestoneData

    task_update(
        task=task, data=TaskData(milestones=[MilestoneData(date=dt.date(2026, 7, 31), text="7月底")]),
        version=task.version, actor=secretariat,
    )  # fmt: skip
    response = api_as(secretariat).post(f"/api/extension-requests/{pending.pk}/approve/", {}, format="json")
    assert response.status_code == 400 and "已没有 2026-06-30 的时间节点" in response.json()["detail"]
    pending.refresh_from_db()
    assert pending.status == "pending" and pending.decided_at is None  # nothing half-written
