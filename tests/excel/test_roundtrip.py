"""Export the ledger, import it back: nothing changes; edit cells: exactly those tasks change, with history."""

import io
import shutil
import subprocess

import openpyxl
import pytest

from departments.models import AuditEntry
from tasks.excel import read_rows
from tasks.ledger_import import ledger_import
from tasks.models import Task
from tasks.services import TaskData, task_update
from tasks.sheets import ledger_export


def _edit(data: bytes, edits: dict[tuple[int, int], object]) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.active
    for (row, col), value in edits.items():
        ws.cell(row=row, column=col, value=value)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _row_of(data: bytes, task: Task) -> int:
    for i, row in enumerate(read_rows(data), start=1):
        if row and str(row[-1]).startswith(f"T{task.pk}:"):
            return i
    raise AssertionError(f"task {task.pk} not in the file")


def test_exported_demo_ledger_imports_back_with_nothing_to_change(demo):
    data = ledger_export(qs=Task.objects.alive())
    result = ledger_import(data=data, dry_run=False)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 68)
    assert result.errors == [] and result.conflicts == []
    assert not AuditEntry.objects.filter(
        action__in=["task_update", "task_create"], message="Excel 导入"
    ).exists()


def test_three_edited_cells_change_exactly_those_three_tasks_and_their_history(demo):
    data = ledger_export(qs=Task.objects.alive())
    a, b, c = Task.objects.alive().order_by("id")[:3]
    edited = _edit(
        data,
        {
            (_row_of(data, a), 3): "推进医疗健康共同体建设（修订）",  # 重点任务
            (_row_of(data, b), 5): "市医保局",  # 牵头单位, written as an alias
            (_row_of(data, c), 7): "2023年6月",  # 完成时限
        },
    )
    preview = ledger_import(data=edited, dry_run=True)
    assert (preview.created, preview.updated, preview.unchanged) == (0, 3, 65)
    assert Task.objects.get(pk=a.pk).version == 1  # the dry run wrote nothing
    result = ledger_import(data=edited, dry_run=False)
    assert (result.created, result.updated, result.unchanged) == (0, 3, 65)
    versions = dict(Task.objects.values_list("id", "version"))
    assert {pk for pk, v in versions.items() if v != 1} == {a.pk, b.pk, c.pk}
    a, b, c = (Task.objects.get(pk=t.pk) for t in (a, b, c))
    assert a.title == "推进医疗健康共同体建设（修订）"
    assert [u.name for u in b.lead_units] == ["市医疗保障局"]
    assert [(m.date.isoformat(), m.text) for m in c.milestones.all()] == [("2023-06-30", "2023年6月")]
    assert c.deadline.isoformat() == "2023-06-30"
    history = AuditEntry.objects.filter(action="task_update", object_type="task")
    assert sorted(int(h.object_id) for h in history) == sorted([a.pk, b.pk, c.pk])
    assert history.get(object_id=str(a.pk)).changes["title"] == [
        "推进医疗健康共同体建设",
        "推进医疗健康共同体建设（修订）",
    ]
    assert history.get(object_id=str(b.pk)).changes["lead_units"][1] == "市医疗保障局"
    # And importing the same edited file again changes nothing more.
    again = ledger_import(data=edited, dry_run=False)
    assert (again.created, again.updated) == (0, 0)


def test_reimport_without_the_id_column_matches_by_document_and_path(demo):
    data = ledger_export(qs=Task.objects.alive())
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.active
    ws.delete_cols(13)
    task = Task.objects.alive().order_by("id").first()
    ws.cell(row=_row_of(data, task), column=12, value="已纳入年度考核")  # 备注
    buf = io.BytesIO()
    wb.save(buf)
    result = ledger_import(data=buf.getvalue(), dry_run=False)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 67)
    assert Task.objects.alive().count() == 68
    assert Task.objects.get(pk=task.pk).note == "已纳入年度考核"


def test_task_edited_in_the_app_after_export_is_a_conflict_not_overwritten(demo):
    data = ledger_export(qs=Task.objects.alive())
    task, other = Task.objects.alive().order_by("id")[:2]
    task_update(task=task, data=TaskData(note="系统里改的"), version=task.version)
    edited = _edit(data, {(_row_of(data, task), 12): "表格里改的", (_row_of(data, other), 12): "另一条"})
    result = ledger_import(data=edited, dry_run=False)
    assert result.updated == 1 and len(result.conflicts) == 1
    assert "导出后此任务已在系统中被修改" in str(result.conflicts[0])
    assert Task.objects.get(pk=task.pk).note == "系统里改的"
    assert Task.objects.get(pk=other.pk).note == "另一条"


def test_task_edited_in_the_app_but_untouched_in_the_file_is_left_alone(demo):
    data = ledger_export(qs=Task.objects.alive())
    task = Task.objects.alive().order_by("id").first()
    task_update(task=task, data=TaskData(note="系统里改的"), version=task.version)
    result = ledger_import(data=data, dry_run=False)
    assert (result.updated, len(result.conflicts)) == (0, 0)
    assert Task.objects.get(pk=task.pk).note == "系统里改的"


FORMULA_LIKE = ['=HYPERLINK("http://x","点我")', "+1+1", "-2+3", "@SUM(A1)", "\t以制表符开头", "\r以回车开头"]


def test_formula_like_text_is_stored_as_text_and_reads_back_unchanged(demo):
    tasks = list(Task.objects.alive().order_by("id")[: len(FORMULA_LIKE)])
    for task, text in zip(tasks, FORMULA_LIKE, strict=True):
        task_update(task=task, data=TaskData(note=text), version=task.version)
    data = ledger_export(qs=Task.objects.alive())
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    values = read_rows(
        data
    )  # calamine, as Excel, decodes the _x000D_ escape of a CR (openpyxl leaves it as is)
    for task, text in zip(tasks, FORMULA_LIKE, strict=True):
        row = _row_of(data, task)
        assert ws.cell(row=row, column=12).data_type == "s"
        assert values[row - 1][11] == text
    import zipfile

    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet and b"<f " not in sheet
    result = ledger_import(data=data, dry_run=False)
    assert (result.updated, result.unchanged) == (0, 68)
    # Without the id column the text itself is compared, and still matches.
    wb = openpyxl.load_workbook(io.BytesIO(data))
    wb.active.delete_cols(13)
    buf = io.BytesIO()
    wb.save(buf)
    result = ledger_import(data=buf.getvalue(), dry_run=True)
    assert (result.updated, result.unchanged) == (0, 68), result.changes


def test_export_has_the_standard_layout(demo):
    data = ledger_export(qs=Task.objects.alive())
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert "台账" in ws["A1"].value
    assert [ws.cell(row=3, column=c).value for c in range(1, 8)] == [
        "序号",
        "任务来源(文件/文号)",
        "重点任务",
        "目标任务/指标",
        "牵头单位",
        "责任单位",
        "完成时限",
    ]
    assert [ws.cell(row=4, column=c).value for c in (8, 9, 10)] == ["本期进展情况", "存在问题", "下步打算"]
    assert ws.cell(row=3, column=8).value == "本期工作情况"
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A3:A4", "H3:J3", "L3:L4"} <= merged
    # Section rows are merged from B to the last visible column (L), task rows are not.
    assert {"B5:L5", "B6:L6"} <= merged and not any(r.endswith("7") and r.startswith("B") for r in merged)
    assert ws["B5"].font.bold
    assert ws.freeze_panes == "B5"
    assert ws.print_title_rows == "$3:$4"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9  # A4
    assert ws.column_dimensions["M"].hidden
    assert ws["A5"].value == "二、" and ws["A6"].value == "(一)" and ws["A7"].value == "1."
    assert ws["C7"].alignment.wrap_text


def test_export_fills_the_period_columns_from_the_lead_units_submitted_report_never_a_draft(demo):
    from reports.models import Period, Report, ReportStatus
    from reports.selectors import ledger_report_texts

    period = Period.objects.get(year=2022, quarter=4)
    task, drafted = Task.objects.alive().order_by("id")[:2]
    lead = task.lead_units[0]
    Report.objects.create(
        task=task, unit=lead, period=period, status=ReportStatus.SUBMITTED, text="已组建医共体 6 个", problems="人才不足",
        next_steps="扩面",
    )  # fmt: skip
    other = next(u for u in task.responsible_units)
    Report.objects.create(
        task=task, unit=other, period=period, status=ReportStatus.SUBMITTED, text="责任单位的文字"
    )
    Report.objects.create(task=drafted, unit=drafted.lead_units[0], period=period, text="还没提交的草稿")
    texts = ledger_report_texts(
        period=period, task_ids=Task.objects.alive().values("pk"), readable_unit_ids=None
    )
    data = ledger_export(qs=Task.objects.alive(), period_label=period.label, report_texts=texts)
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    row = _row_of(data, task)
    assert [ws.cell(row=row, column=c).value for c in (8, 9, 10)] == ["已组建医共体 6 个", "人才不足", "扩面"]
    assert [ws.cell(row=_row_of(data, drafted), column=c).value for c in (8, 9, 10)] == [None, None, None]
    assert ledger_import(data=data, dry_run=True).unchanged == 68
    # The drafting unit's own reporter does see its own draft in its export.
    own = ledger_report_texts(
        period=period,
        task_ids=Task.objects.alive().values("pk"),
        readable_unit_ids={drafted.lead_units[0].pk},
    )
    assert own[drafted.pk][0] == "还没提交的草稿"


@pytest.mark.skipif(
    not shutil.which("soffice") and not shutil.which("libreoffice"), reason="LibreOffice not installed"
)
@pytest.mark.parametrize("fmt", ["xlsx", "xls"])
def test_file_saved_by_libreoffice_imports_the_same_as_openpyxl(demo, tmp_path, fmt):
    data = ledger_export(qs=Task.objects.alive())
    task = Task.objects.alive().order_by("id").first()
    edited = _edit(data, {(_row_of(data, task), 12): "已纳入年度考核"})
    source = tmp_path / "in" / "ledger.xlsx"
    source.parent.mkdir()
    source.write_bytes(edited)
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    subprocess.run(
        [
            exe,
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            fmt,
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    converted = (tmp_path / f"ledger.{fmt}").read_bytes()
    expected = ledger_import(data=edited, dry_run=True)
    got = ledger_import(data=converted, dry_run=True)
    assert got.errors == []
    assert (
        (got.created, got.updated, got.unchanged)
        == (expected.created, expected.updated, expected.unchanged)
        == (0, 1, 67)
    )
    assert got.changes == expected.changes


def test_a_unit_whose_name_has_spaces_survives_export_and_reimport(demo):
    """The export writes a unit's name as it is; the import must not split it at its space (issue 18)."""
    from departments.models import Unit

    unit = Unit.objects.get(name="市医疗保障局")
    unit.name = "市医疗 保障局"
    unit.save(update_fields=["name"])
    data = ledger_export(qs=Task.objects.alive())
    result = ledger_import(data=data, dry_run=True)
    assert result.errors == [], result.errors[:3]
    assert (result.created, result.updated) == (0, 0)


def test_names_separated_by_spaces_are_still_several_units(small_ledger):
    from tasks.ledger_cells import split_unit_cell

    pieces = split_unit_cell("市卫健委 市医保局", known=lambda n: False)
    assert pieces == [("unit", "市卫健委"), ("unit", "市医保局")]
