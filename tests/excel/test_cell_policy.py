"""The one xlsx writer (reform_ledger/spreadsheets.py): its cell policy and its layout options."""

import datetime as dt
import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest
import python_calamine as pc

from reform_ledger.spreadsheets import (
    DATE,
    INTEGER,
    NOT_FILLED,
    PERCENT,
    Column,
    Fixed,
    Section,
    Sheet,
    render_xlsx,
    sheet_name,
)

FORMULA_LIKE = [
    "=1+1",
    "+SUM(A1)",
    "-2+3",
    "@x",
    "\t制表符",
    "\r回车",
    '=HYPERLINK("http://x","点我")',
    "＝全角",
]


def _render(sheet, **kwargs):
    data = render_xlsx([sheet], **kwargs)
    return data, openpyxl.load_workbook(io.BytesIO(data)).active


def _values(data: bytes) -> list[list]:
    return (
        pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
        .get_sheet_by_index(0)
        .to_python(skip_empty_area=False)
    )


@pytest.mark.parametrize("streaming", [False, True])
def test_text_is_always_text_and_never_changed(streaming):
    sheet = Sheet(name="t", columns=[Column("文字")], rows=[[v] for v in FORMULA_LIKE])
    data, ws = _render(sheet, streaming=streaming)
    assert [ws.cell(row=r, column=1).data_type for r in range(2, 2 + len(FORMULA_LIKE))] == ["s"] * len(
        FORMULA_LIKE
    )
    assert [row[0] for row in _values(data)[1:]] == FORMULA_LIKE  # no ' added, nothing dropped (CR included)
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert not any(b"<f>" in archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/"))


def test_numbers_dates_percentages_and_booleans_keep_their_type():
    aware = dt.datetime(2024, 9, 10, 1, 30, tzinfo=dt.UTC)
    sheet = Sheet(
        name="t",
        columns=[
            Column("整数", kind=INTEGER),
            Column("小数"),
            Column("比率", kind=PERCENT),
            Column("日期", kind=DATE),
            Column("时间"),
            Column("是否"),
            Column("空"),
        ],  # fmt: skip
        rows=[
            [12, Decimal("86.5"), 0.333, dt.date(2022, 12, 31), aware, True, None],
            [float("nan"), 1.5, None, "", "", False, ""],
        ],
    )
    _data, ws = _render(sheet)
    a, b, c, d, e, f, g = (ws.cell(row=2, column=i) for i in range(1, 8))
    assert (a.value, a.data_type, a.number_format) == (12, "n", "0")
    assert b.value == 86.5 and b.data_type == "n"
    assert c.value == pytest.approx(0.333) and c.number_format == "0.0%"
    assert d.is_date and d.value == dt.datetime(2022, 12, 31) and d.number_format == "yyyy-mm-dd"
    assert e.is_date and e.value == dt.datetime(2024, 9, 10, 9, 30)  # Asia/Shanghai wall-clock time
    assert (f.value, ws.cell(row=3, column=6).value) == ("是", "否")
    assert g.value is None
    # Empty cells are inside the table's grid: one conditional format draws it over every data row and column,
    # and the columns' own format wraps and top-aligns what is typed there later.
    (grid,) = ws.conditional_formatting
    assert str(grid.sqref) == "A2:G3" and grid.rules[0].formula == ["TRUE"]
    assert grid.rules[0].dxf.border.left.style == "thin"
    assert ws.column_dimensions[
        "A"
    ].alignment.wrap_text  # (A:G share one <col> element: same width and format)
    assert (
        ws.cell(row=3, column=1).value == "nan" and ws.cell(row=3, column=1).data_type == "s"
    )  # not a broken number


def test_layout_options_title_grouped_header_sections_hidden_column_freeze_and_print():
    columns = [
        Column("序号", 8), Column("任务", 30), Column("进展", 20, group="本期"), Column("问题", 20, group="本期"),
        Column("编号", 10, hidden=True),
    ]  # fmt: skip
    sheet = Sheet(
        name="台账", title="标题", subtitle="导出时间", columns=columns, freeze_columns=1,
        rows=[Section("一、", "第一部分"), ["1.", "任务一", "", "", "T1"]],
    )  # fmt: skip
    for streaming in (False, True):
        _data, ws = _render(sheet, streaming=streaming)
        merged = {str(r) for r in ws.merged_cells.ranges}
        assert {
            "A1:D1",
            "A2:D2",
            "A3:A4",
            "B3:B4",
            "C3:D3",
            "B5:D5",
        } <= merged  # the hidden column is left out
        assert (ws["A1"].value, ws["C3"].value, ws["C4"].value, ws["A5"].value, ws["B5"].value) == (
            "标题",
            "本期",
            "进展",
            "一、",
            "第一部分",
        )
        assert ws["B5"].font.bold and ws.column_dimensions["E"].hidden
        assert ws.freeze_panes == "B5" and ws.print_title_rows == "$3:$4"
        assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
        # One page wide (fitToWidth 1 is the default, so it is not written), as many pages tall as needed.
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth in (None, 1)
        assert ws.page_setup.fitToHeight == 0


def test_protection_locks_only_the_key_columns_and_lists_become_drop_downs():
    sheet = Sheet(
        name="填报",
        columns=[
            Column("编号"),
            Column("进展", editable=True, choices=("未启动", "推进中")),
            Column("说明", editable=True),
        ],
        rows=[["一.1", "", ""], ["一.2", "推进中", "x"], ["一.3", Fixed("已完成"), NOT_FILLED]],
        protect=True,
    )
    _data, ws = _render(sheet)
    assert ws.protection.sheet and not ws.protection.password
    assert ws["A2"].protection.locked and not ws["B2"].protection.locked and not ws["C3"].protection.locked
    assert (
        ws["B4"].value == "已完成" and ws["B4"].protection.locked and ws["C4"].protection.locked
    )  # fixed cells
    assert ws["A2"].fill.fgColor.rgb.endswith("EDEDED") and ws["B2"].fill.fill_type is None  # grey = locked
    (validation,) = ws.data_validations.dataValidation
    assert validation.formula1 == '"未启动,推进中"' and str(validation.sqref) == "B2:B4"
    assert "进展只能选" in validation.error or "未启动、推进中" in validation.error


def test_sheet_names_are_made_acceptable_to_excel():
    assert sheet_name("2024/Q3: 汇总[1]") == "2024_Q3_ 汇总_1_"
    assert len(sheet_name("很长" * 40)) == 31
