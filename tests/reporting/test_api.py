"""The reports API of CONTRACT.md: fields, filters, the workflow actions, 404/403/409/400 with Chinese messages."""

import datetime as dt

import pytest

from reports.models import Period, Report, ReportStatus, TargetValue

pytestmark = pytest.mark.django_db

CONTRACT_FIELDS = {
    "id", "task", "unit", "period", "status", "progress", "percent", "text", "problems", "next_steps",
    "target_values", "submitted_at", "is_late", "version",
}  # fmt: skip


def test_periods_list_has_the_contract_fields(api_as, reporter, period):
    body = api_as(reporter).get("/api/periods/").json()
    assert body["count"] == 1 and {"next", "previous", "results"} <= body.keys()
    assert {"id", "year", "quarter", "due_date", "is_open"} <= body["results"][0].keys()
    assert body["results"][0]["due_date"] == "2024-09-20"


def test_secretariat_opens_a_period_over_the_api_with_the_default_due_date(api_as, secretariat):
    res = api_as(secretariat).post("/api/periods/", {"year": 2025, "quarter": 1}, format="json")
    assert res.status_code == 201, res.content
    assert res.json()["due_date"] == "2025-03-20" and res.json()["is_open"] is True


@pytest.mark.parametrize("who", ["reporter", "leader"])
def test_others_cannot_open_a_period(api_as, who, request):
    res = api_as(request.getfixturevalue(who)).post(
        "/api/periods/", {"year": 2025, "quarter": 1}, format="json"
    )
    assert res.status_code == 403
    assert not Period.objects.filter(year=2025).exists()


def test_bad_quarter_answers_400_naming_the_field(api_as, secretariat):
    res = api_as(secretariat).post("/api/periods/", {"year": 2025, "quarter": 7}, format="json")
    assert res.status_code == 400 and res.json()["field"] == "quarter" and "季度" in res.json()["detail"]


def test_anonymous_api_is_refused(api_client, period):
    assert api_client.get("/api/reports/").status_code in (401, 403)
    assert api_client.get("/api/periods/").status_code in (401, 403)


def test_reporter_creates_saves_and_submits_over_the_api(api_as, reporter, task, target, period):
    api = api_as(reporter)
    res = api.post(
        "/api/reports/",
        {
            "task": task.pk,
            "period": period.pk,
            "progress": "推进中",
            "percent": 40,
            "text": "进展",
            "target_values": [{"target": target.pk, "value": 86.5}],
        },
        format="json",
    )
    assert res.status_code == 201, res.content
    body = res.json()
    assert CONTRACT_FIELDS <= body.keys()
    assert body["progress"] == "推进中" and body["status"] == "draft" and body["percent"] == 40
    assert body["target_values"] == [{"target": target.pk, "value": 86.5}]
    res = api.patch(
        f"/api/reports/{body['id']}/", {"version": body["version"], "problems": "资金不足"}, format="json"
    )
    assert res.status_code == 200 and res.json()["problems"] == "资金不足"
    res = api.post(f"/api/reports/{body['id']}/submit/", {}, format="json")
    assert res.status_code == 200 and res.json()["status"] == "submitted" and res.json()["submitted_at"]


def test_posting_again_never_creates_a_second_report(api_as, reporter, task, period):
    api = api_as(reporter)
    first = api.post("/api/reports/", {"task": task.pk, "period": period.pk}, format="json")
    second = api.post("/api/reports/", {"task": task.pk, "period": period.pk}, format="json")
    assert (
        first.status_code == 201 and second.status_code == 200 and first.json()["id"] == second.json()["id"]
    )
    third = api.post("/api/reports/", {"task": task.pk, "period": period.pk, "text": "覆盖?"}, format="json")
    assert third.status_code == 409
    assert Report.objects.count() == 1 and Report.objects.get().text == ""


def test_stale_patch_answers_409_and_changes_nothing(api_as, reporter, draft):
    res = api_as(reporter).patch(
        f"/api/reports/{draft.pk}/", {"version": draft.version - 1, "text": "旧版本"}, format="json"
    )
    assert res.status_code == 409 and "版本" in res.json()["detail"]
    draft.refresh_from_db()
    assert draft.text == "已在三个县试点"


def test_patch_without_version_is_refused(api_as, reporter, draft):
    res = api_as(reporter).patch(f"/api/reports/{draft.pk}/", {"text": "x"}, format="json")
    assert res.status_code == 400 and res.json()["field"] == "version"


@pytest.mark.parametrize(
    "payload,field,words",
    [
        ({"percent": 101}, "percent", "0 到 100"),
        ({"percent": -1}, "percent", "0 到 100"),
        ({"percent": "一半"}, "percent", "不是数字"),
        ({"percent": 50.5}, "percent", "整数"),
        ({"progress": "差不多"}, "progress", "未启动"),
        ({"target_values": [{"target": "TARGET", "value": "八十"}]}, "target_values", "不是数字"),
        ({"target_values": [{"target": 999999, "value": 1}]}, "target_values", "不属于"),
        ({"target_values": "90"}, "target_values", "列表"),
    ],
)
def test_bad_values_answer_400_with_a_chinese_message_naming_the_field_and_save_nothing(
    api_as, reporter, draft, target, payload, field, words
):
    if payload.get("target_values") and isinstance(payload["target_values"], list):
        payload = {
            "target_values": [
                {
                    **payload["target_values"][0],
                    "target": target.pk
                    if payload["target_values"][0]["target"] == "TARGET"
                    else payload["target_values"][0]["target"],
                }
            ]
        }
    res = api_as(reporter).patch(
        f"/api/reports/{draft.pk}/", {"version": draft.version, "text": "不应保存", **payload}, format="json"
    )
    assert res.status_code == 400, res.content
    assert res.json()["field"] == field and words in res.json()["detail"]
    draft.refresh_from_db()
    assert draft.text == "已在三个县试点" and draft.version == 2 and not TargetValue.objects.exists()


def test_reporter_cannot_accept_return_or_reopen(api_as, reporter, submitted):
    api = api_as(reporter)
    for action, body in (("accept", {}), ("return", {"reason": "x"}), ("reopen", {"reason": "x"})):
        assert api.post(f"/api/reports/{submitted.pk}/{action}/", body, format="json").status_code == 403
    submitted.refresh_from_db()
    assert submitted.status == ReportStatus.SUBMITTED


def test_leader_reads_every_submitted_report_and_changes_nothing(api_as, leader, submitted, b_own_report):
    api = api_as(leader)
    assert api.get("/api/reports/").json()["count"] == 1  # unit B's draft is unit B's own until submitted
    assert api.get(f"/api/reports/{submitted.pk}/").status_code == 200
    assert api.get(f"/api/reports/{b_own_report.pk}/").status_code == 404
    assert api.post(f"/api/reports/{submitted.pk}/accept/", {}, format="json").status_code == 403
    assert (
        api.patch(
            f"/api/reports/{submitted.pk}/", {"version": submitted.version, "text": "x"}, format="json"
        ).status_code
        == 403
    )
    assert api.post("/api/reports/", {"task": submitted.task_id}, format="json").status_code == 403


def test_secretariat_returns_and_accepts_over_the_api(api_as, secretariat, reporter, submitted):
    api = api_as(secretariat)
    res = api.post(f"/api/reports/{submitted.pk}/return/", {}, format="json")
    assert res.status_code == 400 and res.json()["field"] == "reason"
    res = api.post(f"/api/reports/{submitted.pk}/return/", {"reason": "请补充数据"}, format="json")
    assert (
        res.status_code == 200
        and res.json()["status"] == "returned"
        and res.json()["return_reason"] == "请补充数据"
    )
    rep = api_as(reporter)
    body = rep.get(f"/api/reports/{submitted.pk}/").json()
    rep.patch(
        f"/api/reports/{submitted.pk}/", {"version": body["version"], "text": "补充了数据"}, format="json"
    )
    assert rep.post(f"/api/reports/{submitted.pk}/submit/", {}, format="json").status_code == 200
    res = api.post(f"/api/reports/{submitted.pk}/accept/", {}, format="json")
    assert res.status_code == 200 and res.json()["status"] == "accepted"
    res = api.post(f"/api/reports/{submitted.pk}/reopen/", {"reason": "口径调整"}, format="json")
    assert res.status_code == 200 and res.json()["status"] == "returned"


def test_list_filters_by_period_unit_task_and_status(
    api_as, secretariat, submitted, b_submitted, b_own_report, unit_b, task
):
    api = api_as(secretariat)
    assert api.get("/api/reports/", {"unit": unit_b.pk}).json()["count"] == 1  # B's draft stays B's own
    assert api.get("/api/reports/", {"task": task.pk}).json()["count"] == 2
    assert api.get("/api/reports/", {"status": "submitted"}).json()["count"] == 2
    assert api.get("/api/reports/", {"period": submitted.period_id, "status": "draft"}).json()["count"] == 0
    res = api.get("/api/reports/", {"status": "whatever"})
    assert res.status_code == 400 and res.json()["field"] == "status"


# --- access to another unit's report, by role ---------------------------------------------------------------


def test_reporter_gets_404_for_another_units_report_on_an_unrelated_task(api_as, reporter, b_own_report):
    api = api_as(reporter)
    assert api.get(f"/api/reports/{b_own_report.pk}/").status_code == 404
    assert api.patch(f"/api/reports/{b_own_report.pk}/", {"version": 1}, format="json").status_code == 404
    assert api.post(f"/api/reports/{b_own_report.pk}/submit/", {}, format="json").status_code == 404
    assert api.post(f"/api/reports/{b_own_report.pk}/accept/", {}, format="json").status_code == 404
    assert b_own_report.pk not in [r["id"] for r in api.get("/api/reports/").json()["results"]]


def test_responsible_unit_gets_404_for_the_lead_units_report(api_as, outsider, submitted):
    assert api_as(outsider).get(f"/api/reports/{submitted.pk}/").status_code == 404


def test_county_reporter_gets_404_for_a_departments_report(api_as, county_reporter, submitted):
    assert api_as(county_reporter).get(f"/api/reports/{submitted.pk}/").status_code == 404


@pytest.mark.parametrize("who", ["admin_user", "auditor"])
def test_roles_outside_the_reporting_cycle_see_no_report(api_as, who, request, submitted):
    assert api_as(request.getfixturevalue(who)).get(f"/api/reports/{submitted.pk}/").status_code == 404


def test_lead_unit_reads_its_responsible_units_draft_only_once_submitted(api_as, reporter, b_report):
    assert api_as(reporter).get(f"/api/reports/{b_report.pk}/").status_code == 404


def test_lead_unit_reads_its_responsible_units_report_but_cannot_change_it(api_as, reporter, b_submitted):
    api = api_as(reporter)
    b_report = b_submitted
    assert api.get(f"/api/reports/{b_report.pk}/").status_code == 200
    assert (
        api.patch(
            f"/api/reports/{b_report.pk}/", {"version": b_report.version, "text": "x"}, format="json"
        ).status_code
        == 403
    )
    assert api.post(f"/api/reports/{b_report.pk}/submit/", {}, format="json").status_code == 403


def test_reporter_cannot_start_a_report_for_an_unrelated_task(api_as, reporter, task_b, period):
    res = api_as(reporter).post("/api/reports/", {"task": task_b.pk, "period": period.pk}, format="json")
    assert res.status_code == 400 and res.json()["field"] == "task"
    assert not Report.objects.exists()


def test_late_submission_over_the_api_is_marked_late(api_as, reporter, draft, time_machine):
    time_machine.move_to(dt.datetime(2024, 9, 21, 0, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    res = api_as(reporter).post(f"/api/reports/{draft.pk}/submit/", {}, format="json")
    assert res.status_code == 200 and res.json()["is_late"] is True
