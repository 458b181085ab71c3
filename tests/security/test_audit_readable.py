"""The audit log reads in Chinese: actions, fields, times in Asia/Shanghai, values and objects by name; the export
says the same as the page."""

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from reports.models import Period
from reports.services import report_get_or_create_for, report_save_draft, report_submit
from tests.factories import TargetFactory, TaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted_report(reporter, unit_a):
    period = Period.objects.create(year=2026, quarter=4, due_date=dt.date(2026, 12, 20), is_open=True)
    task = TaskFactory(lead=[unit_a], title="推进医疗健康共同体建设")
    target = TargetFactory(task=task, indicator="县域就诊率", op=">=", value=Decimal("90"), unit="%")
    report, _ = report_get_or_create_for(task=task, unit=unit_a, period=period, actor=reporter)
    report = report_save_draft(
        report=report, data={"text": "试点", "target_values": {target.pk: "86"}}, version=None, actor=reporter
    )
    with time_machine.travel(dt.datetime(2026, 12, 2, 3, 28, tzinfo=dt.UTC), tick=False):
        return report_submit(report=report, actor=reporter)


def test_the_page_shows_actions_fields_values_and_objects_in_chinese(client_as, auditor, submitted_report):
    html = client_as(auditor).get(reverse("departments:audit-log")).content.decode()
    table = html[html.index('data-testid="audit-table"') :]
    assert (
        "提交报告" in table
        and "保存草稿" in table
        and "report_submit" not in table.replace('title="report_submit"', "")
    )
    assert f"报告 市医保局 2026年第四季度（年度） · 任务 {submitted_report.task.path_key}" in table
    assert "县域就诊率 → 86" in table and "{&#x27;" not in table and "{'" not in table  # no raw dicts
    assert "2026-12-02 11:28:00" in table  # the submission time in Beijing time, not ISO UTC
    assert "T03:28" not in table and "+00:00" not in table
    assert "<b>状态</b>" in table and "草稿" in table and "已提交" in table
    assert "<b>进展情况</b>" in table


def test_the_action_list_offers_chinese_names_and_searching_by_type_word_works(
    client_as, auditor, submitted_report
):
    c = client_as(auditor)
    html = c.get(reverse("departments:audit-log")).content.decode()
    assert '<option value="report_submit">提交报告</option>' in html
    found = c.get(reverse("departments:audit-log"), {"obj": "报告"}).content.decode()
    assert "提交报告" in found and "共 3 条" in found  # create, draft, submit


def test_a_denied_access_names_the_page_not_the_view(client_as, auditor, reporter):
    client_as(reporter).get("/reports/status/")
    html = (
        client_as(auditor).get(reverse("departments:audit-log"), {"action": "access_denied"}).content.decode()
    )
    assert "越权访问被拒绝" in html and "页面 /reports/status/" in html


def test_the_export_is_as_readable_as_the_page(client_as, auditor, submitted_report):
    response = client_as(auditor).get(reverse("departments:audit-export"), {"action": "report_submit"})
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0] == ("时间", "操作人", "来源地址", "操作", "对象类型", "对象编号", "对象", "变更", "说明")
    at, actor, _, action, kind, _, obj, changes, _ = rows[1]
    assert at == dt.datetime(2026, 12, 2, 11, 28)  # a date-time cell, in Beijing time
    assert actor == "rep_a" and action == "提交报告" and kind == "报告"
    assert obj.startswith("报告 市医保局 2026年第四季度") and "状态：草稿 → 已提交" in changes
    assert "提交时间：（空） → 2026-12-02 11:28:00" in changes


def test_the_auditors_menu_offers_only_what_the_auditor_can_open(client_as, auditor):
    html = client_as(auditor).get(reverse("departments:audit-log")).content.decode()
    nav = html[html.index('<header class="topbar') : html.index("</header>")]
    assert "审计日志" in nav and "/inbox/" not in nav and "消息" not in nav
    assert client_as(auditor).get("/inbox/").status_code == 403  # which is why it is not offered
