"""tasks.excel._sheet_rows reads a sheet as calamine's to_python(skip_empty_area=False) would, from A1 (that it holds a
repeated short text once is tested beside the streamed reader: tests/excel/test_xlsx_reader.py)."""

import io

import openpyxl
import pytest
import python_calamine as pc

from tasks.excel import _sheet_rows


@pytest.mark.parametrize("cells", [["A1"], ["A3", "B4"], ["C1", "D2"], ["B2", "E7"], []])
def test_rows_start_at_a1_whatever_the_first_used_cell(cells):
    wb = openpyxl.Workbook()
    ws = wb.active
    for i, ref in enumerate(cells):
        ws[ref] = "市卫生健康委" if i % 2 == 0 else 2.5
    buf = io.BytesIO()
    wb.save(buf)
    sheet = pc.CalamineWorkbook.from_filelike(io.BytesIO(buf.getvalue())).get_sheet_by_index(0)
    assert _sheet_rows(sheet) == sheet.to_python(skip_empty_area=False)
