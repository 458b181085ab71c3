"""The quarterly compilation (汇总表) and a unit's offline form (download, fill in, upload as drafts)."""

import datetime as dt
import io

import openpyxl
from django.urls import reverse

from reports.models import Report, ReportStatus
from tests.factories import PeriodFactory, TaskFactory


def _ledger(small_ledger):
    period = PeriodFactory(year=2024, quarter=3)
    doc = small_ledger["doc"]
    a = TaskFactory(document=doc, path=["一", "1"], title="医保支付改革", lead=[small_ledger["insurance"]], responsible=[small_ledger["finance"]])
    b = TaskFactory(document=doc, path=["一", "2"], title="医共体建设", lead=[small_ledger["health"]], responsible=[small_ledger["insurance"]])
    return period, a, b


def _sheet(content: bytes, name: str):
    return openpyxl.load_workbook(io.BytesIO(content))[name]


def test_compilation_groups_every_units_report_by_task_with_timeliness(small_ledger, secretariat, client_as):
    period, a, b = _ledger(small_ledger)
    on_time = dt.datetime(2024, 9, 10, 9, tzinfo=dt.UTC)
    Report.objects.create(task=a, unit=small_ledger["insurance"], period=period, status=ReportStatus.SUBMITTED, text="按时写的", submitted_at=on_time)
    Report.objects.create(task=a, unit=small_ledger["finance"], period=period, status=ReportStatus.ACCEPTED, text="晚了", is_late=True, submitted_at=on_time)
    Report.objects.create(task=b, unit=small_ledger["health"], period=period, status=ReportStatus.DRAFT, text="草稿")
    response = client_as(secretariat).get(reverse("reports:compilation-export"), {"period": period.pk})
    assert response.status_code == 200
    ws = _sheet(response.content, "汇总表")
    rows = [r for r in ws.iter_rows(min_row=4, values_only=True)]
    assert rows[0][:2] == ("一.1", "医保支付改革（牵头：市医疗保障局）")
    assert [(r[1], r[2], r[5], r[10]) for r in rows[1:3]] == [
        ("市医疗保障局", "牵头单位", "按时写的", "按时"), ("市财政局", "责任单位", "晚了", "逾期提交")
    ]
    assert rows[3][0] == "一.2"
    assert [(r[1], r[10]) for r in rows[4:6]] == [("市卫生健康委", "未提交"), ("市医疗保障局", "未提交")]
    status = {r[0]: r for r in _sheet(response.content, "报送情况").iter_rows(min_row=4, values_only=True)}
    assert status["市医疗保障局"][2:7] == ("2", "1", "1", "0", "1") and status["市医疗保障局"][8] == "未提交"
    assert status["市财政局"][8] == "逾期提交"


def test_reporters_cannot_download_the_compilation(small_ledger, reporter, client_as):
    period, _a, _b = _ledger(small_ledger)
    assert client_as(reporter).get(reverse("reports:compilation-export"), {"period": period.pk}).status_code == 403


def _filled_form(content: bytes, values: dict[str, dict[str, object]]) -> io.BytesIO:
    wb = openpyxl.load_workbook(io.BytesIO(content))
    ws = wb.active
    headers = {ws.cell(row=3, column=c).value: c for c in range(1, 12)}
    for row in range(4, ws.max_row + 1):
        path = ws.cell(row=row, column=1).value
        for header, value in values.get(path, {}).items():
            ws.cell(row=row, column=headers[header], value=value)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    buf.name = "填报表.xlsx"
    return buf


def test_unit_fills_its_form_offline_and_the_rows_become_drafts(small_ledger, reporter, client_as):
    period, a, b = _ledger(small_ledger)
    client = client_as(reporter)  # 市医疗保障局: leads a, responsible for b
    content = client.get(reverse("reports:form-export"), {"period": period.pk}).content
    ws = _sheet(content, "填报表")
    assert [ws.cell(row=r, column=1).value for r in (4, 5)] == ["一.1", "一.2"]
    assert ws.column_dimensions["K"].hidden
    upload = _filled_form(content, {"一.1": {"进展": "推进中", "完成百分比": 60, "本期进展情况": "+已完成60%", "存在问题": "资金"}})
    response = client.post(reverse("reports:form-import"), {"period": period.pk, "file": upload})
    assert response.status_code == 200, response.content.decode()
    report = Report.objects.get(task=a, unit=small_ledger["insurance"], period=period)
    assert (report.status, report.progress, report.percent, report.text, report.problems) == ("draft", "in_progress", 60, "+已完成60%", "资金")
    assert not Report.objects.filter(task=b).exists()


def test_form_upload_with_a_bad_row_saves_nothing_and_names_row_and_column(small_ledger, reporter, client_as):
    period, a, b = _ledger(small_ledger)
    client = client_as(reporter)
    content = client.get(reverse("reports:form-export"), {"period": period.pk}).content
    upload = _filled_form(
        content, {"一.1": {"进展": "推进中", "本期进展情况": "好的"}, "一.2": {"进展": "推进中", "完成百分比": 150}}
    )
    response = client.post(reverse("reports:form-import"), {"period": period.pk, "file": upload})
    assert response.status_code == 400
    errors = response.context["result"].errors
    assert [str(e) for e in errors] == ["第 5 行, 列 F（完成百分比）: 完成百分比 percent“150”超出范围，应在 0 到 100 之间。"]
    assert not Report.objects.exists()


def test_form_rows_for_tasks_of_another_unit_are_refused(small_ledger, reporter, client_as):
    period, a, b = _ledger(small_ledger)
    other = TaskFactory(document=small_ledger["doc"], path=["一", "3"], title="别人的", lead=[small_ledger["health"]])
    client = client_as(reporter)
    content = client.get(reverse("reports:form-export"), {"period": period.pk}).content
    wb = openpyxl.load_workbook(io.BytesIO(content))
    wb.active.cell(row=4, column=11, value=f"R{other.pk}")
    wb.active.cell(row=4, column=7, value="冒名填报")
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    buf.name = "x.xlsx"
    response = client.post(reverse("reports:form-import"), {"period": period.pk, "file": buf})
    assert response.status_code == 400
    assert "不承担此任务" in str(response.context["result"].errors[0])
    assert not Report.objects.exists()
