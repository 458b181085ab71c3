"""A ledger typed by an office: found, parsed and validated row by row, with messages naming row and column."""

import datetime as dt

from departments.models import AuditEntry
from tasks.ledger_import import ledger_import
from tasks.models import Task

from .conftest import office_workbook

DOC = "平办〔2020〕7号"


def test_office_ledger_with_title_spacer_sections_and_aliases_is_created(small_ledger):
    data = office_workbook(
        [
            ["一、主要任务"],
            [],
            ["(一)", "健全医疗服务体系"],
            [
                "1.",
                DOC,
                "推进医共体建设",
                "县域就诊率90%以上",
                "市卫健委",
                "市医保局、市财政局、各县(市、区)政府",
                "2022年底",
                "推进中",
                "",
            ],
            ["2", DOC, "落实功能定位", "", "市卫生健康委员会", "叶县", "2020.12", "", "+备注"],
            ["(二)", "深化医保改革"],
            ["1.", DOC, "医保支付改革", "", "市医疗保障局", "", "2022年12月；15个工作日内", "未启动", ""],
            ["2.", DOC, "基金监管", "", "市医疗保障局", "", dt.datetime(2022, 6, 30), "", ""],
            ["3.", DOC, "药品集采", "", "市医疗保障局", "", 44926, "", ""],
            ["二、", "保障措施"],
            ["(一)", DOC, "加强组织领导", "", "市卫健委", "", "2022-06-30", "", ""],
            [],
            ["注：本表由医改办汇总。"],
        ]
    )
    preview = ledger_import(data=data, dry_run=True)
    assert preview.errors == []
    assert (preview.created, preview.updated, preview.unchanged) == (6, 0, 0)
    assert not Task.objects.exists()
    result = ledger_import(data=data, dry_run=False)
    assert result.created == 6
    tasks = {t.path_key: t for t in Task.objects.all()}
    assert sorted(tasks) == ["一.(一).1", "一.(一).2", "一.(二).1", "一.(二).2", "一.(二).3", "二.(一)"]
    first = tasks["一.(一).1"]
    assert first.section == ["主要任务", "健全医疗服务体系"]
    assert [u.name for u in first.lead_units] == ["市卫生健康委"]
    assert [u.name for u in first.responsible_units] == ["市医疗保障局", "市财政局"]
    assert [u.name for u in first.counties] == ["叶县政府", "郏县政府"]
    assert first.status == "in_progress"
    assert [m.date for m in first.milestones.all()] == [dt.date(2022, 12, 31)]
    second = tasks["一.(一).2"]
    assert [u.name for u in second.counties] == ["叶县政府"] and second.note == "+备注"
    assert [m.date for m in second.milestones.all()] == [dt.date(2020, 12, 31)]
    assert [(m.date, m.text) for m in tasks["一.(二).1"].milestones.all()] == [
        (dt.date(2022, 12, 31), "2022年12月"),
        (None, "15个工作日内"),
    ]
    assert [m.date for m in tasks["一.(二).2"].milestones.all()] == [dt.date(2022, 6, 30)]
    assert [m.date for m in tasks["一.(二).3"].milestones.all()] == [dt.date(2022, 12, 31)]
    assert AuditEntry.objects.filter(action="task_create").count() == 6
    assert ledger_import(data=data, dry_run=True).unchanged == 6  # importing twice never duplicates


def test_columns_are_found_by_header_text_in_any_order(small_ledger):
    header = ["完成时限", "牵头单位", "重点任务", "序号"]
    data = office_workbook([["2022年底", "市卫健委", "推进医共体建设", "1."]], header=header)
    result = ledger_import(data=data, document=small_ledger["doc"], dry_run=False)
    assert result.errors == [] and result.created == 1
    task = Task.objects.get()
    assert (task.path_key, task.title, task.deadline) == ("1", "推进医共体建设", dt.date(2022, 12, 31))


def test_unknown_unit_is_reported_with_row_column_and_closest_units(small_ledger):
    data = office_workbook([["1.", DOC, "推进医共体建设", "", "市卫健委员", "", "2022年底", "", ""]])
    result = ledger_import(data=data, dry_run=False)
    assert [str(e) for e in result.errors] == [
        "第 4 行, 列 E（牵头单位）: 牵头单位中的“市卫健委员”不是已知单位，您是否要找：市卫生健康委。"
    ]
    assert result.errors[0].english.startswith("row 4, column E（牵头单位）: ")
    assert not Task.objects.exists()


def test_bad_date_is_reported(small_ledger):
    data = office_workbook([["1.", DOC, "推进医共体建设", "", "市卫健委", "", "2022年13月", "", ""]])
    result = ledger_import(data=data, dry_run=False)
    assert [str(e) for e in result.errors] == [
        "第 4 行, 列 G（完成时限）: 完成时限“2022年13月”不是可识别的日期"
        "（可写作 2022-06-30、2022年12月、2022年底、2020.12 或 Excel 日期）。"
    ]
    assert not Task.objects.exists()


def test_duplicate_path_is_reported_on_the_second_row(small_ledger):
    data = office_workbook(
        [
            ["一、", "主要任务"],
            ["1.", DOC, "任务甲", "", "市卫健委", "", "", "", ""],
            ["1.", DOC, "任务乙", "", "市卫健委", "", "", "", ""],
        ]
    )
    result = ledger_import(data=data, dry_run=False)
    assert [str(e) for e in result.errors] == ["第 6 行, 列 A（序号）: 编号 一.1 与第 5 行重复。"]
    assert not Task.objects.exists()


def test_missing_title_is_reported(small_ledger):
    data = office_workbook([["1.", DOC, "", "内容", "市卫健委", "", "", "", ""]])
    result = ledger_import(data=data, dry_run=False)
    assert [str(e) for e in result.errors] == ["第 4 行, 列 C（重点任务）: 重点任务（任务名称）不能为空。"]


def test_one_bad_row_means_nothing_is_written_even_for_good_rows(small_ledger):
    data = office_workbook(
        [
            ["1.", DOC, "好的任务", "", "市卫健委", "", "", "", ""],
            ["2.", DOC, "坏的任务", "", "市卫健委", "", "", "差不多完成了", ""],
        ]
    )
    result = ledger_import(data=data, dry_run=False)
    assert [str(e) for e in result.errors] == [
        "第 5 行, 列 H（完成状态）: 完成状态“差不多完成了”无效，可选：未启动、推进中、已完成、滞后。"
    ]
    assert not result.written and not Task.objects.exists()


def test_missing_header_is_a_clear_message(small_ledger):
    import pytest

    from tasks.excel import SpreadsheetError

    data = office_workbook([["a", "b"]], header=["甲", "乙"])
    with pytest.raises(SpreadsheetError, match="找不到表头"):
        ledger_import(data=data, dry_run=True)


def test_deadlines_written_as_text_are_understood():
    from tasks.deadlines import parse_deadlines

    def first(value):
        return parse_deadlines(value)[0].date

    assert first("2022年底") == dt.date(2022, 12, 31)
    assert first("2020.12") == dt.date(2020, 12, 31)
    assert first("2022年12月") == dt.date(2022, 12, 31)
    assert first("2022年6月底前") == dt.date(2022, 6, 30)
    assert first("2022-06-30") == dt.date(2022, 6, 30)
    assert first("2022/6/30") == dt.date(2022, 6, 30)
    assert first("2021年上半年") == dt.date(2021, 6, 30)
    assert first("2021年第三季度") == dt.date(2021, 9, 30)
    assert first(44926) == dt.date(2022, 12, 31)
    assert first("长期坚持") is None
    assert first("15个工作日内") is None
    for bad in ("2022-02-30", "2022年13月", "2022.13"):
        assert parse_deadlines(bad)[0].invalid, bad
