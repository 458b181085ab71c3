"""The one xlsx writer of the product, with one cell policy, used by every export.

Producers describe sheets (`Sheet`: columns, title, rows) and yield rows; `render_xlsx` alone knows the file
format (pretix's ListExporter idea). Layout needs are options of that renderer, not second writers: a title and
subtitle row, a two-row header whose group headings are merged, section rows (label in the first column, text
merged across the rest), column widths, hidden columns, frozen panes, A4 landscape print setup with repeated
header rows and page numbers, drop-down lists, and sheet protection that locks only the key columns (with
`Fixed` values and `NOT_FILLED` cells locked and grey inside editable columns).

The cell policy, decided by the value's type (a column's `kind` only picks the number format):

- text (`str`) is written as a string cell, never as a formula, and never altered: "=1+1" stays the literal
  text "=1+1" (no leading ' is added, so audit text is exported exactly);
- numbers (int, float, Decimal) are numbers; in a `percent` column they are fractions shown as 0.0%;
- dates are real dates (yyyy-mm-dd), datetimes real datetimes in Asia/Shanghai local time (yyyy-mm-dd hh:mm);
- booleans become 是 / 否; None and "" leave the cell empty (inside the table's grid).

Engine: XlsxWriter, chosen by measuring it against openpyxl's write-only mode (bench/bench_xlsx_writers.py: several
times faster for the same styled layout); `streaming=True` switches to its constant-memory mode for very long
exports. XlsxWriter's cost is per cell, so the empty cells of an unprotected sheet are not written: one
conditional format draws the table's grid over them and the columns' format wraps what is typed there later
(a quarter of the ledger's cells). The XML splice it replaced (openpyxl frame plus rows pasted into the sheet
XML) was faster, at the price of a second, regex-driven writer.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

TEXT, NUMBER, INTEGER, PERCENT, DATE, DATETIME = "text", "number", "integer", "percent", "date", "datetime"
NUMBER_FORMATS = {
    TEXT: None,
    NUMBER: "General",
    INTEGER: "0",
    PERCENT: "0.0%",
    DATE: "yyyy-mm-dd",
    DATETIME: "yyyy-mm-dd hh:mm",
}
# Excel's own limits: a sheet name has at most 31 characters and none of these.
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class Column:
    header: str
    width: float = 12
    kind: str = TEXT  # picks the number format of numbers and dates in this column
    group: str = ""  # columns side by side with the same group share a merged heading above their headers
    hidden: bool = False
    editable: bool = False  # stays unlocked when the sheet is protected
    choices: tuple[str, ...] = ()  # a drop-down list (data validation) on the data rows
    choices_message: str = ""  # shown by Excel when a value outside `choices` is typed

    def __post_init__(self):
        if self.kind not in NUMBER_FORMATS:
            raise ValueError(f"unknown column kind {self.kind!r}")


@dataclass(frozen=True)
class Fixed:
    """A value that is not to be changed even in an editable column (a report already submitted): on a protected
    sheet it is locked and grey like the key columns. `Fixed(None)` is an empty cell not to be filled in."""

    value: object = None


# A cell that is not to be filled in (a target the row's task does not have).
NOT_FILLED = Fixed(None)


@dataclass(frozen=True)
class Section:
    """A heading row between data rows: `label` in the first column, `text` merged over the other visible ones."""

    label: str
    text: str


@dataclass
class Sheet:
    name: str
    columns: Sequence[Column]
    rows: Iterable[Sequence | Section]
    title: str = ""
    subtitle: str = ""
    freeze_columns: int = 0  # columns kept in view when scrolling sideways
    protect: bool = False  # lock every column that is not `editable` (no password: it guards against slips)
    note: str = ""  # a line under the last row (e.g. how to fill the sheet in)
    # Filled in by render_xlsx: how many data rows (section rows not counted) were written.
    row_count: int = field(default=0, init=False)


def sheet_name(name: str) -> str:
    return (_SHEET_NAME_BAD.sub("_", name).strip("'") or "Sheet")[:31]


class _Formats:
    """The few cell formats of a workbook, made once each (a format per cell would bloat styles.xml)."""

    def __init__(self, workbook):
        self.workbook = workbook
        self.cache: dict = {}
        border = {"border": 1, "border_color": "#808080"}
        self.title = workbook.add_format(
            {"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"}
        )
        self.subtitle = workbook.add_format({"align": "right"})
        self.header = workbook.add_format(
            {
                "bold": True,
                "bg_color": "#DDEBF7",
                "align": "center",
                "valign": "vcenter",
                "text_wrap": True,
                **border,
            }
        )
        self.note = workbook.add_format({"italic": True, "font_color": "#555555"})
        # Empty cells of an unprotected table are not written one by one: the columns' own format gives a cell
        # typed there later its wrap and alignment, and one conditional format over the table draws the grid.
        self.column = workbook.add_format({"text_wrap": True, "valign": "top"})
        self.grid = workbook.add_format({"border": 1, "border_color": "#808080"})
        self._data = {"text_wrap": True, "valign": "top", **border}
        self._section = {
            "bold": True,
            "bg_color": "#F2F2F2",
            "valign": "vcenter",
            "text_wrap": True,
            **border,
        }

    def cell(self, *, kind: str, section: bool = False, unlocked: bool = False, shaded: bool = False):
        """`shaded`: a locked cell of a protected sheet, greyed so the fill-in cells stand out."""
        key = (kind, section, unlocked, shaded)
        fmt = self.cache.get(key)
        if fmt is None:
            props = dict(self._section if section else self._data)
            if NUMBER_FORMATS[kind]:
                props["num_format"] = NUMBER_FORMATS[kind]
            if unlocked:
                props["locked"] = False
            if shaded:
                props["bg_color"] = "#EDEDED"
            fmt = self.cache[key] = self.workbook.add_format(props)
        return fmt


def _local_naive(value: dt.datetime) -> dt.datetime:
    # Excel has no time zones: an aware datetime is written as Asia/Shanghai wall-clock time.
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.replace(tzinfo=None)


class _Writer:
    """Writes one sheet, row after row (constant-memory mode writes each row out when the next one starts)."""

    def __init__(self, workbook, formats: _Formats, sheet: Sheet, *, streaming: bool):
        self.streaming = streaming
        self.ws = workbook.add_worksheet(sheet_name(sheet.name))
        self.formats = formats
        self.sheet = sheet
        self.columns = list(sheet.columns) or [Column("")]
        self.visible = [i for i, c in enumerate(self.columns) if not c.hidden]
        self.last_visible = self.visible[-1] if self.visible else len(self.columns) - 1
        protect = sheet.protect
        self.data_formats = [
            {
                kind: formats.cell(
                    kind=kind, unlocked=protect and c.editable, shaded=protect and not c.editable
                )
                for kind in (TEXT, c.kind, DATE, DATETIME)
            }
            for c in self.columns
        ]
        self.fixed_formats = [
            {kind: formats.cell(kind=kind, shaded=protect) for kind in (TEXT, c.kind)} for c in self.columns
        ]
        self.section_format = formats.cell(kind=TEXT, section=True)
        self.row = 0

    # --- frame ---------------------------------------------------------------------------------------------

    def frame(self) -> None:
        ws, s, f = self.ws, self.sheet, self.formats
        column_format = None if s.protect else f.column
        for i, c in enumerate(self.columns):
            ws.set_column(i, i, c.width, column_format, {"hidden": True} if c.hidden else None)
        if s.title:
            ws.set_row(self.row, 30)
            self._merged_text(self.row, s.title, f.title)
            self.row += 1
        if s.subtitle:
            self._merged_text(self.row, s.subtitle, f.subtitle)
            self.row += 1
        self.header_first = self.row
        grouped = any(c.group for c in self.columns)
        top = self.row
        if grouped:
            # Row 1 of the header: group headings merged over their columns, the other headers merged down over
            # both header rows. Written cell by cell in row order (streaming cannot go back a row), then the
            # vertical merges are added.
            vertical = []
            c = 0
            while c < len(self.columns):
                col = self.columns[c]
                if col.group:
                    end = c
                    while end + 1 < len(self.columns) and self.columns[end + 1].group == col.group:
                        end += 1
                    if end > c:
                        ws.merge_range(top, c, top, end, col.group, f.header)
                    else:
                        ws.write_string(top, c, col.group, f.header)
                    c = end + 1
                else:
                    ws.write_string(top, c, col.header, f.header)
                    vertical.append(c)
                    c += 1
            for c, col in enumerate(self.columns):
                if col.group:
                    ws.write_string(top + 1, c, col.header, f.header)
                else:
                    ws.write_blank(top + 1, c, None, f.header)
            for c in vertical:
                if self.streaming:
                    _register_merge(ws, top, c, top + 1, c)
                else:
                    ws.merge_range(top, c, top + 1, c, self.columns[c].header, f.header)
            self.row = top + 2
        else:
            for c, col in enumerate(self.columns):
                ws.write_string(top, c, col.header, f.header)
            self.row = top + 1
        self.header_last = self.row - 1
        self.first_data = self.row
        ws.freeze_panes(self.first_data, s.freeze_columns)
        ws.repeat_rows(self.header_first, self.header_last)
        ws.set_landscape()
        ws.set_paper(9)  # A4
        ws.fit_to_pages(1, 0)
        ws.center_horizontally()
        ws.set_margins(left=0.4, right=0.4)
        ws.set_footer("&C第 &P 页，共 &N 页")

    def _merged_text(self, row: int, text: str, fmt) -> None:
        if self.last_visible > 0:
            self.ws.merge_range(row, 0, row, self.last_visible, "", fmt)
        self.ws.write_string(row, 0, text, fmt)

    # --- rows ----------------------------------------------------------------------------------------------

    def rows(self, rows: Iterable) -> int:
        ws = self.ws
        # XlsxWriter's undecorated writers: the public ones first check for "A1"-style arguments on every call,
        # which costs a tenth of the export at 10,000 rows.
        write_string, write_number, write_blank, write_datetime = (
            ws._write_string, ws._write_number, ws._write_blank, ws._write_datetime
        )  # fmt: skip
        if not self.sheet.protect:
            # Empty cells are left out (a quarter of the ledger's cells, a quarter of the time to write it): the
            # grid and the column formats cover them (see _Formats). A protected sheet writes them, each with
            # its own lock and shade.
            def write_blank(*_args):
                return None

        formats = self.data_formats
        text_formats = [f[TEXT] for f in formats]
        columns = self.columns
        section_format = self.section_format
        r = self.row
        n = sections = 0
        for values in rows:
            if values.__class__ is Section:
                write_string(r, 0, values.label, section_format)
                if self.last_visible > 1:
                    ws.merge_range(r, 1, r, self.last_visible, values.text, section_format)
                else:
                    write_string(r, 1, values.text, section_format)
                sections += 1
            else:
                c = 0
                for value in values:
                    cls = value.__class__
                    if cls is str:
                        if value:
                            write_string(r, c, value, text_formats[c])
                        else:
                            write_blank(r, c, None, text_formats[c])
                    elif value is None:
                        write_blank(r, c, None, text_formats[c])
                    elif cls is bool:
                        write_string(r, c, "是" if value else "否", text_formats[c])
                    elif cls is int or cls is float or cls is Decimal:
                        number = float(value)
                        if math.isfinite(number):
                            write_number(r, c, number, formats[c][columns[c].kind])
                        else:
                            write_string(r, c, str(value), text_formats[c])
                    elif cls is dt.datetime:
                        write_datetime(r, c, _local_naive(value), formats[c][DATETIME])
                    elif cls is dt.date:
                        write_datetime(
                            r, c, dt.datetime(value.year, value.month, value.day), formats[c][DATE]
                        )
                    elif cls is Fixed:
                        self._write_fixed(r, c, value.value)
                    else:
                        # Anything else (lazy translations, subclasses of str or int, ...) goes in as its text.
                        text = str(value)
                        if text:
                            write_string(r, c, text, text_formats[c])
                        else:
                            write_blank(r, c, None, text_formats[c])
                    c += 1
            r += 1
            n += 1
        self.row = r
        self.written = n
        return n - sections

    def _write_fixed(self, r: int, c: int, value) -> None:
        formats = self.fixed_formats[c]
        if value is None or value == "":
            self.ws._write_blank(r, c, None, formats[TEXT])
        elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            self.ws._write_number(r, c, float(value), formats[self.columns[c].kind])
        else:
            self.ws._write_string(r, c, str(value), formats[TEXT])

    def finish(self) -> None:
        ws, s = self.ws, self.sheet
        last_data = self.first_data + max(self.written, 1) - 1
        for c, col in enumerate(self.columns):
            if col.choices:
                options = {
                    "validate": "list",
                    "source": list(col.choices),
                    "error_title": f"{col.header}填写有误",
                    "error_message": col.choices_message or f"{col.header}只能选：{'、'.join(col.choices)}。",
                }
                ws.data_validation(self.first_data, c, last_data, c, options)
        if not s.protect and self.written:
            grid = {"type": "formula", "criteria": "TRUE", "format": self.formats.grid}
            ws.conditional_format(self.first_data, 0, last_data, len(self.columns) - 1, grid)
        if s.note:
            self.ws.write_string(self.row + 1, 0, s.note, self.formats.note)
        if s.protect:
            # No password: the lock keeps keys from being changed by a slip; it is not a security boundary
            # (the upload checks every key again).
            ws.protect("", {"format_columns": True, "format_rows": True, "sort": False, "autofilter": True})


def _register_merge(ws, first_row: int, first_col: int, last_row: int, last_col: int) -> None:
    """Record a merge over cells already written (in row order). XlsxWriter's merge_range writes the covered cells
    itself, which in constant-memory mode would go back to an earlier row; its merge list is what it writes."""
    ws.merge.append([first_row, first_col, last_row, last_col])


def render_xlsx(sheets: Sequence[Sheet], *, streaming: bool = False) -> bytes:
    """The workbook of these sheets, written under the one cell policy (module docstring).

    `streaming`: XlsxWriter's constant-memory mode, each row written out as soon as the next one starts, for
    exports that can run to 100,000 rows (the audit log). Otherwise the workbook is built in memory with shared
    strings, about a quarter faster (bench/bench_xlsx_writers.py); it holds about 4 MB per 1,000 ledger rows until
    the file is written."""
    import xlsxwriter

    buf = io.BytesIO()
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    options.update({"constant_memory": True} if streaming else {"in_memory": True})
    workbook = xlsxwriter.Workbook(buf, options)
    formats = _Formats(workbook)
    for sheet in sheets:
        writer = _Writer(workbook, formats, sheet, streaming=streaming)
        writer.frame()
        sheet.row_count = writer.rows(sheet.rows)
        writer.finish()
    workbook.close()
    return buf.getvalue()


def export_filename(prefix: str, now: dt.datetime | None = None) -> str:
    local = timezone.localtime(now or timezone.now())
    return f"{prefix}-{local:%Y%m%d-%H%M}.xlsx"


def xlsx_response(data: bytes, *, filename: str) -> HttpResponse:
    """A download; the Chinese file name RFC 5987-encoded."""
    response = HttpResponse(data, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response
