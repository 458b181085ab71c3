"""Excel in: the ledger import in the layout offices use, with bad-file defences.

Reading: python-calamine, after the file has been checked (size, type, encryption, zip bomb, XML entities, row
and column counts) without inflating anything unchecked. Writing spreadsheets is not done here: the ledger's
rows come from tasks/sheets.py and every file is written by reform_ledger/spreadsheets.py.
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

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from departments.models import AuditEntry, Unit, UnitKind, normalize_unit_name
from departments.selectors import resolve_in_table, unit_lookup_table, unit_suggestions
from departments.services import ApplicationError

from .models import Document, Milestone, Progress, Target, Task, TaskUnit, path_display, path_segment_number
from .resources import (
    ALL_COUNTIES_TEXT,
    COLUMN_BY_KEY,
    LEDGER_COLUMNS,
    PERIOD_GROUP,
    SNAPSHOT_KEY,
    TaskState,
    normalize_cell,
    parse_ref,
    row_fingerprint,
    snapshot,
)

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


def read_rows(data: bytes) -> list[list]:
    """All rows of the first worksheet that has content, as Python values; row i is Excel row i+1."""
    import python_calamine as pc

    if not data:
        raise SpreadsheetError("文件是空的。", field="file")
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise SpreadsheetError(
            f"文件过大（{len(data) / 1024 / 1024:.1f} MB），上限为 {_mb(settings.IMPORT_MAX_BYTES)}。", field="file"
        )
    if data.startswith(ZIP_MAGIC):
        _check_zip(data)
    elif data.startswith(OLE_MAGIC):
        _check_ole(data)
    else:
        raise SpreadsheetError("文件不是 Excel 表格（只支持 .xlsx 和 .xls，包括 WPS 保存的文件）。", field="file")
    try:
        workbook = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
        rows: list[list] = []
        for index in range(min(len(workbook.sheet_names), 20)):
            sheet = workbook.get_sheet_by_index(index)
            if sheet.height > settings.IMPORT_MAX_ROWS + HEADER_SCAN_ROWS:
                raise SpreadsheetError(
                    f"表格行数超过上限（最多 {settings.IMPORT_MAX_ROWS} 行），请拆分后分批导入。", field="file"
                )
            if sheet.width > settings.IMPORT_MAX_COLUMNS:
                raise SpreadsheetError(
                    f"表格列数超过上限（最多 {settings.IMPORT_MAX_COLUMNS} 列），请删除多余的列后再导入。", field="file"
                )
            rows = sheet.to_python(skip_empty_area=False)
            if any(any(v not in ("", None) for v in r) for r in rows[:HEADER_SCAN_ROWS]):
                break
        return rows
    except pc.PasswordError:
        raise SpreadsheetError("文件已加密（设置了打开密码），请取消密码后再上传。", field="file") from None
    except SpreadsheetError:
        raise
    except Exception as e:  # calamine raises several error types for damaged content
        if "password" in str(e).lower() or "encrypt" in str(e).lower():
            raise SpreadsheetError("文件已加密（设置了打开密码），请取消密码后再上传。", field="file") from None
        raise SpreadsheetError("文件已损坏或不完整（可能上传中断），无法读取。请重新保存后上传。", field="file") from None


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


# --------------------------------------------------------------------------------------------------- dates

_YMD = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_YM = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})(?!\d)\s*月?")
_HALF = re.compile(r"(\d{4})\s*年?\s*(上半年|年中|下半年)")
_QUARTER = re.compile(r"(\d{4})\s*年?\s*第?\s*([一二三四1-4])\s*季度")
_Y = re.compile(r"(\d{4})\s*年")
_YEAR_ANYWHERE = re.compile(r"(?<!\d)(19|20)\d{2}(?!\d)")
EXCEL_EPOCH = dt.date(1899, 12, 30)
DATE_HINT = "可写作 2022-06-30、2022年12月、2022年底、2020.12 或 Excel 日期"


def _month_end(year: int, month: int) -> dt.date:
    if not 1 <= month <= 12:
        raise ValueError(month)
    nxt = dt.date(year + (month == 12), 1 if month == 12 else month + 1, 1)
    return nxt - dt.timedelta(days=1)


def parse_deadline(value) -> dt.date | None:
    """A deadline as offices type it; None when it names no date (15个工作日内, 长期). ValueError if it is wrong."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 20000 <= value <= 80000:
            return EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise ValueError(value)
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not text:
        return None
    if re.fullmatch(r"\d{5}(\.0+)?", text):
        return parse_deadline(float(text))
    if m := _YMD.search(text):
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    if m := _HALF.search(text):
        return dt.date(int(m[1]), 6, 30) if m[2] in ("上半年", "年中") else dt.date(int(m[1]), 12, 31)
    if m := _QUARTER.search(text):
        q = "一二三四".find(m[2]) + 1 if m[2] in "一二三四" else int(m[2])
        return _month_end(int(m[1]), q * 3)
    if m := _YM.search(text):
        return _month_end(int(m[1]), int(m[2]))
    if m := _Y.search(text):
        return dt.date(int(m[1]), 12, 31)
    if re.fullmatch(r"\d{4}", text):
        return dt.date(int(text), 12, 31)
    if _YEAR_ANYWHERE.search(text):
        raise ValueError(text)
    return None


def parse_deadlines(value) -> list[tuple[dt.date | None, str]]:
    if isinstance(value, dt.date | int | float) and not isinstance(value, bool):
        date = parse_deadline(value)
        return [(date, "")]
    pieces = [p.strip() for p in re.split(r"[；;\n]+", str(value or "")) if p.strip()]
    result = []
    for piece in pieces:
        result.append((parse_deadline(piece), piece[:200]))
    return result


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


# --------------------------------------------------------------------------------------------------- numbering

_LEVEL_PATTERNS = [
    (0, re.compile(r"^(附件\d*|附表\d*)\s*[、.．:：]?\s*")),
    (0, re.compile(r"^([一二三四五六七八九十百]+)\s*[、.．,，]\s*")),
    (1, re.compile(r"^[(（]([一二三四五六七八九十百]+)[)）]\s*[、.．]?\s*")),
    (2, re.compile(r"^(\d+)\s*[.．、,，]?\s*(?=\D|$)")),
    (3, re.compile(r"^[(（](\d+)[)）]\s*[、.．]?\s*")),
]
_FULL_PATH = re.compile(r"^[一二三四五六七八九十百]+(\.[(（]?[一二三四五六七八九十百\d]+[)）]?)+$")


def parse_numbering(text: str) -> tuple[int, str, str] | None:
    """'(一)聚焦…' -> (1, '(一)', '聚焦…'); '1.' -> (2, '1', ''). None if the text does not start with a number."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    for level, pattern in _LEVEL_PATTERNS:
        m = pattern.match(text)
        if m:
            token = m[1]
            segment = f"({token})" if level in (1, 3) else token
            return level, segment, text[m.end() :].strip()
    return None


# --------------------------------------------------------------------------------------------------- import plan


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


@dataclass
class Conflict:
    row: int
    task_id: int
    path: str
    title: str
    file_version: int
    current_version: int

    def __str__(self):
        return (
            f"第 {self.row} 行（{self.path} {self.title}）：导出后此任务已在系统中被修改"
            f"（文件中版本 {self.file_version}，当前版本 {self.current_version}），未覆盖。请重新导出后再修改。"
        )


@dataclass
class RowPlan:
    row: int
    document_key: str
    path: list[str]
    section: list[str]
    state: TaskState  # the task as it will be
    existing: TaskState | None = None
    changed: set = field(default_factory=set)


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    new_documents: list[str] = field(default_factory=list)
    rows: int = 0
    written: bool = False
    changes: list[dict] = field(default_factory=list)  # [{row, path, title, fields}] for the preview

    @property
    def ok(self) -> bool:
        return not self.errors


STATUS_WORDS = {p.label: p.value for p in Progress} | {p.value: p.value for p in Progress} | {
    "序时推进": Progress.IN_PROGRESS.value,
    "正在推进": Progress.IN_PROGRESS.value,
    "完成": Progress.COMPLETED.value,
}


class _Ctx:
    """Lookups shared by every row of one import: units, documents, the existing tasks."""

    def __init__(self, *, document: Document | None):
        self.table = unit_lookup_table()
        self.units = {u.pk: u for u in self.table.values()}
        self.all_counties = sorted(
            (u for u in self.units.values() if u.kind == UnitKind.COUNTY), key=lambda u: (u.sort_order, u.name)
        )
        self.document = document
        self.docs_by_key: dict[str, Document | None] = {}

    def resolve_document(self, text: str) -> tuple[str, Document | None]:
        """(key, document or None when it will be created)."""
        if self.document is not None:
            return f"id:{self.document.pk}", self.document
        text = unicodedata.normalize("NFKC", text or "").strip()
        if text in self.docs_by_key:
            return self._key(text), self.docs_by_key[text]
        number = _doc_number_in(text)
        doc = (
            Document.objects.filter(doc_number=text).first()
            or Document.objects.filter(title=text).first()
            or (Document.objects.filter(doc_number=number).first() if number else None)
            or _doc_by_normalized_number(number or text)
        )
        self.docs_by_key[text] = doc
        return self._key(text), doc

    def _key(self, text):
        doc = self.docs_by_key.get(text)
        return f"id:{doc.pk}" if doc else f"new:{text}"


def _doc_number_in(text: str) -> str | None:
    m = re.search(r"[\w\u4e00-\u9fff]{1,12}[〔\[(（【]\d{4}[〕\])）】]\s*\d+\s*号", text)
    return m[0] if m else None


def _doc_by_normalized_number(text: str):
    target = normalize_unit_name(text)
    if not target:
        return None
    for doc in Document.objects.exclude(doc_number=None).only("id", "doc_number", "title"):
        if normalize_unit_name(doc.doc_number) == target:
            return doc
    return None


def _split_names(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text or "")
    # 各县(市、区)政府 contains a 、 of its own: protect it before splitting.
    text = re.sub(r"各县\s*[(〔\[]市[、,]区[)〕\]]\s*(政府)?", "\x00ALL\x00", text)
    names = [n.strip() for n in re.split(r"[、,，;；/\n\s]+", text) if n.strip()]
    return [ALL_COUNTIES_TEXT if n == "\x00ALL\x00" else n.replace("\x00", "") for n in names]


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


def _schedule(state: TaskState) -> tuple[dt.date | None, dt.date | None]:
    """(open_due, deadline) as tasks.lights computes them, from plain values."""
    items = [d for d, _t, _c, done in state.milestones if d and not done]
    items += [t.due for t in state.targets if t.due and not t.is_met]
    dates = [d for d, *_ in state.milestones if d] + [t.due for t in state.targets if t.due]
    return (min(items) if items else None), (max(dates) if dates else None)


def plan_import(rows: list[list], *, document: Document | None = None, lock: bool = False) -> tuple[ImportResult, list, dict]:
    """Read, validate and match every row; nothing is written. Returns (result, row plans, context)."""
    result = ImportResult()
    columns, headers, start = find_header(rows)
    ctx = _Ctx(document=document)
    county_count = len(ctx.all_counties)

    def label(key):
        return f"{column_letter(columns[key])}（{headers.get(key) or COLUMN_BY_KEY[key].header}）"

    def get(row, key):
        i = columns.get(key)
        return row[i] if i is not None and i < len(row) else None

    column_items = list(columns.items())
    split_cache: dict[str, list[str]] = {}
    resolve_cache: dict[str, Unit | None] = {}

    if document is None and "source" not in columns:
        raise SpreadsheetError(
            "表格中没有“任务来源(文件/文号)”列：请在导入时选择任务所属的文件（--document 文号）。", field="document"
        )

    stack: dict[int, str] = {}
    headings: dict[int, str] = {}
    parsed: list[tuple[int, dict, tuple | None]] = []  # (excel row, cells, ref)
    plans: list[RowPlan] = []
    seen_paths: dict[tuple[str, str], int] = {}
    # Unit and deadline cells repeat across a ledger: each distinct text is split, resolved or parsed once,
    # and its messages are replayed for every row that has it.
    units_cache: dict[tuple[str, str], tuple[list, list, list[str]]] = {}
    deadline_cache: dict = {}
    numbering_cache: dict[str, tuple] = {}

    def numbered(text: str) -> tuple[tuple | None, list[str] | None]:
        """(parse_numbering, the path when the cell holds a whole one like 二.(一).1), once per distinct 序号 text:
        they repeat (1. to 100. under every heading)."""
        if text not in numbering_cache:
            normalized = unicodedata.normalize("NFKC", text)
            full = normalized.split(".") if _FULL_PATH.match(normalized.replace("（", "(").replace("）", ")")) else None
            numbering_cache[text] = (parse_numbering(text) if text else None, full)
        return numbering_cache[text]
    max_columns = settings.IMPORT_MAX_COLUMNS
    for r in range(start, len(rows)):
        row = rows[r]
        excel_row = r + 1
        if len(row) > max_columns:
            row = row[:max_columns]
        nonempty = [v for v in row if v is not None and v != "" and (v.__class__ is not str or v.strip())]
        if not nonempty:
            continue
        width = len(row)
        texts = {
            k: ((v if (v := row[i]).__class__ is str else cell_text(v)) if i < width else "") for k, i in column_items
        }
        ref = parse_ref(texts["ref"]) if "ref" in texts else None
        seq_text = texts.get("seq", "").strip()
        title_text = texts.get("title", "").strip()
        detail = any(texts.get(k, "").strip() for k in ("lead", "responsible", "deadline", "status", "note", "text"))
        numbering, full_path = numbered(seq_text)
        if numbering is None and not title_text and len(nonempty) == 1 and ref is None:
            numbering, full_path = numbered(cell_text(nonempty[0]))
            if numbering is None:
                continue  # a note under the table (注：…) or a stray merged cell
            seq_text = cell_text(nonempty[0])
        if ref is None and not detail and numbering is not None and len(nonempty) <= 2 and (numbering[2] or len(nonempty) == 2):
            level, segment, rest = numbering
            heading = rest or next((cell_text(v).strip() for v in nonempty if cell_text(v).strip() != seq_text), "")
            stack = {k: v for k, v in stack.items() if k < level}
            headings = {k: v for k, v in headings.items() if k < level}
            stack[level], headings[level] = segment, heading
            continue
        if not seq_text and not title_text:
            continue
        errors_before = len(result.errors)

        def err(key, message, _row=excel_row):
            col = label(key) if key in columns else key
            result.errors.append(RowError(_row, col, message))

        # Numbering and path
        path = None
        if full_path is not None:
            path = list(full_path)
        elif numbering is not None:
            level, segment, _rest = numbering
            path = [stack[k] for k in sorted(stack) if k < level] + [segment]
            stack = {k: v for k, v in stack.items() if k < level}
            headings = {k: v for k, v in headings.items() if k < level}
            stack[level] = segment
        elif seq_text:
            err("seq", f"序号“{seq_text}”无法识别，应为 一、 (一) 1. (1) 这样的编号。")
        else:
            err("seq", "缺少序号。")
        if not title_text:
            err("title", "重点任务（任务名称）不能为空。")
        elif len(title_text) > 500:
            err("title", f"重点任务不能超过 500 个字（现有 {len(title_text)} 个）。")

        status = None
        status_text = texts.get("status", "").strip()
        if status_text:
            status = STATUS_WORDS.get(status_text)
            if status is None:
                err("status", f"完成状态“{status_text}”无效，可选：{'、'.join(p.label for p in Progress)}。")

        def units_of(key, text):
            cached = units_cache.get((key, text))
            if cached is None:
                found, counties, messages = [], [], []
                if text not in split_cache:
                    split_cache[text] = _split_names(text)
                for name in split_cache[text]:
                    if name == ALL_COUNTIES_TEXT:
                        counties = list(ctx.all_counties)
                        continue
                    if name not in resolve_cache:
                        resolve_cache[name] = resolve_in_table(ctx.table, name)
                    unit = resolve_cache[name]
                    if unit is None:
                        hints = unit_suggestions(name=name, table=ctx.table)
                        hint = f"，您是否要找：{'、'.join(u.name for u in hints)}" if hints else ""
                        messages.append(f"{COLUMN_BY_KEY[key].header}中的“{name}”不是已知单位{hint}。")
                    elif unit.kind == UnitKind.COUNTY and key == "responsible":
                        if all(u.id != unit.id for u in counties):
                            counties.append(unit)
                    elif all(u.id != unit.id for u in found):
                        found.append(unit)
                cached = units_cache[(key, text)] = (found, counties, messages)
            found, counties, messages = cached
            for message in messages:
                err(key, message)
            return list(found), list(counties)

        lead, _ = units_of("lead", texts.get("lead", ""))
        responsible, counties = units_of("responsible", texts.get("responsible", ""))

        deadline_raw = get(row, "deadline")
        milestones = []
        parsed_deadlines = deadline_cache.get(deadline_raw) if deadline_raw.__class__ is str else None
        if parsed_deadlines is None:
            try:
                parsed_deadlines = [(d, t, "", False) for d, t in parse_deadlines(deadline_raw)]
            except (ValueError, OverflowError):
                parsed_deadlines = False
            if deadline_raw.__class__ is str:
                deadline_cache[deadline_raw] = parsed_deadlines
        if parsed_deadlines is False:
            err("deadline", f"完成时限“{cell_text(deadline_raw)}”不是可识别的日期（{DATE_HINT}）。")
        else:
            milestones = list(parsed_deadlines)

        doc_text = texts.get("source", "").strip()
        if document is None and not doc_text:
            err("source", "缺少任务来源（文件/文号），或在导入时指定任务所属的文件。")
        doc_key, doc = ctx.resolve_document(doc_text) if (document is not None or doc_text) else ("", None)

        if path is not None and doc_key:
            pk = (doc_key, path_display(path))
            if pk in seen_paths:
                err("seq", f"编号 {path_display(path)} 与第 {seen_paths[pk]} 行重复。")
            else:
                seen_paths[pk] = excel_row

        if len(result.errors) > errors_before:
            continue
        cells = {k: texts.get(k, "") for k in ("source", "title", "text", "lead", "responsible", "deadline", "status", "note")}
        state = TaskState(
            id=None, version=1, document_id=doc.pk if doc else None, document_label=doc_text, path=path,
            title=title_text, text=normalize_cell(texts.get("text", "")), note=normalize_cell(texts.get("note", "")),
            status=status or Progress.NOT_STARTED, lead=lead, responsible=responsible, counties=counties,
            milestones=milestones, section=[headings[k] for k in sorted(headings)],
        )
        plans.append(RowPlan(excel_row, doc_key, path, state.section, state))
        parsed.append((excel_row, cells, ref, status is not None))
        if not doc and doc_text and doc_text not in result.new_documents and document is None:
            result.new_documents.append(doc_text)
    result.rows = len(plans)
    if result.errors:
        return result, [], {}

    # Match rows to existing tasks: by stable id first, then by document + path.
    ids = [ref[0] for _r, _c, ref, _s in parsed if ref]
    doc_ids = list({p.state.document_id for p in plans if p.state.document_id})
    existing = load_states(ids, documents=doc_ids, lock=lock)
    by_path = {(s.document_id, s.path_key): s for s in existing.values()}
    claimed: dict[int, int] = {}
    for plan, (excel_row, cells, ref, status_given) in zip(plans, parsed, strict=True):
        current = None
        if ref and ref[0] in existing:
            current = existing[ref[0]]
        elif plan.state.document_id:
            current = by_path.get((plan.state.document_id, path_display(plan.path)))
        if current is None:
            if plan.state.document_id and (plan.state.document_id, path_display(plan.path)) in by_path:
                pass
            result.created += 1
            continue
        if current.id in claimed:
            result.errors.append(
                RowError(excel_row, label("seq"), f"与第 {claimed[current.id]} 行是同一个任务（{current.path_key}），不能重复导入。")
            )
            continue
        claimed[current.id] = excel_row
        plan.existing = current
        if ref and row_fingerprint(path_display(plan.path), cells) == ref[2]:
            result.unchanged += 1  # nobody touched this row in the file
            continue
        changed = _changed_fields(plan, current, status_given, county_count)
        if not changed:
            result.unchanged += 1
            continue
        if ref and ref[1] < current.version:
            result.conflicts.append(Conflict(excel_row, current.id, current.path_key, current.title, ref[1], current.version))
            plan.existing = None
            plan.changed = {"__conflict__"}
            continue
        if "path" in changed:
            other = by_path.get((current.document_id, path_display(plan.path)))
            if other is not None and other.id != current.id:
                result.errors.append(
                    RowError(excel_row, label("seq"), f"编号 {path_display(plan.path)} 已被任务“{other.title}”使用。")
                )
                continue
        plan.changed = changed
        result.updated += 1
        result.changes.append(
            {"row": excel_row, "path": current.path_key, "title": current.title, "fields": sorted(changed)}
        )
    return result, plans, {"ctx": ctx, "county_count": county_count}


def _changed_fields(plan: RowPlan, current: TaskState, status_given: bool, county_count: int) -> set:
    new = plan.state
    changed = set()
    for attr in ("title", "text", "note"):
        a, b = getattr(new, attr), getattr(current, attr)
        if a != b and normalize_cell(a) != normalize_cell(b):
            changed.add(attr)
    if status_given and new.status != current.status:
        changed.add("status")
    if [u.id for u in new.lead] != [u.id for u in current.lead]:
        changed.add("lead")
    if [u.id for u in new.responsible] != [u.id for u in current.responsible]:
        changed.add("responsible")
    if {u.id for u in new.counties} != {u.id for u in current.counties}:
        changed.add("counties")
    old_text = "；".join((t or (f"{d:%Y-%m-%d}" if d else "")) for d, t, *_ in current.milestones)
    new_text = "；".join((t or (f"{d:%Y-%m-%d}" if d else "")) for d, t, *_ in new.milestones)
    if new_text != old_text and [(d, t) for d, t, *_ in new.milestones] != [(d, t) for d, t, *_ in current.milestones]:
        changed.add("milestones")
    if new.path != current.path:
        changed.add("path")
    return changed


# --------------------------------------------------------------------------------------------------- import write


def _copy_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _json_encoder():
    """A function giving the text of json.dumps(value, ensure_ascii=False, check_circular=False).

    json.dumps builds a new C encoder on every call, a few microseconds that 30,000 values per import (paths,
    sections, audit changes) add up; this builds it once. Pure-Python json (no C encoder): the plain encoder."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return json.JSONEncoder(ensure_ascii=False, check_circular=False).encode

    def default(value):
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    encode = make(None, default, json.encoder.c_encode_basestring, None, ": ", ", ", False, False, True)
    return lambda value: "".join(encode(value, 0))


_json = _json_encoder()


def _copy_converter(field):
    """A function turning a Python value of this field into COPY text, chosen once per column (not per cell)."""
    kind = field.get_internal_type()
    if kind == "JSONField":
        def conv(v):
            return "\\N" if v is None else _copy_escape(_json(v))
    elif kind == "BooleanField":
        def conv(v):
            return "\\N" if v is None else ("t" if v else "f")
    elif kind in ("DateField", "DateTimeField"):
        def conv(v):
            return "\\N" if v is None else v.isoformat()
    elif kind in ("CharField", "TextField", "GenericIPAddressField", "SlugField", "EmailField"):
        def conv(v):
            return "\\N" if v is None else _copy_escape(v)
    elif field.null:
        def conv(v):
            return "\\N" if v is None else str(v)
    else:
        conv = str  # integers and foreign keys that cannot be null: the builtin, no Python call per cell
    return conv


_TEXT_KINDS = ("CharField", "TextField", "GenericIPAddressField", "SlugField", "EmailField")


def _copy_column(field, values: list) -> list[str]:
    """COPY text of one column. Text and JSON columns are escaped all at once: the values joined by NUL (which a
    PostgreSQL text value cannot contain), four replaces over one string, split again; other columns value by value."""
    kind = field.get_internal_type()
    if (kind in _TEXT_KINDS or kind == "JSONField") and None not in values:
        joined = "\x00".join(values if kind != "JSONField" else map(_json, values))
        if joined.count("\x00") == len(values) - 1:
            return _copy_escape(joined).split("\x00")
    conv = _copy_converter(field)
    if kind in ("DateField", "DateTimeField"):
        # A few distinct dates (deadlines, the import's own timestamp) repeat over thousands of rows.
        memo: dict = {}
        return [memo[v] if v in memo else memo.setdefault(v, conv(v)) for v in values]
    return list(map(conv, values))


def _field_default(field, now):
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    if field.has_default():
        return field.get_default()
    if field.null:
        return None
    return "" if field.get_internal_type() in ("CharField", "TextField") else None


class _Writer:
    """Bulk writes of rows given as tuples of `columns` (attnames).

    PostgreSQL: COPY, converting column by column with one converter per column (10-20x faster than bulk_create
    at tens of thousands of rows, and no model instance per row); every column left out except the id gets its
    model default as one constant, the id its identity default. Other databases: bulk_create / bulk_update."""

    def __init__(self, now):
        self.now = now
        self.pg = connection.vendor == "postgresql"

    def new_ids(self, model, count: int) -> list[int]:
        """Ids for rows the caller inserts itself (PostgreSQL)."""
        if not count:
            return []
        with connection.cursor() as cur:
            cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
            sequence = cur.fetchone()[0]
            cur.execute("SELECT array_agg(nextval(%s::regclass)) FROM generate_series(1, %s)", [sequence, count])
            return cur.fetchone()[0]

    def _copy_text(self, model, columns: list[str], rows: list[tuple], *, constants: bool) -> tuple[list[str], io.StringIO]:
        meta = model._meta
        fields = [meta.get_field(c) for c in columns]
        texts = [_copy_column(f, [r[i] for r in rows]) for i, f in enumerate(fields)]
        db_columns = [f.column for f in fields]
        suffix = ""
        if constants:
            given = {f.attname for f in fields}
            for f in meta.concrete_fields:
                if f.attname not in given and not f.primary_key:
                    db_columns.append(f.column)
                    suffix += "\t" + _copy_converter(f)(_field_default(f, self.now))
        body = "\n".join(map("\t".join, zip(*texts, strict=True)))
        if suffix:
            body = body.replace("\n", suffix + "\n")
        return db_columns, io.StringIO(body + suffix + "\n")

    def insert(self, model, columns: list[str], rows: list[tuple]) -> list[int] | None:
        """Insert rows; returns their ids when the database hands them back (not on the PostgreSQL COPY path
        unless "id" is one of the columns)."""
        if not rows:
            return []
        if not self.pg:
            defaults = {f.attname: _field_default(f, self.now) for f in model._meta.concrete_fields if not f.primary_key}
            objs = model.objects.bulk_create([model(**{**defaults, **dict(zip(columns, r, strict=True))}) for r in rows], batch_size=500)
            return [o.pk for o in objs]
        db_columns, buf = self._copy_text(model, columns, rows, constants=True)
        quote = connection.ops.quote_name
        # Django wraps execute() but not copy_expert(): without this a constraint or trigger failing inside COPY
        # would escape as a psycopg2 error instead of django.db.IntegrityError.
        with connection.cursor() as cur, connection.wrap_database_errors:
            cur.copy_expert(
                f"COPY {quote(model._meta.db_table)} ({', '.join(map(quote, db_columns))}) FROM STDIN", buf
            )
        return [r[columns.index("id")] for r in rows] if "id" in columns else None

    def update(self, model, columns: list[str], rows: list[tuple]) -> None:
        """Set `columns` (after the first, "id") of existing rows."""
        if not rows:
            return
        assert columns[0] == "id"
        if not self.pg:
            model.objects.bulk_update([model(**dict(zip(columns, r, strict=True))) for r in rows], columns[1:], batch_size=200)
            return
        meta = model._meta
        quote = connection.ops.quote_name
        db_columns, buf = self._copy_text(model, columns, rows, constants=False)
        temp = quote(f"_import_{meta.db_table}")
        with connection.cursor() as cur:
            cur.execute(
                f"CREATE TEMP TABLE {temp} ON COMMIT DROP AS SELECT {', '.join(map(quote, db_columns))} "
                f"FROM {quote(meta.db_table)} WITH NO DATA"
            )
            with connection.wrap_database_errors:
                cur.copy_expert(f"COPY {temp} FROM STDIN", buf)
            sets = ", ".join(f"{quote(c)} = u.{quote(c)}" for c in db_columns[1:])
            cur.execute(f"UPDATE {quote(meta.db_table)} AS t SET {sets} FROM {temp} AS u WHERE t.id = u.id")
            cur.execute(f"DROP TABLE {temp}")

    def delete_children(self, model, task_ids: list[int], **filters) -> None:
        if self.pg:
            # One DELETE with an array: no IN list of thousands of parameters each prepared by the ORM. TaskUnit
            # and Milestone have no delete signals and nothing references them, so this is what .delete() does.
            if not task_ids:
                return
            where = "".join(f" AND {model._meta.get_field(k).column} = %s" for k in filters)
            with connection.cursor() as cur:
                cur.execute(
                    f"DELETE FROM {model._meta.db_table} WHERE task_id = ANY(%s){where}", [task_ids, *(getattr(v, "value", v) for v in filters.values())]
                )
            return
        for i in range(0, len(task_ids), 500):
            model.objects.filter(task_id__in=task_ids[i : i + 500], **filters).delete()


AUDIT_COLUMNS = ["actor_id", "actor_name", "ip", "action", "object_type", "object_id", "object_repr", "changes", "message"]


def _audit_rows(entries: list[tuple[str, int, str, dict]], *, actor, request, writer) -> None:
    """One audit record per created or updated task, as audit_log writes them, in one bulk insert."""
    from departments.services import request_ip

    if actor is None and request is not None and getattr(request, "user", None) and request.user.is_authenticated:
        actor = request.user
    name = actor.get_username() if actor is not None else "系统"
    actor_id = actor.pk if (actor is not None and actor.pk) else None
    ip = request_ip(request)
    writer.insert(
        AuditEntry,
        AUDIT_COLUMNS,
        [(actor_id, name, ip, action, "task", str(task_id), repr_[:300], changes, "Excel 导入") for action, task_id, repr_, changes in entries],
    )


_SEGMENT_NUMBERS: dict[str, str] = {}


def _sort_key(path: list[str]) -> str:
    """tasks.models.path_sort_key, with each segment's number computed once per process."""
    out = []
    for s in path:
        n = _SEGMENT_NUMBERS.get(s)
        if n is None:
            n = _SEGMENT_NUMBERS[s] = f"{path_segment_number(s):04d}"
        out.append(n)
    return ".".join(out)


TASK_INSERT_COLUMNS = [
    "id", "document_id", "path", "path_key", "sort_key", "section", "title", "text", "note", "status", "open_due",
    "deadline", "version", "created_at", "updated_at",
]
TASK_UPDATE_COLUMNS = [
    "id", "path", "path_key", "sort_key", "title", "text", "note", "status", "version", "open_due", "deadline", "updated_at",
]
_ROLES = ((TaskUnit.Role.LEAD.value, "lead"), (TaskUnit.Role.RESPONSIBLE.value, "responsible"), (TaskUnit.Role.COUNTY.value, "counties"))


def _apply(plans: list[RowPlan], *, actor, request) -> None:
    from .services import diff_snapshots, document_upsert

    now = timezone.now()
    writer = _Writer(now)
    docs: dict[str, Document] = {}
    for plan in plans:
        if plan.state.document_id is None and plan.existing is None and plan.changed != {"__conflict__"}:
            key = plan.state.document_label
            if key not in docs:
                number = _doc_number_in(key)
                title = key.replace(number, "").strip(" 《》()（）") if number else key
                docs[key], _ = document_upsert(doc_number=number, title=title or key, actor=actor)
            plan.state.document_id = docs[key].pk
            plan.state.document_label = key

    new = [p for p in plans if p.existing is None and p.changed != {"__conflict__"}]
    upd = [p for p in plans if p.existing is not None and p.changed]
    audits, units, miles = [], [], []

    # Creates
    task_rows = []
    for p in new:
        s = p.state
        open_due, deadline = _schedule(s)
        task_rows.append(
            (
                None, s.document_id, s.path, path_display(s.path), _sort_key(s.path), s.section, s.title, s.text,
                s.note, s.status, open_due, deadline, 1, now, now,
            )
        )
    if writer.pg:
        for i, pk in enumerate(writer.new_ids(Task, len(task_rows))):
            task_rows[i] = (pk, *task_rows[i][1:])
        ids = writer.insert(Task, TASK_INSERT_COLUMNS, task_rows)
    else:
        ids = writer.insert(Task, TASK_INSERT_COLUMNS[1:], [r[1:] for r in task_rows])
    for p, pk, row in zip(new, ids, task_rows, strict=True):
        s = p.state
        s.id = pk
        for role, attr in _ROLES:
            units += [(pk, u.id, role, i) for i, u in enumerate(getattr(s, attr))]
        miles += [(pk, d, t, c, done) for d, t, c, done in s.milestones]
        audits.append(("task_create", pk, f"{row[3]} {row[6]}", diff_snapshots({}, snapshot(s))))

    # Updates
    changed_rows, unit_roles, mile_tasks = [], [], []
    for p in upd:
        cur, s, changed = p.existing, p.state, p.changed
        after = TaskState(
            id=cur.id, version=cur.version + 1, document_id=cur.document_id, document_label=cur.document_label,
            path=s.path if "path" in changed else cur.path,
            title=s.title if "title" in changed else cur.title,
            text=s.text if "text" in changed else cur.text,
            note=s.note if "note" in changed else cur.note,
            status=s.status if "status" in changed else cur.status,
            lead=s.lead if "lead" in changed else cur.lead,
            responsible=s.responsible if "responsible" in changed else cur.responsible,
            counties=s.counties if "counties" in changed else cur.counties,
            milestones=s.milestones if "milestones" in changed else cur.milestones,
            targets=cur.targets, section=cur.section,
        )
        open_due, deadline = _schedule(after)
        changed_rows.append(
            (
                cur.id, after.path, after.path_key, _sort_key(after.path), after.title, after.text, after.note,
                after.status, after.version, open_due, deadline, now,
            )
        )
        for role, attr in _ROLES:
            if attr in changed:
                unit_roles.append((cur.id, role))
                units += [(cur.id, u.id, role, i) for i, u in enumerate(getattr(after, attr))]
        if "milestones" in changed:
            mile_tasks.append(cur.id)
            miles += [(cur.id, d, t, c, done) for d, t, c, done in after.milestones]
        # `after` shares every attribute outside `changed` with `cur`: only the snapshot keys of changed ones can differ.
        keys = {SNAPSHOT_KEY[attr] for attr in changed}
        audits.append(
            ("task_update", cur.id, f"{after.path_key} {after.title}", diff_snapshots(snapshot(cur, keys), snapshot(after, keys)))
        )
    writer.update(Task, TASK_UPDATE_COLUMNS, changed_rows)
    by_role = defaultdict(list)
    for task_id, role in unit_roles:
        by_role[role].append(task_id)
    for role, task_ids in by_role.items():
        writer.delete_children(TaskUnit, task_ids, role=role)
    writer.delete_children(Milestone, mile_tasks)
    writer.insert(TaskUnit, ["task_id", "unit_id", "role", "position"], units)
    writer.insert(Milestone, ["task_id", "date", "text", "context", "done"], miles)
    _audit_rows(audits, actor=actor, request=request, writer=writer)
    # 序时进度 dates of the tasks created or changed (tasks.pace; derived data, like open_due above)
    from .services import tasks_refresh_pace

    tasks_refresh_pace(task_ids=[p.state.id for p in new] + [p.existing.id for p in upd])


def ledger_import(
    *, data: bytes, document: Document | None = None, dry_run: bool = True, actor=None, request=None
) -> ImportResult:
    """Preview (dry_run) or write a ledger file. Writes happen in one transaction and only when no row has an error;
    rows edited in the file but changed in the app since the export are reported as conflicts and left alone."""
    with gc_paused():
        return _ledger_import(data=data, document=document, dry_run=dry_run, actor=actor, request=request)


def _ledger_import(*, data: bytes, document: Document | None, dry_run: bool, actor, request) -> ImportResult:
    rows = read_rows(data)
    if dry_run:
        result, _plans, _ctx = plan_import(rows, document=document)
        return result
    try:
        with transaction.atomic():
            result, plans, _ctx = plan_import(rows, document=document, lock=True)
            if result.errors:
                return result
            _apply(plans, actor=actor, request=request)
            result.written = True
    except IntegrityError:
        raise ApplicationError("导入失败：编号与其他任务冲突（可能同时有人在修改台账），未写入任何数据，请重新预览。") from None
    return result


__all__ = [
    "PERIOD_GROUP",
    "ImportResult",
    "RowError",
    "SpreadsheetError",
    "column_letter",
    "ledger_import",
    "parse_deadline",
    "read_rows",
]
