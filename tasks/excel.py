"""Excel in and out in the layout offices use: the ledger export and import, with bad-file defences.

Reading: python-calamine, after the file has been checked (size, type, encryption, zip bomb, XML entities, row
and column counts) without inflating anything unchecked. Writing: openpyxl builds the workbook (styles, merged
two-row header, widths, print setup, frozen header); the data rows are streamed into its sheet XML as inline
strings, because openpyxl's own cell writer manages ~4,000 rows/s here and offices export 10,000-task ledgers.
Every text cell is written with t="inlineStr", so a value starting with = + - @ tab or CR stays text.
"""

import datetime as dt
import gc
import io
import json
import re
import unicodedata
import zipfile
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.utils import timezone

from departments.models import Unit, UnitKind
from departments.services import ApplicationError

from .models import Document, Milestone, Progress, Target, Task, TaskUnit
from .resources import (
    LEDGER_COLUMNS,
    PERIOD_GROUP,
    Column,
    TaskState,
    normalize_cell,
    ref_text,
    task_cells,
)

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
MAX_ZIP_MEMBERS = 2000
MAX_INFLATION_RATIO = 200  # sheet XML compresses 10-30x; 200x is a bomb, not a ledger
HEADER_SCAN_ROWS = 30


class SpreadsheetError(ApplicationError):
    """The file itself cannot be read (not the rows in it)."""


def _mb(n: int) -> str:
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / 1024 / 1024:.0f} MB" if n % (1024 * 1024) == 0 or n >= 10 * 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


@contextmanager
def gc_paused():
    """The cyclic garbage collector off for one import or export. Such a run holds a few hundred thousand live
    objects (cells, row plans, TaskStates) and makes no cycles worth collecting: every generation-2 pass walks all
    of them, which cost a third of the re-import's CPU time. Collection resumes (and catches up) afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def max_uncompressed_bytes() -> int:
    return getattr(settings, "IMPORT_MAX_UNCOMPRESSED_BYTES", max(10 * settings.IMPORT_MAX_BYTES, 200 * 1024 * 1024))


# --------------------------------------------------------------------------------------------------- reading


def _check_zip(data: bytes) -> None:
    """Check an .xlsx before anything inflates it: member count and sizes, ratio, entities, rows and columns."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, EOFError, ValueError):
        raise SpreadsheetError("文件已损坏或不完整（可能上传中断），无法读取。请重新保存后上传。", field="file") from None
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names and "xl/workbook.bin" not in names:
        raise SpreadsheetError("文件不是 Excel 工作簿（.xlsx / .xls）。", field="file")
    if len(members) > MAX_ZIP_MEMBERS:
        raise SpreadsheetError(f"文件包含的部件过多（{len(members)} 个，上限 {MAX_ZIP_MEMBERS} 个），拒绝读取。", field="file")
    limit = max_uncompressed_bytes()
    declared = sum(m.file_size for m in members)
    if declared > limit:
        raise SpreadsheetError(
            f"文件解压后过大（{_mb(declared)}，上限 {_mb(limit)}），疑似压缩炸弹，拒绝读取。", field="file"
        )
    for m in members:
        if m.file_size > 1024 * 1024 and m.file_size > MAX_INFLATION_RATIO * max(m.compress_size, 1):
            raise SpreadsheetError(
                f"文件压缩比异常（{m.file_size // max(m.compress_size, 1)} 倍，上限 {MAX_INFLATION_RATIO} 倍），"
                "疑似压缩炸弹，拒绝读取。",
                field="file",
            )
    max_rows, max_cols = settings.IMPORT_MAX_ROWS, settings.IMPORT_MAX_COLUMNS
    # Only references that could pass a limit are looked at: with a limit of 26 columns or more, single-letter
    # columns (A-Z) cannot; a row number with fewer digits than the limit cannot. Ordinary sheets have none of them.
    wide_cells = re.compile(rb'<c r="([A-Z]{%d,3})\d' % (2 if max_cols >= 26 else 1))
    long_rows = re.compile(rb'<row r="(\d{%d,})"' % len(str(max_rows + HEADER_SCAN_ROWS)))
    for m in members:
        if not m.filename.endswith((".xml", ".rels")):
            continue
        is_sheet = m.filename.startswith("xl/worksheets/")
        rows, widest, tail = 0, 0, b""
        try:
            # ZipExtFile never returns more than the declared size and checks the CRC at the end,
            # so a member that lies about its size fails here instead of inflating without bound.
            with archive.open(m) as fh:
                while chunk := fh.read(1024 * 1024):
                    window = tail + chunk
                    upper = window[:4096].upper() if not tail else b""
                    if b"<!DOCTYPE" in window or b"<!ENTITY" in window or b"<!DOCTYPE" in upper:
                        raise SpreadsheetError(
                            "文件包含 XML 实体或 DOCTYPE 声明，出于安全原因拒绝读取。请用 Excel 或 WPS 另存后再上传。",
                            field="file",
                        )
                    if is_sheet:
                        rows += chunk.count(b"<row")
                        if rows > max_rows + HEADER_SCAN_ROWS:
                            raise SpreadsheetError(
                                f"表格行数超过上限（最多 {max_rows} 行），请拆分后分批导入。", field="file"
                            )
                        for ref in set(wide_cells.findall(window)):
                            widest = max(widest, _column_number(ref.decode()))
                        for ref in long_rows.findall(window):
                            if int(ref) > max_rows + HEADER_SCAN_ROWS:
                                raise SpreadsheetError(
                                    f"表格行数超过上限（最多 {max_rows} 行），请拆分后分批导入。", field="file"
                                )
                        if widest > max_cols:
                            raise SpreadsheetError(
                                f"表格列数超过上限（最多 {max_cols} 列），请删除多余的列后再导入。", field="file"
                            )
                    tail = chunk[-32:]
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as e:
            if isinstance(e, RuntimeError) and "encrypt" in str(e).lower():
                raise SpreadsheetError("文件已加密（设置了打开密码），请取消密码后再上传。", field="file") from None
            raise SpreadsheetError("文件已损坏或不完整（可能上传中断），无法读取。请重新保存后上传。", field="file") from None


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def column_letter(index: int) -> str:
    """0 -> A, 26 -> AA."""
    index += 1
    out = ""
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def _check_ole(data: bytes) -> None:
    # An encrypted .xlsx is an OLE container holding "EncryptedPackage"; an encrypted .xls is caught by calamine.
    if "EncryptedPackage".encode("utf-16-le") in data or "EncryptionInfo".encode("utf-16-le") in data:
        raise SpreadsheetError("文件已加密（设置了打开密码），请取消密码后再上传。", field="file")
    if len(data) < 1536:
        raise SpreadsheetError("文件已损坏或不完整（可能上传中断），无法读取。请重新保存后上传。", field="file")


@dataclass
class SheetData:
    """One worksheet as Python values (row i is Excel row i+1) and its merged ranges ((r0, c0), (r1, c1)), 0-based."""

    name: str
    rows: list[list]
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)

    @property
    def has_content(self) -> bool:
        return any(any(v not in ("", None) for v in r) for r in self.rows[:HEADER_SCAN_ROWS])


def read_sheets(data: bytes, *, max_sheets: int = 20) -> list[SheetData]:
    """Every worksheet of an uploaded workbook, after the file has passed the safety checks."""
    import python_calamine as pc

    if not data:
        raise SpreadsheetError("文件是空的。", field="file")
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise SpreadsheetError(
            f"文件过大（{len(data) / 1024 / 1024:.1f} MB），上限为 {_mb(settings.IMPORT_MAX_BYTES)}。",
            field="file",
        )
    if data.startswith(ZIP_MAGIC):
        _check_zip(data)
    elif data.startswith(OLE_MAGIC):
        _check_ole(data)
    else:
        raise SpreadsheetError(
            "文件不是 Excel 表格（只支持 .xlsx 和 .xls，包括 WPS 保存的文件）。", field="file"
        )
    try:
        workbook = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets: list[SheetData] = []
        for index in range(min(len(workbook.sheet_names), max_sheets)):
            sheet = workbook.get_sheet_by_index(index)
            if sheet.height > settings.IMPORT_MAX_ROWS + HEADER_SCAN_ROWS:
                raise SpreadsheetError(
                    f"表格行数超过上限（最多 {settings.IMPORT_MAX_ROWS} 行），请拆分后分批导入。",
                    field="file",
                )
            if sheet.width > settings.IMPORT_MAX_COLUMNS:
                raise SpreadsheetError(
                    f"表格列数超过上限（最多 {settings.IMPORT_MAX_COLUMNS} 列），请删除多余的列后再导入。",
                    field="file",
                )
            rows = sheet.to_python(skip_empty_area=False)
            try:
                merged = list(sheet.merged_cell_ranges or [])
            except Exception:  # noqa: BLE001 - formats without merge records
                merged = []
            sheets.append(SheetData(sheet.name, rows, merged))
        return sheets
    except pc.PasswordError:
        raise SpreadsheetError("文件已加密（设置了打开密码），请取消密码后再上传。", field="file") from None
    except SpreadsheetError:
        raise
    except Exception as e:  # calamine raises several error types for damaged content
        if "password" in str(e).lower() or "encrypt" in str(e).lower():
            raise SpreadsheetError(
                "文件已加密（设置了打开密码），请取消密码后再上传。", field="file"
            ) from None
        raise SpreadsheetError(
            "文件已损坏或不完整（可能上传中断），无法读取。请重新保存后上传。", field="file"
        ) from None


def read_rows(data: bytes) -> list[list]:
    """All rows of the first worksheet that has content, as Python values; row i is Excel row i+1."""
    sheets = read_sheets(data)
    for sheet in sheets:
        if sheet.has_content:
            return sheet.rows
    return sheets[-1].rows if sheets else []


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, dt.date):
        return f"{value:%Y-%m-%d}"
    return str(value)


# --------------------------------------------------------------------------------------------------- headers


def _norm_header(text) -> str:
    text = unicodedata.normalize("NFKC", cell_text(text))
    return re.sub(r"[\s*＊:：]", "", text)


def _header_lookup(columns=None) -> dict[str, str]:
    lookup = {}
    for col in columns or LEDGER_COLUMNS:
        for name in (col.header, *col.synonyms):
            n = _norm_header(name)
            lookup.setdefault(n, col.key)
            lookup.setdefault(re.sub(r"\(.*?\)", "", n), col.key)
    return lookup


def find_header(rows: list[list], columns=None, required: str = "title") -> tuple[dict[str, int], dict[str, str], int]:
    """(key -> column index, key -> header text, index of the first data row). Finds a one- or two-row header."""
    lookup = _header_lookup(columns)

    def match(row):
        found = {}
        for i, v in enumerate(row):
            n = _norm_header(v)
            key = lookup.get(n) or lookup.get(re.sub(r"\(.*?\)", "", n))
            if key and key not in found:
                found[key] = i
        return found

    for r, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        found = match(row)
        if len(found) >= 3 and required in found:
            start = r + 1
            if start < len(rows):
                extra = {k: i for k, i in match(rows[start]).items() if k not in found}
                if extra:
                    found.update(extra)
                    start += 1
            headers = {}
            for k, i in found.items():
                below = cell_text(rows[start - 1][i]) if start - 1 > r and i < len(rows[start - 1]) else ""
                headers[k] = below or cell_text(rows[r][i])
            return found, headers, start
    raise SpreadsheetError(
        "找不到表头：前 30 行中没有包含“序号”“重点任务”“牵头单位”等列名的行。请使用标准台账格式（可先导出一份作为模板）。",
        field="file",
    )


@dataclass
class RowError:
    row: int
    column: str  # "E（牵头单位）"
    message: str

    def __str__(self):
        return f"第 {self.row} 行, 列 {self.column}: {self.message}"

    @property
    def english(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message}"



# --------------------------------------------------------------------------------------------------- task states (read)


def _json_value(value):
    # Raw cursors hand jsonb back as text (Django decodes it in JSONField.from_db_value), SQLite as text too.
    return json.loads(value) if isinstance(value, str) else value


def _rows_for_tasks(sql: str, ids: list[int]):
    """Rows of `sql` (with one {ids} placeholder) for these task ids: one query with an array on PostgreSQL,
    chunks under the parameter limit elsewhere. Raw cursors: no per-row converters for tens of thousands of rows."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(sql.format(ids="= ANY(%s)"), [ids])
            yield from cur.fetchall()
            return
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            cur.execute(sql.format(ids=f"IN ({', '.join(['%s'] * len(chunk))})"), chunk)
            yield from cur.fetchall()


def load_states(task_ids: list[int] | None = None, *, documents: list[int] | None = None, qs=None, lock=False):
    """TaskStates for tasks by id and/or document (or of a queryset, in its order), with units, milestones and
    targets, in a few queries."""
    from django.db.models import Q

    units = {u.pk: u for u in Unit.objects.all()}
    columns = ("id", "version", "document_id", "path", "title", "text", "note", "status", "section")
    if qs is None and connection.vendor == "postgresql":
        # Two arrays, not Django's IN list of one parameter per task: "id IN (...10,000...) OR document_id IN (...)"
        # is planned as a parallel scan of the whole table (0.1 s at 200,000 tasks), the arrays as two index scans.
        # Locked in id order, so two imports of overlapping ledgers take their row locks in the same order.
        sql = (
            f"SELECT {', '.join(columns)} FROM {Task._meta.db_table} WHERE deleted_at IS NULL"
            f" AND (id = ANY(%s) OR document_id = ANY(%s)) ORDER BY id{' FOR UPDATE' if lock else ''}"
        )
        params = [task_ids or [], documents or []]
    else:
        if qs is None:
            qs = Task.objects.alive().filter(Q(pk__in=task_ids or []) | Q(document_id__in=documents or []))
        if lock:
            qs = qs.select_for_update()
        values = qs.values_list(*columns)
        try:
            sql, params = values.query.get_compiler(using=values.db).as_sql()
        except EmptyResultSet:
            return {}
    with connection.cursor() as cur:
        cur.execute(sql, params)
        tasks = cur.fetchall()
    doc_ids = {t[2] for t in tasks}
    labels = {d.pk: d.doc_number or d.title for d in Document.objects.filter(pk__in=doc_ids).only("id", "doc_number", "title")}
    sections: dict = {}  # tasks under one heading share its text: decode it once
    states = {}
    raw_paths = [t[3] for t in tasks]
    if all(isinstance(p, str) for p in raw_paths):
        # One json.loads of all paths as one array: the per-call cost, not the parsing, is what 10,000 calls cost.
        paths = json.loads("[" + ",".join(raw_paths) + "]") if raw_paths else []
    else:
        paths = [_json_value(p) for p in raw_paths]
    for (tid, version, doc_id, _path, title, text, note, status, section), path in zip(tasks, paths, strict=True):
        key = section if isinstance(section, str) else repr(section)
        if key not in sections:
            sections[key] = _json_value(section) or []
        states[tid] = TaskState(
            id=tid, version=version, document_id=doc_id, document_label=labels[doc_id],
            path=list(path), title=title, text=text, note=note, status=status, lead=[], responsible=[],
            counties=[], milestones=[], targets=[], section=list(sections[key]),
        )
    if not states:
        return states
    roles = {TaskUnit.Role.LEAD.value: "lead", TaskUnit.Role.RESPONSIBLE.value: "responsible", TaskUnit.Role.COUNTY.value: "counties"}
    ids = list(states)
    tu, ms = TaskUnit._meta.db_table, Milestone._meta.db_table
    for task_id, unit_id, role in _rows_for_tasks(
        f"SELECT task_id, unit_id, role FROM {tu} WHERE task_id {{ids}} ORDER BY task_id, role, position, id", ids
    ):
        getattr(states[task_id], roles[role]).append(units[unit_id])
    for task_id, date, text, context, done in _rows_for_tasks(
        f"SELECT task_id, date, text, context, done FROM {ms} WHERE task_id {{ids}} ORDER BY task_id, date NULLS LAST, id", ids
    ):
        if date.__class__ is str:  # SQLite
            date = dt.date.fromisoformat(date)
        states[task_id].milestones.append((date, text, context, bool(done)))
    if connection.vendor == "postgresql":
        targets = Target.objects.raw(f"SELECT * FROM {Target._meta.db_table} WHERE task_id = ANY(%s) ORDER BY id", [ids])
    else:
        targets = [t for i in range(0, len(ids), 500) for t in Target.objects.filter(task_id__in=ids[i : i + 500])]
        targets.sort(key=lambda t: t.pk)
    for target in targets:
        states[target.task_id].targets.append(target)
    return states


# --------------------------------------------------------------------------------------------------- export


_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ILLEGAL_XML_BUT_NUL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(value: str) -> str:
    value = _ILLEGAL_XML.sub("", value)
    # A CR would become LF when read back; the character reference keeps it.
    return escape(value).replace("\r", "&#13;")


@dataclass
class SheetSpec:
    title: str
    subtitle: str
    columns: list  # [(header, width, group)]
    rows: list  # [(kind, [values])]: kind "data" or "section"
    hidden_last: bool = False
    name: str = "台账"


def _build_sheet(wb, spec: SheetSpec, styles_holder: dict):
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(spec.name)
    ncols = len(spec.columns)
    last = get_column_letter(ncols - 1 if spec.hidden_last else ncols)
    thin = Side(style="thin", color="808080")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    ws.append([spec.title])
    ws.merge_cells(f"A1:{last}1")
    ws["A1"].font = Font(bold=True, size=16)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 30
    ws.append([spec.subtitle])
    ws.merge_cells(f"A2:{last}2")
    ws["A2"].alignment = Alignment(horizontal="right")
    head_font, head_fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    head_align = Alignment(horizontal="center", vertical="center", wrap_text=True)
    grouped = any(g for _h, _w, g in spec.columns)
    row1 = [(g or h) for h, _w, g in spec.columns]
    row2 = [(h if g else None) for h, _w, g in spec.columns]
    ws.append(row1)
    if grouped:
        ws.append(row2)
    header_rows = [3, 4] if grouped else [3]
    for r in header_rows:
        for c in range(1, ncols + 1):
            cell = ws.cell(row=r, column=c)
            cell.font, cell.fill, cell.alignment, cell.border = head_font, head_fill, head_align, border
    if grouped:
        c = 0
        while c < ncols:
            h, _w, g = spec.columns[c]
            if g:
                end = c
                while end + 1 < ncols and spec.columns[end + 1][2] == g:
                    end += 1
                ws.merge_cells(start_row=3, start_column=c + 1, end_row=3, end_column=end + 1)
                c = end + 1
            else:
                ws.merge_cells(start_row=3, start_column=c + 1, end_row=4, end_column=c + 1)
                c += 1
    for i, (_h, width, _g) in enumerate(spec.columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    if spec.hidden_last:
        ws.column_dimensions[get_column_letter(ncols)].hidden = True
    first_data = header_rows[-1] + 1
    ws.freeze_panes = f"B{first_data}"
    ws.print_title_rows = f"{header_rows[0]}:{header_rows[-1]}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    # Section rows (merged from B to the last visible column) are written later as raw XML, their merges too:
    # openpyxl's merge_cells makes a MergedCell object for every covered cell.
    # Placeholder cells carrying the data and section styles; their style ids are read back from the XML.
    marker = first_data
    data_cell = ws.cell(row=marker, column=1, value="§DATA§")
    data_cell.alignment = Alignment(wrap_text=True, vertical="top")
    data_cell.border = border
    sec_cell = ws.cell(row=marker, column=2, value="§SECTION§")
    sec_cell.font = Font(bold=True)
    sec_cell.alignment = Alignment(vertical="center", wrap_text=True)
    sec_cell.border = border
    sec_cell.fill = PatternFill("solid", fgColor="F2F2F2")
    styles_holder[ws.title] = (spec, first_data)
    return ws


def _escape_all(values: list[str]) -> list[str]:
    """_xml_text of every value, on one joined string: NUL joins them (it is dropped from XML text anyway, so a
    value holding one falls back to one by one)."""
    joined = "\x00".join(values)
    if joined.count("\x00") != len(values) - 1:
        return [_xml_text(v) for v in values]
    return escape(_ILLEGAL_XML_BUT_NUL.sub("", joined)).replace("\r", "&#13;").split("\x00")


def _rows_xml(spec: SheetSpec, first_row: int, s_data: str, s_section: str) -> str:
    letters = [column_letter(i) for i in range(len(spec.columns))]
    flat = [str(v) for _kind, values in spec.rows for v in values if v is not None and v != ""]
    escaped = iter(_escape_all(flat) if flat else ())
    # Per column and style: the text around the row number and the value, built once, not per cell.
    parts = {}
    for style in (s_data, s_section):
        parts[style] = [
            (f'<c r="{letter}', f'" s="{style}"/>', f'" s="{style}" t="inlineStr"><is><t xml:space="preserve">')
            for letter in letters
        ]
    out = []
    append = out.append
    r = first_row
    for kind, values in spec.rows:
        rs = str(r)
        append(f'<row r="{rs}">')
        for (head, empty, open_text), value in zip(parts[s_section if kind == "section" else s_data], values, strict=False):
            if value is None or value == "":
                append(head + rs + empty)
            else:
                append(head + rs + open_text + next(escaped) + "</t></is></c>")
        append("</row>")
        r += 1
    return "".join(out)


def _section_merges(spec: SheetSpec, first_row: int) -> list[str]:
    """mergeCell elements joining each section row's cells from B to the last visible column."""
    last = column_letter(len(spec.columns) - (2 if spec.hidden_last else 1))
    return [
        f'<mergeCell ref="B{r}:{last}{r}"/>'
        for r, (kind, _values) in enumerate(spec.rows, start=first_row)
        if kind == "section"
    ]


def _add_merges(xml: str, merges: list[str]) -> str:
    if not merges:
        return xml
    m = re.search(r'<mergeCells count="(\d+)">(.*?)</mergeCells>', xml, re.S)
    if m:
        body = f'<mergeCells count="{int(m[1]) + len(merges)}">{m[2]}{"".join(merges)}</mergeCells>'
        return xml[: m.start()] + body + xml[m.end() :]
    # mergeCells follows sheetData (and sheetProtection, autoFilter, ..., none of which the frame has).
    end = xml.index("</sheetData>") + len("</sheetData>")
    return xml[:end] + f'<mergeCells count="{len(merges)}">{"".join(merges)}</mergeCells>' + xml[end:]


def write_workbook(specs: list[SheetSpec]) -> bytes:
    """An .xlsx with one sheet per spec: openpyxl writes the frame, the data rows are streamed into its XML."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    holder: dict = {}
    sheets = [_build_sheet(wb, spec, holder) for spec in specs]
    frame = io.BytesIO()
    wb.save(frame)
    frame.seek(0)
    source = zipfile.ZipFile(frame)
    out = io.BytesIO()
    sheet_paths = {f"xl/worksheets/sheet{i}.xml": ws.title for i, ws in enumerate(sheets, start=1)}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename in sheet_paths:
                spec, first_data = holder[sheet_paths[item.filename]]
                # Dimension and merges are set on the small frame; the rows go in last, as one encoded block.
                xml = content.decode("utf-8")
                last_row = first_data + len(spec.rows) - 1
                xml = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{column_letter(len(spec.columns) - 1)}{max(last_row, first_data)}"/>', xml)
                xml = _add_merges(xml, _section_merges(spec, first_data))
                m = re.search(rf'<row r="{first_data}"[^>]*>.*?</row>', xml, re.S)
                s_data = re.search(r'<c r="A\d+" s="(\d+)"', m[0])[1]
                s_section = re.search(r'<c r="B\d+" s="(\d+)"', m[0])[1]
                content = b"".join(
                    (xml[: m.start()].encode(), _rows_xml(spec, first_data, s_data, s_section).encode(), xml[m.end() :].encode())
                )
            target.writestr(item, content, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def ledger_states(qs) -> list[TaskState]:
    """The tasks of a queryset as TaskStates, in ledger order (document, then plan order)."""
    return list(load_states(qs=qs.order_by("document_id", "sort_key")).values())


def _period_reports(period, task_ids, unit_ids=None) -> dict[int, tuple[str, str, str]]:
    """The lead unit's report text for each task in a period (only of `unit_ids` when given)."""
    from reports.models import Report

    lead = defaultdict(list)
    for task_id, unit_id in TaskUnit.objects.filter(role=TaskUnit.Role.LEAD, task__in=task_ids).order_by("position").values_list("task_id", "unit_id"):
        lead[task_id].append(unit_id)
    out = {}
    for task_id, unit_id, text, problems, next_steps in Report.objects.filter(period=period, task__in=task_ids).exclude(status="draft").values_list(
        "task_id", "unit_id", "text", "problems", "next_steps"
    ):
        if lead.get(task_id) and unit_id == lead[task_id][0] and (unit_ids is None or unit_id in unit_ids):
            out[task_id] = (text, problems, next_steps)
    return out


def ledger_export(
    *, qs, period=None, title: str | None = None, now: dt.datetime | None = None, report_units: set | None = None
) -> bytes:
    """The ledger in the standard layout, one row per task under section rows for the plan's headings.

    With a period, 本期进展情况/存在问题/下步打算 come from the lead unit's report (only reports of `report_units`
    when given, so a reporter's export shows no other unit's text)."""
    with gc_paused():
        return _ledger_export(qs=qs, period=period, title=title, now=now, report_units=report_units)


def _ledger_export(*, qs, period, title, now, report_units) -> bytes:
    now = now or timezone.now()
    states = ledger_states(qs)
    county_count = Unit.objects.filter(kind=UnitKind.COUNTY, deleted_at__isnull=True).count()
    reports = _period_reports(period, qs.values("pk"), report_units) if period is not None else {}
    documents = {s.document_id for s in states}
    if title is None:
        if len(documents) == 1:
            doc = Document.objects.get(pk=next(iter(documents)))
            title = f"{doc.short_title or doc.title}任务台账"
        else:
            title = "深化医药卫生体制改革重点任务台账"
    local = timezone.localtime(now)
    subtitle = f"导出时间：{local:%Y-%m-%d %H:%M}" + (f"　本期：{period.label}" if period is not None else "")
    width = len(LEDGER_COLUMNS)
    rows = []
    emitted: set = set()
    for s in states:
        for depth in range(1, len(s.path)):
            key = (s.document_id, tuple(s.path[:depth]))
            if key in emitted:
                continue
            emitted.add(key)
            heading = s.section[depth - 1] if depth - 1 < len(s.section) else ""
            from .models import path_numbering

            rows.append(("section", [path_numbering(s.path[:depth]), heading] + [""] * (width - 2)))
        cells = task_cells(s, county_count=county_count, report=reports.get(s.id))
        values = [cells[c.key] for c in LEDGER_COLUMNS[:-1]] + [ref_text(s, cells)]
        rows.append(("data", values))
    columns = [(c.header, c.width, c.group) for c in LEDGER_COLUMNS]
    return write_workbook([SheetSpec(title=title, subtitle=subtitle, columns=columns, rows=rows, hidden_last=True)])


def export_filename(prefix: str, now: dt.datetime | None = None) -> str:
    local = timezone.localtime(now or timezone.now())
    return f"{prefix}-{local:%Y%m%d-%H%M}.xlsx"


# --------------------------------------------------------------------------------------------------- quarterly


def _timeliness(report) -> str:
    """按时 / 逾期提交 / 未提交 for one unit's report on one task."""
    from reports.models import ReportStatus

    if report is None or report.status not in (ReportStatus.SUBMITTED, ReportStatus.ACCEPTED):
        return "未提交"
    return "逾期提交" if report.is_late else "按时"


COMPILATION_COLUMNS = [
    ("编号", 10, ""), ("重点任务 / 填报单位", 30, ""), ("承担角色", 10, ""), ("进展", 9, ""), ("完成百分比", 8, ""),
    ("本期进展情况", 40, ""), ("存在问题", 24, ""), ("下步打算", 24, ""), ("报告状态", 9, ""), ("提交时间", 16, ""),
    ("及时性", 9, ""),
]


def compilation_export(*, period, qs=None, now: dt.datetime | None = None) -> bytes:
    """The quarterly compilation (汇总表): every unit's report on every task, grouped by task, with timeliness;
    and a second sheet with each unit's submission status (报送情况)."""
    from reports.models import Report
    from reports.selectors import period_submission_status

    now = now or timezone.now()
    qs = qs if qs is not None else Task.objects.alive()
    states = ledger_states(qs)
    reports = {
        (r.task_id, r.unit_id): r
        # Drafts are the unit's own until submitted (departments.permissions): not in the 汇总表.
        for r in Report.objects.filter(period=period, task__in=qs.values("pk")).exclude(status="draft").only(
            "task_id", "unit_id", "status", "progress", "percent", "text", "problems", "next_steps", "submitted_at", "is_late"
        )
    }
    rows = []
    for s in states:
        lead = "、".join(u.name for u in s.lead)
        rows.append(("section", [s.path_key, f"{s.title}（牵头：{lead or '—'}）"] + [""] * (len(COMPILATION_COLUMNS) - 2)))
        seen = set()
        for role, units in (("牵头单位", s.lead), ("责任单位", s.responsible), ("县(市、区)", s.counties)):
            for u in units:
                if u.pk in seen:
                    continue
                seen.add(u.pk)
                r = reports.get((s.id, u.pk))
                rows.append(
                    (
                        "data",
                        [
                            "", u.name, role, r.get_progress_display() if r else "", "" if not r or r.percent is None else f"{r.percent}%",
                            r.text if r else "", r.problems if r else "", r.next_steps if r else "",
                            r.get_status_display() if r else "未填报",
                            f"{timezone.localtime(r.submitted_at):%Y-%m-%d %H:%M}" if r and r.submitted_at else "",
                            _timeliness(r),
                        ],
                    )
                )
    status_rows = []
    for row in period_submission_status(period=period):
        status_rows.append(
            (
                "data",
                [
                    row.unit.name, row.unit.get_kind_display(), str(row.due), str(row.submitted), str(row.on_time),
                    str(row.late), str(row.missing), f"{(row.on_time * 100 // row.due) if row.due else 0}%", row.timeliness,
                ],
            )
        )
    local = timezone.localtime(now)
    subtitle = f"填报期：{period.label}　截止：{period.due_date:%Y-%m-%d}　导出时间：{local:%Y-%m-%d %H:%M}"
    status_columns = [
        ("单位", 26, ""), ("类型", 14, ""), ("应报", 8, ""), ("已报", 8, ""), ("按时", 8, ""), ("逾期提交", 9, ""),
        ("未提交", 8, ""), ("按时率", 8, ""), ("及时性", 10, ""),
    ]
    return write_workbook(
        [
            SheetSpec(title=f"{period.label}医改重点任务进展汇总表", subtitle=subtitle, columns=COMPILATION_COLUMNS, rows=rows, name="汇总表"),
            SheetSpec(title=f"{period.label}各单位报送情况", subtitle=subtitle, columns=status_columns, rows=status_rows, name="报送情况"),
        ]
    )


FORM_COLUMNS = [
    Column("seq", "编号", 10, ("序号",)),
    Column("title", "重点任务", 30, ("任务名称",)),
    Column("role", "本单位角色", 10, ("角色",)),
    Column("deadline", "完成时限", 14, ("时限",)),
    Column("progress", "进展", 10, ("进展状态", "完成状态")),
    Column("percent", "完成百分比", 10, ("百分比", "完成比例")),
    Column("text", "本期进展情况", 40, ("进展情况",)),
    Column("problems", "存在问题", 24, ("问题",)),
    Column("next_steps", "下步打算", 24, ("下步计划",)),
    Column("status", "报告状态", 10, ()),
    Column("ref", "系统编号(请勿修改)", 12, ("系统编号",)),
]
FORM_FIELDS = ("progress", "percent", "text", "problems", "next_steps")


def unit_form_export(*, unit, period, now: dt.datetime | None = None) -> bytes:
    """A unit's quarterly form (本期填报) to fill in offline; the hidden column names the task."""
    from reports.selectors import form_rows_for

    rows = []
    for fr in form_rows_for(unit=unit, period=period):
        r = fr.report
        rows.append(
            (
                "data",
                [
                    fr.task.path_key, fr.task.title, "、".join(fr.roles),
                    "；".join(m.text or f"{m.date:%Y-%m-%d}" for m in fr.task.milestones.all() if m.text or m.date),
                    r.get_progress_display() if r else "", "" if not r or r.percent is None else str(r.percent),
                    r.text if r else "", r.problems if r else "", r.next_steps if r else "", fr.status_label, f"R{fr.task.pk}",
                ],
            )
        )
    local = timezone.localtime(now or timezone.now())
    subtitle = (
        f"填报单位：{unit.name}　填报期：{period.label}　截止：{period.due_date:%Y-%m-%d}　"
        f"进展填：{'、'.join(Progress.labels)}　导出时间：{local:%Y-%m-%d %H:%M}"
    )
    columns = [(c.header, c.width, c.group) for c in FORM_COLUMNS]
    return write_workbook(
        [SheetSpec(title=f"{unit.name}{period.label}医改任务进展填报表", subtitle=subtitle, columns=columns, rows=rows, hidden_last=True, name="填报表")]
    )


@dataclass
class FormImportResult:
    saved: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


def unit_form_import(*, data: bytes, unit, period, actor, now: dt.datetime | None = None) -> FormImportResult:
    """Rows of an offline-filled form become the unit's draft reports, through the same service (and checks) as
    the web form. Any error: nothing is saved."""
    from reports.selectors import form_rows_for
    from reports.services import report_get_or_create_for, report_save_draft

    rows = read_rows(data)
    columns, headers, start = find_header(rows, FORM_COLUMNS, required="ref")
    result = FormImportResult()
    form = {fr.task.pk: fr for fr in form_rows_for(unit=unit, period=period)}

    def label(key):
        if key not in columns:
            return key
        return f"{column_letter(columns[key])}（{headers.get(key) or key}）"

    class _Rollback(Exception):
        pass

    try:
        with transaction.atomic():
            for r in range(start, len(rows)):
                row = rows[r]
                texts = {k: (cell_text(row[i]) if i < len(row) else "").strip() for k, i in columns.items()}
                if not any(texts.values()):
                    continue
                ref = texts.get("ref", "")
                if not re.fullmatch(r"R\d+", ref):
                    result.errors.append(RowError(r + 1, label("ref"), "系统编号缺失或被修改，请重新下载填报表后再填。"))
                    continue
                fr = form.get(int(ref[1:]))
                if fr is None:
                    result.errors.append(RowError(r + 1, label("ref"), f"本单位在{period.label}不承担此任务，不能填报。"))
                    continue
                payload = {k: texts[k] for k in FORM_FIELDS if k in texts}
                if not any(payload.values()):
                    result.unchanged += 1
                    continue
                if "progress" in payload and not payload["progress"]:
                    payload.pop("progress")
                report = fr.report
                if report is not None and not fr.editable:
                    current = {
                        "progress": report.get_progress_display(), "percent": "" if report.percent is None else str(report.percent),
                        "text": report.text, "problems": report.problems, "next_steps": report.next_steps,
                    }
                    if all(normalize_cell(current[k]) == normalize_cell(v) for k, v in payload.items()):
                        result.unchanged += 1
                    else:
                        result.errors.append(
                            RowError(r + 1, label("progress"), f"此报告{report.get_status_display()}，不能通过导入修改。")
                        )
                    continue
                try:
                    if report is None:
                        report, _ = report_get_or_create_for(task=fr.task, unit=unit, period=period, actor=actor)
                    before = report.version
                    saved = report_save_draft(report=report, data=payload, version=None, actor=actor, now=now)
                except ApplicationError as e:
                    result.errors.append(RowError(r + 1, label(e.field or "progress"), e.message))
                    continue
                if saved.version != before:
                    result.saved += 1
                else:
                    result.unchanged += 1
            if result.errors:
                raise _Rollback
    except _Rollback:
        result.saved = 0
    return result


__all__ = [
    "PERIOD_GROUP",
    "RowError",
    "SpreadsheetError",
    "column_letter",
    "ledger_export",
    "read_rows",
    "write_workbook",
]
