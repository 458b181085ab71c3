"""The REST API of CONTRACT.md for units, documents and tasks."""

import datetime as dt

import pytest
import time_machine

from departments.models import AuditEntry
from tasks.models import Milestone, Progress, Target, Task, TaskUnit

pytestmark = pytest.mark.django_db

travel = time_machine.travel(
    dt.datetime(2024, 6, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))), tick=False
)

TASK_FIELDS = {
    "id",
    "document",
    "path",
    "title",
    "text",
    "lead_units",
    "responsible_units",
    "counties",
    "deadline",
    "milestones",
    "targets",
    "status",
    "light",
    "light_reason",
    "version",
}


@pytest.fixture(autouse=True)
def fixed_day():
    with travel:
        yield


def _ids(response):
    assert response.status_code == 200, response.content
    return {t["id"] for t in response.json()["results"]}


# ---- authentication -------------------------------------------------------------------------------------


def test_token_is_issued_for_the_right_password_and_works(api_client, secretariat, ledger):
    r = api_client.post("/api/auth/token/", {"username": "sec", "password": "Passw0rd!x"})
    assert r.status_code == 200
    token = r.json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/tasks/").json()["count"] == 3


def test_wrong_password_gets_a_chinese_message_and_no_token(api_client, secretariat):
    r = api_client.post("/api/auth/token/", {"username": "sec", "password": "wrong"})
    assert r.status_code == 400
    assert "token" not in r.json() and "用户名或密码错误" in r.json()["detail"]


def test_anonymous_api_calls_are_refused(api_client, ledger):
    for url in ("/api/tasks/", f"/api/tasks/{ledger['soon'].pk}/", "/api/units/", "/api/documents/"):
        r = api_client.get(url)
        assert r.status_code in (401, 403)
        assert "登录" in r.json()["detail"]
    assert api_client.post("/api/tasks/", {}, format="json").status_code in (401, 403)


# ---- units and documents ----------------------------------------------------------------------------------


def test_units_list_names_kinds_and_aliases(api_as, reporter, secretariat, ledger):
    body = api_as(reporter).get("/api/units/").json()
    assert set(body) == {"count", "next", "previous", "results"}
    units = {u["name"]: u for u in body["results"]}
    assert set(units["市卫生健康委"]) == {"id", "name", "short_name", "kind", "aliases"}
    assert units["市卫生健康委"]["aliases"] == ["市卫生健康委员会"]
    assert (
        units["市医疗保障局"]["aliases"] == ["市医保局"] and units["市医疗保障局"]["short_name"] == "市医保局"
    )
    assert units["叶县政府"]["kind"] == "county" and units["市医改办"]["kind"] == "secretariat"
    assert units["市财政局"]["kind"] == "department"


def test_documents_list(api_as, leader, ledger):
    body = api_as(leader).get("/api/documents/").json()
    assert body["count"] == 2
    doc = next(d for d in body["results"] if d["doc_number"] == "平办〔2020〕7号")
    assert doc == {
        "id": ledger["doc"].pk,
        "doc_number": "平办〔2020〕7号",
        "title": "平顶山市深化医改实施方案",
        "issuer": "",
        "issued_on": "2024-01-15",
    }


# ---- task list and filters --------------------------------------------------------------------------------


def test_task_has_exactly_the_contract_fields_with_their_shapes(api_as, secretariat, ledger):
    body = api_as(secretariat).get("/api/tasks/", {"document": "平办〔2020〕7号"}).json()
    assert set(body) == {"count", "next", "previous", "results"}
    soon = next(t for t in body["results"] if t["id"] == ledger["soon"].pk)
    assert TASK_FIELDS <= set(soon)
    assert soon["document"] == "平办〔2020〕7号"
    assert soon["path"] == ["二", "(一)", "10"]
    assert soon["lead_units"] == ["市卫生健康委"] and soon["responsible_units"] == ["市医疗保障局"]
    assert soon["counties"] == []
    assert soon["deadline"] == "2024-06-20"
    (target,) = soon["targets"]
    assert {"id", "indicator", "op", "value", "unit", "due"} <= set(target)
    assert (target["indicator"], target["op"], target["value"], target["unit"], target["due"]) == (
        "县域就诊率",
        ">=",
        90,
        "%",
        "2024-06-20",
    )
    assert soon["status"] == "not_started" and soon["light"] == "due_soon"
    assert "2024-06-20" in soon["light_reason"] and soon["version"] == 1
    overdue = next(t for t in body["results"] if t["id"] == ledger["overdue"].pk)
    assert overdue["milestones"] == [{"date": "2024-03-31", "text": "2024年一季度"}]
    assert overdue["counties"] == ["叶县政府"] and overdue["light"] == "overdue"


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"document": "平办〔2020〕7号"}, ["overdue", "soon"]),
        ({"lead_unit": "市医保局"}, ["overdue"]),  # alias
        ({"lead_unit": "市卫生健康委员会"}, ["soon"]),  # alias
        ({"unit": "市医疗保障局"}, ["overdue", "soon"]),
        ({"county": "叶县政府"}, ["overdue"]),
        ({"county": "叶县"}, ["overdue"]),  # short name
        ({"status": "completed"}, ["done"]),
        ({"status": "未启动"}, ["overdue", "soon"]),
        ({"light": "overdue"}, ["overdue"]),
        ({"light": "due_soon"}, ["soon"]),
        ({"light": "done"}, ["done"]),
        ({"light": "正常"}, []),
        ({"overdue": "true"}, ["overdue"]),
        ({"search": "支付方式"}, ["overdue"]),
        ({"search": "按病种"}, ["overdue"]),  # text, not only title
    ],
)
def test_every_task_filter_of_the_contract(api_as, secretariat, ledger, params, expected):
    assert _ids(api_as(secretariat).get("/api/tasks/", params)) == {ledger[k].pk for k in expected}


@pytest.mark.parametrize(
    "params, field",
    [
        ({"lead_unit": "市不存在局"}, "lead_unit"),
        ({"status": "进行中吧"}, "status"),
        ({"light": "紫"}, "light"),
        ({"overdue": "maybe"}, "overdue"),
        ({"county": "火星县"}, "county"),
        ({"county": "市财政局"}, "county"),
        ({"document": "无此〔2020〕1号"}, "document"),
    ],
)
def test_bad_filter_values_answer_400_naming_the_filter(api_as, secretariat, ledger, params, field):
    r = api_as(secretariat).get("/api/tasks/", params)
    assert r.status_code == 400
    assert r.json()["field"] == field and "筛选条件" in r.json()["detail"]


def test_reporter_lists_only_tasks_of_its_unit_and_gets_404_for_others(api_as, reporter, ledger):
    c = api_as(reporter)
    assert _ids(c.get("/api/tasks/")) == {ledger["overdue"].pk, ledger["soon"].pk}
    r = c.get(f"/api/tasks/{ledger['done'].pk}/")
    assert r.status_code == 404 and "未找到" in r.json()["detail"]
    assert c.get(f"/api/tasks/{ledger['soon'].pk}/").status_code == 200


def test_county_reporter_sees_tasks_its_county_carries(api_as, county_reporter, ledger):
    assert _ids(api_as(county_reporter).get("/api/tasks/")) == {ledger["overdue"].pk}


# ---- create -----------------------------------------------------------------------------------------------

NEW_TASK = {
    "document": "平办〔2020〕7号",
    "path": ["三", "(一)", "2"],
    "title": "推进紧密型县域医共体建设",
    "text": "县域医共体全覆盖。",
    "lead_units": ["市卫健委"],
    "responsible_units": ["市医保局", "财政局"],
    "counties": ["叶县", "郏县政府"],
    "milestones": [{"date": "2024-12-31", "text": "2024年底前"}],
    "targets": [
        {"indicator": "县域就诊率", "op": ">=", "value": 90, "unit": "%", "due": "2025-12-31"},
        {"indicator": "床位使用率", "op": "between", "value": [75, 90], "unit": "%"},
    ],
}


def test_secretariat_creates_a_task_through_the_api(api_as, secretariat, ledger):
    r = api_as(secretariat).post("/api/tasks/", NEW_TASK, format="json")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["path"] == ["三", "(一)", "2"] and body["version"] == 1
    assert body["lead_units"] == ["市卫生健康委"]
    assert body["responsible_units"] == ["市医疗保障局", "市财政局"]  # 财政局 without 市 is 市财政局
    assert body["counties"] == ["叶县政府", "郏县政府"]
    assert body["deadline"] == "2025-12-31"
    assert [t["value"] for t in body["targets"]] == [90, [75, 90]]
    assert AuditEntry.objects.filter(action="task_create", object_id=str(body["id"])).exists()


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"title": ""}, "title", "任务名称不能为空"),
        ({"lead_units": ["市卫生建康委"]}, "lead_units", "牵头单位中的“市卫生建康委”不是已知单位"),
        (
            {"milestones": [{"date": "2024年13月", "text": "x"}]},
            "milestones",
            "第 1 个时间节点的日期“2024年13月”不是有效日期",
        ),
        (
            {"targets": [{"indicator": "率", "op": ">=", "value": "九十"}]},
            "targets",
            "第 1 个指标的目标值“九十”不是数字",
        ),
        (
            {"targets": [{"indicator": "率", "op": "≈", "value": 1}]},
            "targets",
            "第 1 个指标的比较方式“≈”无效",
        ),
        (
            {"targets": [{"indicator": "率", "op": "between", "value": 5}]},
            "targets",
            "需要填写不小于下限的上限值",
        ),
        ({"path": ["二", "(一)", "9"]}, "path", "已有编号为 二.(一).9 的任务"),
        ({"document": "不存在〔1〕1号"}, "document", "找不到文件"),
        ({"status": "差不多"}, "status", "进展状态“差不多”无效"),
        ({"counties": ["市财政局"]}, "counties", "不是县(市、区)政府"),
    ],
)
def test_bad_create_input_names_the_field_and_saves_nothing(
    api_as, secretariat, ledger, change, field, words
):
    before = (
        Task.objects.count(),
        TaskUnit.objects.count(),
        Milestone.objects.count(),
        Target.objects.count(),
    )
    r = api_as(secretariat).post("/api/tasks/", {**NEW_TASK, **change}, format="json")
    assert r.status_code == 400, r.json()
    assert r.json()["field"] == field and words in r.json()["detail"]
    assert (
        Task.objects.count(),
        TaskUnit.objects.count(),
        Milestone.objects.count(),
        Target.objects.count(),
    ) == before


def test_malformed_json_types_answer_a_chinese_message(api_as, secretariat, ledger):
    r = api_as(secretariat).post(
        "/api/tasks/", {**NEW_TASK, "lead_units": "市卫健委", "milestones": "soon"}, format="json"
    )
    assert r.status_code == 400
    # The API's keys stay in `errors` (CONTRACT.md); the sentence a person reads names the fields in Chinese.
    assert set(r.json()["errors"]) == {"lead_units", "milestones"}
    detail = r.json()["detail"]
    assert "牵头单位：" in detail and "时限节点：" in detail
    assert "lead_units" not in detail and "milestones" not in detail
    assert Task.objects.count() == 3


# ---- update -----------------------------------------------------------------------------------------------


def test_patch_with_current_version_applies_and_bumps_version(api_as, secretariat, ledger):
    task = ledger["soon"]
    r = api_as(secretariat).patch(
        f"/api/tasks/{task.pk}/", {"status": "completed", "version": 1}, format="json"
    )
    assert r.status_code == 200, r.json()
    assert r.json()["status"] == "completed" and r.json()["version"] == 2 and r.json()["light"] == "done"
    task.refresh_from_db()
    assert task.status == Progress.COMPLETED and task.version == 2
    entry = AuditEntry.objects.get(action="task_update", object_id=str(task.pk))
    assert entry.actor == secretariat and entry.changes["status"] == ["未启动", "已完成"]


def test_stale_patch_answers_409_with_what_changed_and_changes_nothing(api_as, secretariat, ledger):
    c = api_as(secretariat)
    task = ledger["soon"]
    assert (
        c.patch(f"/api/tasks/{task.pk}/", {"title": "新名称", "version": 1}, format="json").status_code == 200
    )
    r = c.patch(
        f"/api/tasks/{task.pk}/",
        {"status": "lagging", "lead_units": ["市财政局"], "version": 1},
        format="json",
    )
    assert r.status_code == 409
    body = r.json()
    assert body["current_version"] == 2 and body["field"] == "version"
    assert body["changes"][0]["changes"]["任务名称"] == ["提高县域就诊率", "新名称"]
    task.refresh_from_db()
    assert task.status == Progress.NOT_STARTED and task.version == 2
    assert [u.name for u in task.lead_units] == ["市卫生健康委"]


def test_patch_after_delete_and_restore_reports_those_as_changes_since(api_as, secretariat, ledger):
    from tasks.services import task_delete, task_restore

    task = ledger["soon"]
    task_delete(task=task, actor=secretariat)
    task_restore(task=Task.objects.get(pk=task.pk), actor=secretariat)
    r = api_as(secretariat).patch(f"/api/tasks/{task.pk}/", {"title": "x", "version": 1}, format="json")
    assert r.status_code == 409
    assert [c["action"] for c in r.json()["changes"]] == ["删除", "恢复"]


def test_patch_without_version_is_refused(api_as, secretariat, ledger):
    r = api_as(secretariat).patch(f"/api/tasks/{ledger['soon'].pk}/", {"title": "新名称"}, format="json")
    assert r.status_code == 400 and r.json()["field"] == "version" and "版本号" in r.json()["detail"]
    assert "version" not in r.json()["detail"]
    assert Task.objects.get(pk=ledger["soon"].pk).title == "提高县域就诊率"


def test_bad_patch_input_changes_nothing(api_as, secretariat, ledger):
    task = ledger["soon"]
    r = api_as(secretariat).patch(
        f"/api/tasks/{task.pk}/",
        {"title": "改了", "targets": [{"indicator": "县域就诊率", "op": ">=", "value": "abc"}], "version": 1},
        format="json",
    )
    assert r.status_code == 400 and r.json()["field"] == "targets"
    task.refresh_from_db()
    assert task.title == "提高县域就诊率" and task.version == 1 and task.targets.get().value == 90


@pytest.mark.parametrize("who", ["reporter", "leader"])
def test_reporter_and_leader_cannot_write(api_as, ledger, who, request):
    c = api_as(request.getfixturevalue(who))
    task = ledger["soon"]  # visible to both
    r = c.patch(f"/api/tasks/{task.pk}/", {"status": "completed", "version": 1}, format="json")
    assert r.status_code == 403 and "医改办" in r.json()["detail"]
    assert c.post("/api/tasks/", NEW_TASK, format="json").status_code == 403
    assert Task.objects.get(pk=task.pk).status == Progress.NOT_STARTED and Task.objects.count() == 3


def test_reporter_patch_of_a_task_it_cannot_see_is_404(api_as, outsider, ledger):
    r = api_as(outsider).patch(
        f"/api/tasks/{ledger['soon'].pk}/", {"status": "completed", "version": 1}, format="json"
    )
    assert r.status_code == 404


def test_api_sorts_by_light_red_first(api_as, secretariat, ledger):
    results = api_as(secretariat).get("/api/tasks/", {"sort": "light"}).json()["results"]
    assert [t["light"] for t in results] == ["overdue", "due_soon", "done"]


def test_full_width_path_is_the_same_number_as_half_width(api_as, secretariat, ledger):
    r = api_as(secretariat).post("/api/tasks/", {**NEW_TASK, "path": ["二", "（一）", "9"]}, format="json")
    assert r.status_code == 400 and r.json()["field"] == "path"
    r = api_as(secretariat).post("/api/tasks/", {**NEW_TASK, "path": "三．（一）．2"}, format="json")
    assert r.status_code == 201 and r.json()["path"] == ["三", "(一)", "2"]


def test_api_sorts_by_status_in_the_order_work_moves(api_as, secretariat, ledger):
    results = api_as(secretariat).get("/api/tasks/", {"sort": "-status"}).json()["results"]
    assert results[0]["status"] == "completed"


def test_editing_targets_keeps_reported_values_of_the_target_that_stayed(api_as, secretariat, ledger):
    from decimal import Decimal

    task = ledger["soon"]
    first = task.targets.get()
    second = Target.objects.create(
        task=task,
        indicator="县域就诊率",
        op=">=",
        value=95,
        unit="%",
        due=dt.date(2025, 12, 31),
        latest_value=Decimal("88"),
    )
    Target.objects.filter(pk=first.pk).update(latest_value=Decimal("86"))
    targets = [
        {"indicator": "县域就诊率", "op": ">=", "value": 95, "unit": "%", "due": "2025-12-31"},
        {"indicator": "县域就诊率", "op": ">=", "value": 91, "unit": "%", "due": "2024-06-20"},
    ]
    r = api_as(secretariat).patch(f"/api/tasks/{task.pk}/", {"targets": targets, "version": 1}, format="json")
    assert r.status_code == 200, r.json()
    kept = {t.pk: t for t in Target.objects.filter(task=task)}
    assert set(kept) == {first.pk, second.pk}
    assert kept[first.pk].value == 91 and kept[first.pk].latest_value == 86
    assert kept[second.pk].latest_value == 88


def test_milestone_dates_may_be_written_as_phrases_read_against_the_plan_year(api_as, secretariat, ledger):
    """The API reads deadline phrases with the same parser as the Excel import and the task form."""
    client = api_as(secretariat)
    task = {"document": "平办〔2020〕7号", "path": ["九", "1"], "title": "按短语写时限"}
    milestones = [{"date": "年底前", "text": ""}, {"date": "", "text": "2021年6月底前完成试点"}]
    response = client.post("/api/tasks/", {**task, "milestones": milestones}, format="json")
    assert response.status_code == 201, response.content
    got = sorted((m["date"], m["text"]) for m in response.json()["milestones"])
    assert got == [
        ("2020-12-31", "年底前"),
        ("2021-06-30", "2021年6月底前完成试点"),
    ]  # the plan's year: 〔2020〕
    bad = {**task, "path": ["九", "2"], "milestones": [{"date": "春节后", "text": ""}]}
    response = client.post("/api/tasks/", bad, format="json")
    assert (
        response.status_code == 400 and "第 1 个时间节点的日期“春节后”无法确定" in response.content.decode()
    )
