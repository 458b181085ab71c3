"""The quarterly compilation (汇总表) and a unit's offline form (download, fill in, upload as drafts)."""

import datetime as dt
import io
import re
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from departments.models import AuditEntry
from reports.models import Report, ReportStatus, TargetValue
from reports.services import report_return, report_save_draft, report_submit
from tests.factories import PeriodFactory, TargetFactory, TaskFactory


def _ledger(small_ledger):
    period = PeriodFactory(year=2024, quarter=3)
    doc = small_ledger["doc"]
    a = TaskFactory(
        document=doc,
        path=["一", "1"],
        title="医保支付改革",
        lead=[small_ledger["insurance"]],
        responsible=[small_ledger["finance"]],
    )
    b = TaskFactory(
        document=doc,
        path=["一", "2"],
        title="医共体建设",
        lead=[small_ledger["health"]],
        responsible=[small_ledger["insurance"]],
    )
    return period, a, b


def _sheet(content: bytes, name: str):
    return openpyxl.load_workbook(io.BytesIO(content))[name]


def _no_formulas(content: bytes) -> bool:
    archive = zipfile.ZipFile(io.BytesIO(content))
    return not any(
        b"<f>" in archive.read(n) or b"<f " in archive.read(n)
        for n in archive.namelist()
        if n.startswith("xl/worksheets/")
    )


def test_compilation_groups_every_units_report_by_task_with_timeliness(small_ledger, secretariat, client_as):
    period, a, b = _ledger(small_ledger)
    on_time = dt.datetime(2024, 9, 10, 9, tzinfo=dt.UTC)
    Report.objects.create(
        task=a, unit=small_ledger["insurance"], period=period, status=ReportStatus.SUBMITTED, text="=1+1 按时写的",
        submitted_at=on_time, percent=60, progress="in_progress",
    )  # fmt: skip
    Report.objects.create(
        task=a,
        unit=small_ledger["finance"],
        period=period,
        status=ReportStatus.ACCEPTED,
        text="晚了",
        is_late=True,
        submitted_at=on_time,
    )
    Report.objects.create(
        task=b, unit=small_ledger["health"], period=period, status=ReportStatus.DRAFT, text="草稿"
    )
    response = client_as(secretariat).get(reverse("reports:compilation-export"), {"period": period.pk})
    assert response.status_code == 200
    ws = _sheet(response.content, "汇总表")
    rows = [r for r in ws.iter_rows(min_row=4, values_only=True)]
    assert rows[0][:2] == ("一.1", "医保支付改革（牵头：市医疗保障局）")
    assert [(r[1], r[2], r[5], r[10]) for r in rows[1:3]] == [
        ("市医疗保障局", "牵头单位", "=1+1 按时写的", "按时"),
        ("市财政局", "责任单位", "晚了", "逾期提交"),
    ]
    assert rows[3][0] == "一.2"
    assert [(r[1], r[5], r[10]) for r in rows[4:6]] == [
        ("市卫生健康委", None, "未提交"),
        ("市医疗保障局", None, "未提交"),
    ]
    assert "草稿" not in [c for r in rows for c in r]  # the unsubmitted draft is the unit's own
    # Cell policy: the text is text, the percentage a fraction formatted as a percentage, the time a real datetime.
    assert ws.cell(row=5, column=6).data_type == "s"
    percent = ws.cell(row=5, column=5)
    assert percent.value == pytest.approx(0.6) and "%" in percent.number_format
    submitted = ws.cell(row=5, column=10)
    assert submitted.value == dt.datetime(2024, 9, 10, 17, 0) and submitted.is_date  # Asia/Shanghai
    assert _no_formulas(response.content)
    status = {r[0]: r for r in _sheet(response.content, "报送情况").iter_rows(min_row=4, values_only=True)}
    assert status["市医疗保障局"][2:7] == (2, 1, 1, 0, 1) and status["市医疗保障局"][8] == "未提交"
    assert status["市医疗保障局"][7] == pytest.approx(0.5)
    assert status["市财政局"][8] == "逾期提交"
    export = AuditEntry.objects.get(action="export", object_type="compilation")
    assert (
        export.actor == secretariat
        and export.changes["rows"] == [None, 4]
        and export.changes["filters"][1] == {"period": str(period.pk)}
    )


def test_compilation_shows_a_returned_report_as_last_submitted_not_the_units_new_draft(
    small_ledger, secretariat, client_as, django_user_model
):
    period, a, _b = _ledger(small_ledger)
    writer = django_user_model.objects.create_user(
        username="ybj", password="x", role="reporter", unit=small_ledger["insurance"]
    )
    report = Report.objects.create(
        task=a, unit=small_ledger["insurance"], period=period, text="第一次提交的内容", updated_by=writer
    )
    report = report_submit(report=report, actor=writer)
    report = report_return(report=report, reason="请补充数据", actor=secretariat)
    report_save_draft(report=report, data={"text": "正在改的草稿"}, version=None, actor=writer)
    rows = list(
        _sheet(
            client_as(secretariat).get(reverse("reports:compilation-export"), {"period": period.pk}).content,
            "汇总表",
        ).iter_rows(min_row=4, values_only=True)
    )
    insurance = next(r for r in rows if r[1] == "市医疗保障局")
    assert insurance[5] == "第一次提交的内容" and insurance[8] == "已退回（退回前内容）"
    assert "正在改的草稿" not in [c for r in rows for c in r]


def test_reporters_cannot_download_the_compilation(small_ledger, reporter, client_as):
    period, _a, _b = _ledger(small_ledger)
    assert (
        client_as(reporter).get(reverse("reports:compilation-export"), {"period": period.pk}).status_code
        == 403
    )


def _header_row(ws) -> int:
    for row in range(1, 10):
        if any(ws.cell(row=row, column=c).value == "系统编号(请勿修改)" for c in range(1, ws.max_column + 1)):
            return row
    raise AssertionError("no header")


def _headers(ws) -> dict:
    """Header text -> column number, from both header rows (target columns sit under their group heading)."""
    row = _header_row(ws)
    out = {}
    for r in (row, row + 1):
        for c in range(1, ws.max_column + 1):
            value = ws.cell(row=r, column=c).value
            if value and value not in out:
                out[value] = c
    return out


def _first_data_row(ws) -> int:
    row = _header_row(ws) + 1
    while not str(ws.cell(row=row, column=1).value or "").startswith("一"):
        row += 1
    return row


def _filled_form(content: bytes, values: dict[str, dict[str, object]]) -> io.BytesIO:
    wb = openpyxl.load_workbook(io.BytesIO(content))
    ws = wb.active
    headers = _headers(ws)
    for row in range(_first_data_row(ws), ws.max_row + 1):
        path = ws.cell(row=row, column=1).value
        for header, value in values.get(path, {}).items():
            ws.cell(row=row, column=headers[header], value=value)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    buf.name = "填报表.xlsx"
    return buf


def test_offline_form_has_doc_number_targets_a_progress_list_and_locked_keys(
    small_ledger, reporter, client_as
):
    period, a, b = _ledger(small_ledger)
    TargetFactory(task=a, indicator="=县域就诊率", unit="%")
    TargetFactory(task=b, indicator="住院费用报销比例", unit="%")
    content = client_as(reporter).get(reverse("reports:form-export"), {"period": period.pk}).content
    ws = _sheet(content, "填报表")
    headers = _headers(ws)
    assert {
        "编号",
        "文号",
        "重点任务",
        "进展",
        "完成百分比(0-100)",
        "本期进展情况",
        "指标实际值",
        "=县域就诊率（%）",
        "住院费用报销比例（%）",
    } <= set(headers)
    first = _first_data_row(ws)
    assert [ws.cell(row=r, column=1).value for r in (first, first + 1)] == ["一.1", "一.2"]
    assert ws.cell(row=first, column=headers["文号"]).value == "平办〔2020〕7号"
    assert (
        ws.cell(row=_header_row(ws) + 1, column=headers["=县域就诊率（%）"]).data_type == "s"
    )  # a heading, not a formula
    assert ws.column_dimensions[openpyxl.utils.get_column_letter(headers["系统编号(请勿修改)"])].hidden
    # 进展 is a drop-down of the four words; the sheet is protected without a password, only the fill-in columns open.
    validation = next(dv for dv in ws.data_validations.dataValidation if dv.type == "list")
    assert validation.formula1 == '"未启动,推进中,已完成,滞后"'
    assert openpyxl.utils.get_column_letter(headers["进展"]) in str(validation.sqref)
    assert ws.protection.sheet and not ws.protection.password
    assert ws.cell(row=first, column=headers["重点任务"]).protection.locked
    assert not ws.cell(row=first, column=headers["进展"]).protection.locked
    assert not ws.cell(row=first, column=headers["=县域就诊率（%）"]).protection.locked
    # 一.2 has no such target: its cell in that column is locked and grey, like the key columns.
    not_its_target = ws.cell(row=first + 1, column=headers["=县域就诊率（%）"])
    assert not_its_target.protection.locked and not_its_target.fill.fgColor.rgb.endswith("EDEDED")
    assert ws.cell(row=first, column=headers["重点任务"]).fill.fgColor.rgb.endswith("EDEDED")
    assert _no_formulas(content)
    assert AuditEntry.objects.filter(action="export", object_type="unit_form", actor=reporter).exists()


def test_unit_fills_its_form_offline_and_the_rows_become_drafts_with_a_preview(
    small_ledger, reporter, client_as
):
    period, a, b = _ledger(small_ledger)
    target = TargetFactory(task=a, indicator="县域就诊率", unit="%")
    client = client_as(reporter)  # 市医疗保障局: leads a, responsible for b
    content = client.get(reverse("reports:form-export"), {"period": period.pk}).content
    upload = _filled_form(
        content,
        {
            "一.1": {
                "进展": "推进中",
                "完成百分比(0-100)": 60,
                "本期进展情况": "+已完成60%",
                "存在问题": "资金",
                "县域就诊率（%）": 86.5,
            }
        },
    )
    response = client.post(reverse("reports:form-import"), {"period": period.pk, "file": upload})
    assert response.status_code == 200, response.content.decode()
    report = Report.objects.get(task=a, unit=small_ledger["insurance"], period=period)
    assert (report.status, report.progress, report.percent, report.text, report.problems) == (
        "draft",
        "in_progress",
        60,
        "+已完成60%",
        "资金",
    )
    assert TargetValue.objects.get(report=report, target=target).value == Decimal("86.5")
    assert not Report.objects.filter(task=b).exists()
    html = response.content.decode()
    assert 'data-testid="form-upload-preview"' in html and "+已完成60%" in html and "86.5" in html
    assert reverse("reports:my-form") in html  # the way on to submitting


def test_form_upload_with_bad_cells_saves_nothing_and_names_row_and_column_in_chinese(
    small_ledger, reporter, client_as
):
    period, a, b = _ledger(small_ledger)
    TargetFactory(task=a, indicator="县域就诊率", unit="%")
    client = client_as(reporter)
    content = client.get(reverse("reports:form-export"), {"period": period.pk}).content
    upload = _filled_form(
        content,
        {
            "一.1": {"进展": "进行中", "本期进展情况": "好的", "县域就诊率（%）": "八十六"},
            "一.2": {"进展": "推进中", "完成百分比(0-100)": 150, "县域就诊率（%）": 12},
        },
    )
    response = client.post(reverse("reports:form-import"), {"period": period.pk, "file": upload})
    assert response.status_code == 400
    messages = [str(e) for e in response.context["result"].errors]
    first, second = f"{a.path_key}《{a.title}》", f"{b.path_key}《{b.title}》"
    assert messages == [
        f"第 5 行, 列 F（进展）: 任务 {first}：进展“进行中”无效，只能选：未启动、推进中、已完成、滞后。",
        f"第 5 行, 列 H（县域就诊率（%））: 任务 {first}：指标“县域就诊率（%）”的实际值“八十六”不是数字。",
        f"第 6 行, 列 G（完成百分比(0-100)）: 任务 {second}：完成百分比“150”应为 0 到 100 的整数。",
        f"第 6 行, 列 H（县域就诊率（%））: 任务 {second} 没有“县域就诊率（%）”这项指标，此格不填。",
    ]
    assert not any(re.search(r"[A-Za-z]{3,}", m.split(": ", 1)[1]) for m in messages)  # Chinese only
    assert not Report.objects.exists()
    html = response.content.decode()
    assert "未保存任何内容" in html and "第 5 行" in html


def test_form_rows_for_tasks_of_another_unit_are_refused(small_ledger, reporter, client_as):
    period, a, b = _ledger(small_ledger)
    other = TaskFactory(
        document=small_ledger["doc"], path=["一", "3"], title="别人的", lead=[small_ledger["health"]]
    )
    client = client_as(reporter)
    content = client.get(reverse("reports:form-export"), {"period": period.pk}).content
    wb = openpyxl.load_workbook(io.BytesIO(content))
    ws = wb.active
    headers = _headers(ws)
    first = _first_data_row(ws)
    ws.cell(row=first, column=headers["系统编号(请勿修改)"], value=f"R{other.pk}")
    ws.cell(row=first, column=headers["本期进展情况"], value="冒名填报")
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    buf.name = "x.xlsx"
    response = client.post(reverse("reports:form-import"), {"period": period.pk, "file": buf})
    assert response.status_code == 400
    assert "不承担此任务" in str(response.context["result"].errors[0])
    assert not Report.objects.exists()


def test_reporter_form_page_links_the_offline_form_download_and_upload(small_ledger, reporter, client_as):
    period, _a, _b = _ledger(small_ledger)
    html = client_as(reporter).get(reverse("reports:my-form"), {"period": period.pk}).content.decode()
    assert f'href="{reverse("reports:form-export")}?period={period.pk}"' in html
    assert f'href="{reverse("reports:form-import")}?period={period.pk}"' in html


def test_uploading_something_that_is_not_the_form_is_explained_and_saves_nothing(
    small_ledger, reporter, client_as
):
    period, _a, _b = _ledger(small_ledger)
    client = client_as(reporter)
    ledger = _filled_form(client.get(reverse("reports:form-export"), {"period": period.pk}).content, {})
    wb = openpyxl.load_workbook(ledger)
    wb.active.delete_cols(1, 30)  # every column gone: a sheet without the form's headings
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    buf.name = "other.xlsx"
    response = client.post(reverse("reports:form-import"), {"period": period.pk, "file": buf})
    assert response.status_code == 400 and "这不是本单位的填报表" in response.content.decode()
    not_excel = io.BytesIO(b"hello")
    not_excel.name = "x.xlsx"
    response = client.post(reverse("reports:form-import"), {"period": period.pk, "file": not_excel})
    assert response.status_code == 400 and "不是 Excel" in response.content.decode()
    assert not Report.objects.exists()


def test_a_submitted_reports_row_is_locked_in_the_form_and_an_unchanged_upload_passes(
    small_ledger, reporter, client_as
):
    period, a, b = _ledger(small_ledger)
    target = TargetFactory(task=a, indicator="县域就诊率", unit="%")
    report = Report.objects.create(
        task=a, unit=small_ledger["insurance"], period=period, status=ReportStatus.SUBMITTED, text="=已提交的内容",
        percent=60, progress="in_progress", submitted_at=dt.datetime(2024, 9, 1, tzinfo=dt.UTC),
    )  # fmt: skip
    TargetValue.objects.create(report=report, target=target, value=Decimal("86.5"))
    client = client_as(reporter)
    content = client.get(reverse("reports:form-export"), {"period": period.pk}).content
    ws = _sheet(content, "填报表")
    headers = _headers(ws)
    first = _first_data_row(ws)
    for header in ("进展", "完成百分比(0-100)", "县域就诊率（%）", "本期进展情况"):
        assert ws.cell(row=first, column=headers[header]).protection.locked, header
    assert ws.cell(row=first, column=headers["本期进展情况"]).value == "=已提交的内容"
    assert ws.cell(row=first, column=headers["县域就诊率（%）"]).value == 86.5
    assert not ws.cell(
        row=first + 1, column=headers["本期进展情况"]
    ).protection.locked  # 一.2 has no report yet
    # Uploaded back as it is: the submitted row is unchanged, not an error.
    response = client.post(
        reverse("reports:form-import"), {"period": period.pk, "file": _filled_form(content, {})}
    )
    result = response.context["result"]
    assert response.status_code == 200 and (result.saved, result.unchanged, result.errors) == (0, 2, [])
    # Changed anyway (protection removed): refused, with row and column, and nothing saved.
    changed = _filled_form(
        content, {"一.1": {"本期进展情况": "偷偷改了"}, "一.2": {"本期进展情况": "新写的"}}
    )
    response = client.post(reverse("reports:form-import"), {"period": period.pk, "file": changed})
    assert response.status_code == 400
    assert "已提交，不能通过上传修改" in str(response.context["result"].errors[0])
    assert not Report.objects.filter(task=b).exists()


def test_percent_cells_accept_what_excel_stores_for_typed_percentages():
    from reports.sheets import _percent_from

    assert [_percent_from(v) for v in (60, 60.0, "60", "60%", "６０％", 0.6, 1.0, None, "")] == [
        60,
        60,
        60,
        60,
        60,
        60,
        1,
        None,
        None,
    ]
    for bad in (150, 0.605, "六十", -1, True):
        with pytest.raises(ValueError):
            _percent_from(bad)
