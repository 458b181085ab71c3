"""A small shared helper for Excel downloads of what a page shows: title row, header, column widths, frozen header.

Text that a spreadsheet would read as a formula (starting with = + - @, a tab or a carriage return) is stored as
plain text (OWASP "CSV/formula injection"): a unit or task name typed as "=HYPERLINK(…)" must never run.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def set_cell(cell, value) -> None:
    """Write a value; strings that look like formulas are kept as text."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.replace(tzinfo=None)  # Excel has no time zones; callers pass local times
    cell.value = value
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        cell.data_type = "s"
        cell.quotePrefix = True


def write_table(
    ws,
    *,
    title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence],
    widths: Sequence[int] | None = None,
    number_formats: dict[int, str] | None = None,
) -> None:
    """Title in row 1 (merged across the table), header in row 2, data from row 3; the header stays frozen."""
    ncols = max(len(headers), 1)
    set_cell(ws.cell(row=1, column=1), title)
    ws.cell(row=1, column=1).font = Font(bold=True, size=14)
    ws.cell(row=1, column=1).alignment = Alignment(horizontal="center")
    if ncols > 1:
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
    fill = PatternFill("solid", fgColor="EEF1F5")
    for col, header in enumerate(headers, start=1):
        cell = ws.cell(row=2, column=col)
        set_cell(cell, header)
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for r, row in enumerate(rows, start=3):
        for col, value in enumerate(row, start=1):
            cell = ws.cell(row=r, column=col)
            set_cell(cell, value)
            if number_formats and col in number_formats and isinstance(value, int | float):
                cell.number_format = number_formats[col]
    for col in range(1, ncols + 1):
        width = widths[col - 1] if widths and col - 1 < len(widths) else 12
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "A3"
    ws.print_options.gridLines = True
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.print_title_rows = "2:2"


def workbook_bytes(sheets: Sequence[dict]) -> bytes:
    """sheets: [{name, title, headers, rows, widths?, number_formats?}] -> .xlsx bytes."""
    wb = Workbook()
    wb.remove(wb.active)
    for sheet in sheets:
        ws = wb.create_sheet(title=sheet["name"][:31])
        write_table(
            ws,
            title=sheet["title"],
            headers=sheet["headers"],
            rows=sheet["rows"],
            widths=sheet.get("widths"),
            number_formats=sheet.get("number_formats"),
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def xlsx_response(*, filename: str, sheets: Sequence[dict]) -> HttpResponse:
    response = HttpResponse(workbook_bytes(sheets), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response
