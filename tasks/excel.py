"""Excel in: reading uploaded workbooks safely, and what every spreadsheet import shares.

Reading, after the file has been checked (size, type, encryption, zip bomb, XML entities, row and column counts)
without inflating anything unchecked: an .xlsx row by row (tasks/xlsx_reader.py, for memory), the old binary
formats (.xls, WPS .et) and .xlsb/.ods with python-calamine. The ledger import (分工表 and 台账) is
tasks/ledger_import.py; writing spreadsheets is not done here: the ledger's rows come from tasks/sheets.py and
every file is written by reform_ledger/spreadsheets.py.
"""

import datetime as dt
import gc
import io
import json
import re
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection

from departments.models import Unit
from departments.services import ApplicationError
from reform_ledger.office import CONVERT_TIMEOUT, ConversionError, convert_with_libreoffice
from reform_ledger.uploads import OLE_MAGIC, ZIP_MAGIC, UploadRejected, inspect_ole, inspect_zip

from .models import Document, Milestone, Target, Task, TaskUnit
from .resources import (
    LEDGER_COLUMNS,
    TaskState,
)
from .xlsx_reader import NotXlsx, read_xlsx

MAX_ZIP_MEMBERS = 2000
MAX_INFLATION_RATIO = 200  # sheet XML compresses 10-30x; 200x is a bomb, not a ledger
HEADER_SCAN_ROWS = 30


class SpreadsheetError(ApplicationError):
    """The file itself cannot be read (not the rows in it)."""


def _mb(n: int) -> str:
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return (
        f"{n / 1024 / 1024:.0f} MB"
        if n % (1024 * 1024) == 0 or n >= 10 * 1024 * 1024
        else f"{n / 1024 / 1024:.1f} MB"
    )


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
    return getattr(
        settings, "IMPORT_MAX_UNCOMPRESSED_BYTES", max(10 * settings.IMPORT_MAX_BYTES, 200 * 1024 * 1024)
    )


# --------------------------------------------------------------------------------------------------- reading


def _check_zip(data: bytes) -> None:
    """Check an .xlsx before anything inflates it: the one upload inspection (reform_ledger/uploads.py: member
    count and sizes, ratio, entities, encryption), plus what only a sheet reader knows: rows and columns."""
    max_rows, max_cols = settings.IMPORT_MAX_ROWS, settings.IMPORT_MAX_COLUMNS
    # Only references that could pass a limit are looked at: with a limit of 26 columns or more, single-letter
    # columns (A-Z) cannot; a row number with fewer digits than the limit cannot. Ordinary sheets have none of them.
    wide_cells = re.compile(rb'<c r="([A-Z]{%d,3})\d' % (2 if max_cols >= 26 else 1))
    long_rows = re.compile(rb'<row r="(\d{%d,})"' % len(str(max_rows + HEADER_SCAN_ROWS)))
    seen: dict[str, list[int]] = {}  # sheet member -> [rows, widest column]

    def sheet_limits(member, window: bytes, chunk: bytes) -> None:
        if not member.filename.startswith("xl/worksheets/"):
            return
        count = seen.setdefault(member.filename, [0, 0])
        count[0] += chunk.count(b"<row")
        too_many = count[0] > max_rows + HEADER_SCAN_ROWS
        too_many = too_many or any(
            int(ref) > max_rows + HEADER_SCAN_ROWS for ref in long_rows.findall(window)
        )
        if too_many:
            raise UploadRejected(f"表格行数超过上限（最多 {max_rows} 行），请拆分后分批导入。")
        for ref in set(wide_cells.findall(window)):
            count[1] = max(count[1], _column_number(ref.decode()))
        if count[1] > max_cols:
            raise UploadRejected(f"表格列数超过上限（最多 {max_cols} 列），请删除多余的列后再导入。")

    try:
        inspect_zip(
            data, kind="xlsx", limit=max_uncompressed_bytes(), ratio=MAX_INFLATION_RATIO, max_members=MAX_ZIP_MEMBERS,
            on_chunk=sheet_limits,
        )  # fmt: skip
    except UploadRejected as e:
        raise SpreadsheetError(e.message, field="file") from None


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
    try:
        inspect_ole(data)
    except UploadRejected as e:
        raise SpreadsheetError(e.message, field="file") from None


@dataclass
class SheetData:
    """One worksheet as Python values (row i is Excel row i+1) and its merged ranges ((r0, c0), (r1, c1)), 0-based."""

    name: str
    rows: list[list]
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)

    @property
    def has_content(self) -> bool:
        return any(any(v not in ("", None) for v in r) for r in self.rows[:HEADER_SCAN_ROWS])


NOT_A_SPREADSHEET = "文件不是 Excel 表格（只支持 .xlsx、.xls 和 WPS 表格 .et）。"
DAMAGED = "文件已损坏或不完整（可能上传中断），无法读取。请重新保存后上传。"
ENCRYPTED = "文件已加密（设置了打开密码），请取消密码后再上传。"
# Streams of the other Office and WPS programs' OLE files, as UTF-16 names: a document, not a workbook.
_OTHER_OLE_STREAMS = {
    "Word 文档或 WPS 文字文件": "WordDocument".encode("utf-16-le"),
    "PowerPoint 或 WPS 演示文件": "PowerPoint Document".encode("utf-16-le"),
}
_WORKBOOK_STREAMS = ("Workbook".encode("utf-16-le"), "Book".encode("utf-16-le"))


class _Unreadable(Exception):
    """python-calamine could not read a file that passed the checks."""


def read_sheets(data: bytes, *, max_sheets: int = 20, filename: str | None = None) -> list[SheetData]:
    """Every worksheet of an uploaded workbook, after the file has passed the safety checks."""
    return read_workbook(data, max_sheets=max_sheets, filename=filename)[0]


def read_workbook(
    data: bytes, *, max_sheets: int = 20, filename: str | None = None
) -> tuple[list[SheetData], bytes | None]:
    """(worksheets, converted): the content decides how a file is read, whatever its name (.xlsx, .xls, WPS .et,
    which is a BIFF8 compound file like .xls or, from newer WPS, an .xlsx zip). A zip goes through the upload
    checks and python-calamine; a compound file too, and when python-calamine cannot read it (some WPS files),
    LibreOffice converts it to .xlsx, which is checked like an upload and read: ``converted`` is then that .xlsx
    (keep it rather than convert again). ``filename`` only words the messages."""
    if not data:
        raise SpreadsheetError("文件是空的。", field="file")
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise SpreadsheetError(
            f"文件过大（{len(data) / 1024 / 1024:.1f} MB），上限为 {_mb(settings.IMPORT_MAX_BYTES)}。",
            field="file",
        )
    if data.startswith(ZIP_MAGIC):
        _check_zip(data)
        try:
            return _streamed_sheets(data, max_sheets), None
        except NotXlsx:
            pass  # .xlsb, .ods: python-calamine
        try:
            return _calamine_sheets(data, max_sheets), None
        except _Unreadable:
            raise SpreadsheetError(DAMAGED, field="file") from None
    if not data.startswith(OLE_MAGIC):
        raise SpreadsheetError(NOT_A_SPREADSHEET, field="file")
    _check_ole(data)
    if not any(stream in data for stream in _WORKBOOK_STREAMS):
        for label, stream in _OTHER_OLE_STREAMS.items():
            if stream in data:
                raise SpreadsheetError(
                    f"文件是{label}，不是表格（只支持 .xlsx、.xls 和 WPS 表格 .et）。", field="file"
                )
    try:
        return _calamine_sheets(data, max_sheets), None
    except _Unreadable:
        converted = _convert_workbook(data, filename)
    _check_zip(converted)
    try:
        return _calamine_sheets(converted, max_sheets), converted
    except _Unreadable:
        raise SpreadsheetError(DAMAGED, field="file") from None


def _convert_workbook(data: bytes, filename: str | None) -> bytes:
    """An old-format workbook python-calamine cannot read, as .xlsx by LibreOffice; a message saying what to do
    when that cannot be done."""
    wps = (filename or "").lower().endswith(".et")
    kind = "WPS 表格文件（.et）" if wps else "Excel 97-2003 工作簿（.xls）"
    try:
        # the binary Excel filter only (WPS writes .et in the same format): a damaged file fails, never text
        return convert_with_libreoffice(data, suffix=".xls", to="xlsx", infilter="MS Excel 97")
    except ConversionError as e:
        if e.reason == "missing":
            if not wps:
                raise SpreadsheetError(DAMAGED, field="file") from None
            message = (
                f"这个{kind}无法直接读取，服务器也没有安装用来转换的 LibreOffice：请在 WPS 表格中另存为 .xlsx 后再上传，"
                "或请管理员安装 LibreOffice Calc（Debian 软件包 libreoffice-calc-nogui）。"
            )
        elif e.reason == "timeout":
            message = (
                f"{kind}转换超时（{CONVERT_TIMEOUT} 秒），请在 Excel 或 WPS 表格中另存为 .xlsx 后再上传。"
            )
        else:
            message = (
                f"{kind}无法读取，用 LibreOffice 转换也失败了（文件可能已损坏）：请在 Excel 或 WPS 表格中打开，"
                "另存为 .xlsx 后再上传。"
            )
        raise SpreadsheetError(message, field="file") from None


SHARED_TEXT_MAX = 64  # cells up to this length are kept once per distinct text


def _sheet_rows(sheet) -> list[list]:
    """The sheet's rows as Python values from A1 (as `to_python(skip_empty_area=False)` gives them), with each
    distinct short text held once. A ledger repeats its unit names, deadlines, statuses and 文号 on every row;
    one string object per cell made the rows of a 40,000-row workbook take 53 MB instead of 20 MB
    (bench/bench_upload_memory.py). Rows are converted one at a time (iter_rows), never as a second full copy.
    iter_rows starts at the first used column, so rows are padded back to column A."""
    shared: dict[str, str] = {}
    pad = [""] * sheet.start[1] if sheet.start else []
    rows = []
    for row in sheet.iter_rows():
        cells = [
            shared.setdefault(v, v) if v.__class__ is str and len(v) <= SHARED_TEXT_MAX else v for v in row
        ]
        rows.append(pad + cells if pad else cells)
    return rows


def _size_limits(rows: int, columns: int) -> None:
    if rows > settings.IMPORT_MAX_ROWS + HEADER_SCAN_ROWS:
        raise SpreadsheetError(
            f"表格行数超过上限（最多 {settings.IMPORT_MAX_ROWS} 行），请拆分后分批导入。", field="file"
        )
    if columns > settings.IMPORT_MAX_COLUMNS:
        raise SpreadsheetError(
            f"表格列数超过上限（最多 {settings.IMPORT_MAX_COLUMNS} 列），请删除多余的列后再导入。",
            field="file",
        )


def _streamed_sheets(data: bytes, max_sheets: int) -> list[SheetData]:
    """An .xlsx read row by row (tasks/xlsx_reader.py): the same values as python-calamine, in a third of the
    memory."""
    try:
        sheets = read_xlsx(io.BytesIO(data), max_sheets=max_sheets, on_size=_size_limits)
    except (NotXlsx, SpreadsheetError):
        raise
    except Exception:  # noqa: BLE001 - damaged XML or zip members: lxml and zipfile raise several types
        raise SpreadsheetError(DAMAGED, field="file") from None
    return [SheetData(s.name, s.rows, s.merged) for s in sheets]


def _calamine_sheets(data: bytes, max_sheets: int) -> list[SheetData]:
    import python_calamine as pc

    try:
        workbook = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets: list[SheetData] = []
        for index in range(min(len(workbook.sheet_names), max_sheets)):
            sheet = workbook.get_sheet_by_index(index)
            _size_limits(sheet.height, sheet.width)
            rows = _sheet_rows(sheet)
            try:
                merged = list(sheet.merged_cell_ranges or [])
            except Exception:  # noqa: BLE001 - formats without merge records
                merged = []
            sheets.append(SheetData(sheet.name, rows, merged))
        return sheets
    except pc.PasswordError:
        raise SpreadsheetError(ENCRYPTED, field="file") from None
    except SpreadsheetError:
        raise
    except Exception as e:  # calamine raises several error types for damaged content
        if "password" in str(e).lower() or "encrypt" in str(e).lower():
            raise SpreadsheetError(ENCRYPTED, field="file") from None
        raise _Unreadable() from None


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


def find_header(
    rows: list[list], columns=None, required: str = "title"
) -> tuple[dict[str, int], dict[str, str], int]:
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


@dataclass(slots=True)
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


def _timestamp(value) -> dt.datetime | None:
    """A stored timestamp as a raw cursor returns it (aware on PostgreSQL, UTC text on SQLite), as the model field
    reads it: aware, in UTC."""
    if value is None:
        return None
    if value.__class__ is str:
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def load_states(
    task_ids: list[int] | None = None, *, documents: list[int] | None = None, qs=None, lock=False
):
    """TaskStates for tasks by id and/or document (or of a queryset, in its order), with units, milestones and
    targets, in a few queries."""
    from django.db.models import Q

    units = {u.pk: u for u in Unit.objects.all()}
    columns = (
        "id", "version", "document_id", "path", "title", "text", "note", "status", "section",
        "created_at", "reported_percent", "reported_period_end",
    )  # fmt: skip
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
    labels = {
        d.pk: d.doc_number or d.title
        for d in Document.objects.filter(pk__in=doc_ids).only("id", "doc_number", "title")
    }
    sections: dict = {}  # tasks under one heading share its text: decode it once
    states = {}
    raw_paths = [t[3] for t in tasks]
    if all(isinstance(p, str) for p in raw_paths):
        # One json.loads of all paths as one array: the per-call cost, not the parsing, is what 10,000 calls cost.
        paths = json.loads("[" + ",".join(raw_paths) + "]") if raw_paths else []
    else:
        paths = [_json_value(p) for p in raw_paths]
    for (
        tid, version, doc_id, _path, title, text, note, status, section, created_at, reported_percent, reported_end
    ), path in zip(tasks, paths, strict=True):  # fmt: skip
        key = section if isinstance(section, str) else repr(section)
        if key not in sections:
            sections[key] = _json_value(section) or []
        states[tid] = TaskState(
            id=tid,
            version=version,
            document_id=doc_id,
            document_label=labels[doc_id],
            path=list(path),
            title=title,
            text=text,
            note=note,
            status=status,
            lead=[],
            responsible=[],
            counties=[],
            milestones=[],
            targets=[],
            section=list(sections[key]),
            created_at=_timestamp(created_at),
            reported_percent=reported_percent,
            reported_period_end=dt.date.fromisoformat(reported_end)
            if reported_end.__class__ is str
            else reported_end,
        )
    if not states:
        return states
    roles = {
        TaskUnit.Role.LEAD.value: "lead",
        TaskUnit.Role.RESPONSIBLE.value: "responsible",
        TaskUnit.Role.COUNTY.value: "counties",
    }
    ids = list(states)
    tu, ms = TaskUnit._meta.db_table, Milestone._meta.db_table
    for task_id, unit_id, role in _rows_for_tasks(
        f"SELECT task_id, unit_id, role FROM {tu} WHERE task_id {{ids}} ORDER BY task_id, role, position, id",
        ids,
    ):
        getattr(states[task_id], roles[role]).append(units[unit_id])
    for task_id, date, text, context, done in _rows_for_tasks(
        f"SELECT task_id, date, text, context, done FROM {ms} WHERE task_id {{ids}} ORDER BY task_id, date NULLS LAST, id",
        ids,
    ):
        if date.__class__ is str:  # SQLite
            date = dt.date.fromisoformat(date)
        states[task_id].milestones.append((date, text, context, bool(done)))
    if connection.vendor == "postgresql":
        targets = Target.objects.raw(
            f"SELECT * FROM {Target._meta.db_table} WHERE task_id = ANY(%s) ORDER BY id", [ids]
        )
    else:
        targets = [
            t for i in range(0, len(ids), 500) for t in Target.objects.filter(task_id__in=ids[i : i + 500])
        ]
        targets.sort(key=lambda t: t.pk)
    for target in targets:
        states[target.task_id].targets.append(target)
    return states
