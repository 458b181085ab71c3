"""Every message a person reads names the field in Chinese (进展、完成百分比、指标实际值 …) and, where rows are
involved, the task by its 序号 and title; never by the API's key (`progress`, `target_values`, `{'targets': …}`).
The API keeps its field-keyed shape: `field` and `errors` carry the keys, only the sentences are Chinese."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from departments.services import ApplicationError
from reports.services import report_clean_data, report_get_or_create_for, report_submit
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

API_KEYS = re.compile(
    r"\b(progress|percent|text|problems|next_steps|target_values|target|value|version|task|targets|"
    r"milestones|lead_units|indicator|document|path|milestone_date|new_date)\b"
)


@pytest.mark.parametrize(
    "data,field,label",
    [
        ({"progress": "差不多"}, "progress", "进展"),
        ({"percent": "一半"}, "percent", "完成百分比"),
        ({"percent": 150}, "percent", "完成百分比"),
        ({"percent": 12.5}, "percent", "完成百分比"),
        ({"text": 5}, "text", "本期进展情况"),
        ({"problems": "长" * 5001}, "problems", "存在问题"),
        ({"next_steps": ["下一步"]}, "next_steps", "下步打算"),
        ({"target_values": "90"}, "target_values", "指标实际值"),
        ({"target_values": [{"value": 90}]}, "target_values", "指标实际值"),
        ({"target_values": [{"target": "第一个", "value": 90}]}, "target_values", "指标实际值"),
        ({"target_values": [{"target": 999999, "value": 90}]}, "target_values", "指标实际值"),
    ],
)
def test_report_service_messages_name_the_field_in_chinese_and_keep_its_key(task, data, field, label):
    with pytest.raises(ApplicationError) as caught:
        report_clean_data(task=task, data=data)
    assert caught.value.field == field  # the API's key stays where the API puts it
    assert label in caught.value.message
    assert not API_KEYS.search(caught.value.message), caught.value.message


def test_a_value_the_user_typed_is_quoted_as_typed(task):
    """The English used to be stripped from messages after the fact, which also cut it out of typed values."""
    with pytest.raises(ApplicationError) as caught:
        report_clean_data(task=task, data={"progress": "in progress text"})
    assert "“in progress text”" in caught.value.message


def test_messages_about_a_task_name_it_by_number_and_title(reporter, unit_a, period, task_b):
    with pytest.raises(ApplicationError) as caught:
        report_get_or_create_for(task=task_b, unit=unit_a, period=period, actor=None)
    assert f"{task_b.path_key}《财政补助标准提高》" in caught.value.message


def test_submitting_an_empty_report_names_the_task(reporter, unit_a, period):
    task = TaskFactory(lead=[unit_a], title="推进家庭医生签约服务")
    report, _ = report_get_or_create_for(task=task, unit=unit_a, period=period, actor=reporter)
    with pytest.raises(ApplicationError) as caught:
        report_submit(report=report, actor=reporter)
    assert caught.value.message.startswith(f"任务 {task.path_key}《推进家庭医生签约服务》：")


@pytest.mark.parametrize(
    "payload,field,label",
    [
        ({"percent": "一半"}, "percent", "完成百分比"),
        ({"progress": "差不多"}, "progress", "进展"),
        ({"target_values": [{"target": "第一个", "value": 1}]}, "target_values", "指标实际值"),
        ({"text": 12}, "text", "本期进展情况"),
    ],
)
def test_the_report_api_keeps_its_field_key_and_says_it_in_chinese(
    api_as, reporter, draft, payload, field, label
):
    res = api_as(reporter).patch(
        f"/api/reports/{draft.pk}/", {"version": draft.version, **payload}, format="json"
    )
    assert res.status_code == 400
    body = res.json()
    assert body["field"] == field and label in body["detail"]
    assert not API_KEYS.search(body["detail"]), body["detail"]


def test_the_report_api_without_a_version_says_so_in_chinese(api_as, reporter, draft):
    res = api_as(reporter).patch(f"/api/reports/{draft.pk}/", {"text": "新的"}, format="json")
    assert res.status_code == 400 and res.json()["field"] == "version"
    assert "版本号" in res.json()["detail"] and not API_KEYS.search(res.json()["detail"])


def test_the_task_api_names_nested_fields_in_chinese_and_keeps_the_keyed_errors(api_as, secretariat, task):
    res = api_as(secretariat).post(
        "/api/tasks/",
        {
            "document": task.document.doc_number,
            "path": ["九", "1"],
            "title": "新任务",
            "lead_units": ["市医疗保障局"],
            "targets": [{"indicator": "县域就诊率", "op": ">="}],
            "milestones": "年底前",
        },
        format="json",
    )
    assert res.status_code == 400
    body = res.json()
    assert set(body["errors"]) == {"targets", "milestones"}  # the API's own keys, as before
    assert "value" in body["errors"]["targets"]["0"]
    assert "量化指标第 1 项的目标值：" in body["detail"] and "时限节点：" in body["detail"]
    assert not API_KEYS.search(body["detail"]), body["detail"]


def _card_error(html: str, task) -> str:
    return html.split(f'data-testid="error-{task.pk}">')[1].split("</div>")[0]


@pytest.mark.parametrize(
    "fields,label",
    [
        ({"progress": "差不多", "text": "x"}, "进展"),
        ({"progress": "in_progress", "percent": "value"}, "完成百分比"),
        ({"progress": "in_progress", "text": "长" * 5001}, "本期进展情况"),
    ],
)
def test_the_form_names_the_field_in_chinese_and_lists_the_task(
    client_as, reporter, unit_a, period, fields, label
):
    task = TaskFactory(lead=[unit_a], title="推进紧密型医联体建设")
    res = client_as(reporter).post(
        "/reports/my/",
        {"period": period.pk, "action": "save", **{f"t{task.pk}-{k}": v for k, v in fields.items()}},
    )
    assert res.status_code == 400
    html = res.content.decode()
    error = _card_error(html, task)
    assert label in error and not API_KEYS.search(error.replace("“value”", "")), error
    listed = html[html.index('data-testid="form-errors"') :]
    listed = listed[: listed.index("</div>")]
    assert "推进紧密型医联体建设" in listed and f"#task-{task.pk}" in listed


def test_submitting_one_empty_card_says_what_is_missing_on_that_card(client_as, reporter, unit_a, period):
    task = TaskFactory(lead=[unit_a], title="推进家庭医生签约服务")
    res = client_as(reporter).post(
        "/reports/my/",
        {"period": period.pk, "action": f"submit:{task.pk}", f"t{task.pk}-progress": "in_progress"},
    )
    assert res.status_code == 400
    error = _card_error(res.content.decode(), task)
    assert "本期进展情况" in error and not API_KEYS.search(error)


def test_a_task_form_error_of_django_names_its_field(client_as, secretariat, task):
    res = client_as(secretariat).post(
        reverse("tasks:edit", args=[task.pk]),
        {
            "path": task.path_key,
            "title": "长" * 501,
            "status": "in_progress",
            "lead_units": "市医疗保障局",
            "version": task.version,
        },
    )
    assert res.status_code == 200
    assert res.context["error"].startswith("任务名称：")


def test_the_extension_form_names_the_dates_in_chinese(client_as, reporter, unit_a):
    from tests.factories import MilestoneFactory

    task = TaskFactory(lead=[unit_a], title="推进分级诊疗")
    MilestoneFactory(task=task, date=dt.date(2030, 6, 30), text="2030年6月底前")
    res = client_as(reporter).post(
        "/extensions/new/",
        {"task": task.pk, "milestone_date": "2030-06-30", "new_date": "明年", "reason": "资金未到位"},
    )
    assert res.status_code == 400
    error = res.content.decode().split('data-testid="form-error">')[1].split("</div>")[0]
    assert "申请延期至" in error and not API_KEYS.search(error), error
