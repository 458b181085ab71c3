"""Reading an office's 分工表 or 台账 workbook into the ledger: preview (nothing written) and import.

A workbook arrives as offices have it: several sheets (a cover or 说明 first), title rows holding the plan's title
and 文号, one to three header rows with merged cells, section rows (一、…) that number the tasks under them,
numbering in its own column or inside the task text, column names in many forms. ``ledger_import`` finds the
sheet and header, maps columns to fields (the user can correct the mapping), resolves unit names (aliases, names
from before the 2018 reorganisation, county phrases) and deadlines (tasks/deadlines.py), matches rows to existing
tasks, and lists every row as created, updated (old -> new) or unchanged. Writing happens only when no row has an
error, in one transaction, through the bulk rules of tasks/services.py (version, audit, schedule).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from departments.former_names import strip_etc
from departments.models import Unit, UnitKind, normalize_unit_name
from departments.selectors import (
    former_name_suggestions,
    resolve_in_table,
    unit_lookup_table,
    unit_match_candidates,
)
from departments.services import ApplicationError

from .deadlines import DATE_HINT, ParsedDeadline, parse_deadlines, year_of_plan
from .excel import (
    RowError,
    SheetData,
    SpreadsheetError,
    cell_text,
    column_letter,
    gc_paused,
    load_states,
    read_workbook,
)
from .extraction.attribution import parse_attribution
from .extraction.targets import find_targets
from .extraction.text import to_simplified
from .models import Document, Progress, Target, path_display, path_segment_number
from .resources import (
    LEDGER_COLUMNS,
    SNAPSHOT_KEY,
    TaskState,
    normalize_cell,
    parse_ref,
    row_fingerprint,
    snapshot,
)
from .services import diff_snapshots, document_upsert, tasks_bulk_save

HEADER_SCAN_ROWS = 30

# --------------------------------------------------------------------------------------------------- columns

# field key -> (name in the JSON preview, Chinese label)
FIELDS: dict[str, tuple[str, str]] = {
    "seq": ("path", "序号"),
    "source": ("document", "任务来源(文件/文号)"),
    "title": ("title", "重点任务"),
    "text": ("text", "目标任务/指标"),
    "lead": ("lead_units", "牵头单位"),
    "responsible": ("responsible_units", "责任单位"),
    "deadline": ("deadlines", "完成时限"),
    "status": ("status", "完成状态"),
    "note": ("note", "备注"),
    "ref": ("ref", "系统编号"),
    "progress": ("progress", "本期进展情况"),
    "problems": ("problems", "存在问题"),
    "next_steps": ("next_steps", "下步打算"),
}
# The snapshot keys (task history) in the JSON preview's "changes".
CHANGE_NAMES = {"milestones": "deadlines"}
CHANGE_LABELS = {
    "title": "任务名称", "text": "任务内容", "note": "备注", "status": "进展状态", "path": "编号", "lead_units": "牵头单位",
    "responsible_units": "责任单位", "counties": "县(市、区)", "deadlines": "完成时限",
}  # fmt: skip

# Header words offices use, beyond the standard layout's own (tasks/resources.py), compared without spaces,
# punctuation or bracketed remarks.
EXTRA_HEADERS: dict[str, tuple[str, ...]] = {
    "seq": ("序号", "编号", "序", "项目编号", "任务编号"),
    "source": ("所属文件", "文件名称", "政策文件", "出处", "任务出处", "文件依据", "所属方案"),
    "title": (
        "重点任务", "工作任务", "主要任务", "要点内容", "任务内容", "具体任务", "任务名称", "重点工作任务", "重点工作",
        "改革任务", "重点改革任务", "工作要点", "任务", "工作事项", "任务事项", "事项", "工作内容", "主要工作", "具体工作",
        "工作重点", "任务清单", "项目名称", "改革事项", "重点事项", "主要内容", "改革内容", "重点内容",
    ),
    "text": (
        "目标任务", "具体内容", "指标", "工作目标", "目标要求", "具体措施", "工作措施", "主要措施", "完成标准", "预期目标",
        "目标", "任务目标", "工作举措", "推进措施", "具体举措", "预期成果", "成果形式", "工作要求", "主要目标", "具体要求",
        "任务要求", "目标任务及指标", "具体目标", "绩效目标", "实施步骤", "推进步骤",
    ),
    "lead": ("牵头单位", "牵头部门", "主办单位", "牵头", "主责单位", "主责部门", "负责单位", "牵头责任单位", "牵头负责单位", "主办部门"),
    "responsible": (
        "责任单位", "责任部门", "配合单位", "配合部门", "协办单位", "参与单位", "协同单位", "参加单位", "会办单位",
        "协作单位", "配合", "协办部门", "参与部门", "责任主体",
    ),
    "deadline": (
        "完成时限", "时间节点", "完成时间", "时限", "完成期限", "时限要求", "时间要求", "时间安排", "进度安排", "完成时间节点",
        "截止时间", "推进时限", "办结时限", "完成节点", "时间进度", "进度要求",
    ),
    "status": ("完成状态", "进展状态", "状态", "完成情况"),
}  # fmt: skip
_NOTE_RE = re.compile(r"^(?:注|说明|备注|填表|附注|制表|来源|资料来源|※|\*)")
_NUMBERED_RE = re.compile(
    r"^(?:[一二三四五六七八九十]+\s*[、.]|\([一二三四五六七八九十\d]+\)|\d+\s*[.、]\s*\S)"
)
_IGNORED_HEADER_RE = re.compile(r"领导|责任人|联系人|联络员|电话|分管")
# Heading words of a merged group above the real headers (责任分工 over 牵头单位 | 配合单位).
_GROUP_HEADER_RE = re.compile(
    r"^(?:责任分工|任务分工|分工|责任单位|本期工作情况|工作情况|进展情况|完成情况|单位|责任)$"
)


def _norm_header(text) -> str:
    text = to_simplified(unicodedata.normalize("NFKC", cell_text(text)))
    text = re.sub(r"\(.*?\)|（.*?）", "", text)
    return re.sub(r"[\s*＊:：、/()（）.·]", "", text)


def _build_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for col in LEDGER_COLUMNS:
        for name in (col.header, *col.synonyms):
            lookup.setdefault(_norm_header(name), col.key)
    for key, names in EXTRA_HEADERS.items():
        for name in names:
            lookup[_norm_header(name)] = key
    lookup[_norm_header("任务内容")] = "title"
    return lookup


_LOOKUP = _build_lookup()
_CONTAINS_RULES: list[tuple[re.Pattern, str]] = [
    (re.compile(r"系统编号"), "ref"),
    (re.compile(r"牵头|主办|主责"), "lead"),
    (re.compile(r"配合|协办|参与|协同|会同|参加|协作"), "responsible"),
    (re.compile(r"责任单位|责任部门|承办"), "responsible"),
    (re.compile(r"时限|时间节点|完成时间|时间要求|期限|进度安排|时间安排|截止"), "deadline"),
    (re.compile(r"^序号|^编号"), "seq"),
    (re.compile(r"文号|来源|依据|出处"), "source"),
    (re.compile(r"进展|推进情况"), "progress"),
    (re.compile(r"问题"), "problems"),
    (re.compile(r"下步|下一步"), "next_steps"),
    (re.compile(r"状态"), "status"),
    (re.compile(r"备注"), "note"),
    (re.compile(r"目标|指标|措施|举措|标准|要求|成果"), "text"),
    (re.compile(r"任务|要点|事项|内容|工作"), "title"),
]


def header_field(value) -> str | None:
    """The field a header cell names, or None."""
    raw = to_simplified(unicodedata.normalize("NFKC", cell_text(value))).strip()
    if _NUMBERED_RE.match(raw):
        return None  # 一、主要任务 is a section row, not a header
    text = _norm_header(value)
    if not text or len(text) > 20 or _IGNORED_HEADER_RE.search(text):
        return None
    if text in _LOOKUP:
        return _LOOKUP[text]
    for pattern, key in _CONTAINS_RULES:
        if pattern.search(text):
            return key
    return None


@dataclass
class Header:
    sheet: str
    row: int  # 0-based index of the first header row
    data_start: int  # 0-based index of the first data row
    columns: dict[str, int]  # field -> column index
    headers: dict[str, str]  # field -> header as written
    title_lines: list[str]

    @property
    def header_row(self) -> int:
        """Excel's number of the (last) header row."""
        return self.data_start

    def label(self, key: str) -> str:
        if key not in self.columns:
            return FIELDS.get(key, (key, key))[1]
        # one string per column, not one per error (a ledger of unknown units has an error on every row)
        cache = self.__dict__.setdefault("_labels", {})
        index, header = self.columns[key], self.headers.get(key) or FIELDS[key][1]
        if (index, header) not in cache:
            cache[(index, header)] = f"{column_letter(index)}（{header}）"
        return cache[(index, header)]


def _fill_merged(sheet: SheetData, header_end: int | None = None, upto: int | None = None) -> list[list]:
    """Merged cells as offices mean them: a header merged across columns names each of them; a 牵头单位 or 完成时限
    merged down over several tasks belongs to each. A section row merged across the table stays one cell.
    ``upto``: only the first rows (finding the header needs no more)."""
    rows = sheet.rows if upto is None else sheet.rows[:upto]
    if not sheet.merged:
        return rows
    rows = list(rows)
    # A row is copied when a merged value is written into it, not before: the sheet stays as read.
    copied = set()
    for (r0, c0), (r1, c1) in sheet.merged:
        if r0 >= len(rows) or c0 >= len(rows[r0]):
            continue
        value = rows[r0][c0]
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            in_header = header_end is None or r < header_end
            for c in range(c0, c1 + 1):
                if (r, c) == (r0, c0) or c >= len(rows[r]):
                    continue
                if in_header or (c == c0 and r > r0 and r1 > r0):
                    if rows[r][c] in ("", None):
                        if r not in copied:
                            rows[r] = list(rows[r])
                            copied.add(r)
                        rows[r][c] = value
    return rows


def _row_fields(row: list) -> dict[int, str]:
    out = {}
    for i, v in enumerate(row):
        if v in ("", None):
            continue
        key = header_field(v)
        if key:
            out[i] = key
    return out


def _is_header_continuation(row: list) -> bool:
    cells = [v for v in row if v not in ("", None) and str(v).strip()]
    if not cells:
        return False
    mapped = 0
    for v in cells:
        if header_field(v):
            mapped += 1
        elif not _GROUP_HEADER_RE.match(_norm_header(v)):
            return False
    return mapped > 0


def _columns_from(rows: list[list], start: int, end: int) -> tuple[dict[str, int], dict[str, str]]:
    """field -> column over header rows start..end-1: for each column the lowest row that names a field wins."""
    width = max((len(rows[r]) for r in range(start, end)), default=0)
    by_column: dict[int, tuple[str, str]] = {}
    for c in range(width):
        for r in range(end - 1, start - 1, -1):
            v = rows[r][c] if c < len(rows[r]) else None
            if v in ("", None):
                continue
            key = header_field(v)
            if key:
                by_column[c] = (key, " ".join(cell_text(v).split()))
                break
    columns: dict[str, int] = {}
    headers: dict[str, str] = {}
    for c, (key, text) in sorted(by_column.items()):
        if key in columns:
            # Two task-like columns: 重点任务 then 具体内容 / 主要任务 then 工作措施.
            if key == "title" and "text" not in columns:
                key = "text"
            elif (
                key == "responsible"
                and "lead" not in columns
                and "责任" in headers[key]
                and "责任" not in text
            ):
                # 责任单位 | 配合单位: the 责任单位 leads, the 配合单位 take part.
                columns["lead"], headers["lead"] = columns.pop("responsible"), headers.pop("responsible")
            else:
                continue
        columns[key], headers[key] = c, text
    if "title" not in columns and "text" in columns:
        columns["title"], headers["title"] = columns.pop("text"), headers.pop("text")
    if "lead" not in columns and "responsible" in columns and re.search(r"责任", headers["responsible"]):
        # One 责任单位 column: the first unit named leads (排在第一位的为牵头单位).
        columns["lead"] = columns["responsible"]
        headers["lead"] = headers["responsible"]
    return columns, headers


def _starts_header(row: list) -> bool:
    """A row that can open a header: two field names, or one under a group heading (责任分工 | 时间节点)."""
    own = _row_fields(row)
    return len(own) >= 2 or bool(own and any(_GROUP_HEADER_RE.match(_norm_header(v)) for v in row if v))


def _header_end(raw: list[list], start: int) -> int:
    """The row after a header that starts at ``start``: up to two rows below continue it (牵头部门 | 配合部门)."""
    end = start + 1
    while end < len(raw) and end < start + 3 and _is_header_continuation(raw[end]):
        end += 1
    return end


def _header(sheet: SheetData, start: int, end: int) -> Header:
    rows = _fill_merged(sheet, header_end=end, upto=end)
    columns, headers = _columns_from(rows, start, end)
    title_lines = []
    for above in rows[:start]:
        for v in dict.fromkeys(cell_text(v).strip() for v in above if v not in ("", None)):
            if v:
                title_lines.append(v)
    return Header(sheet.name, start, end, columns, headers, title_lines)


def find_table(sheet: SheetData) -> Header | None:
    """The header of a sheet: the first row (of the first 30) that, with up to two rows below it, names the task
    column and one of 牵头/责任单位 or 完成时限."""
    raw = sheet.rows
    for r in range(min(len(raw), HEADER_SCAN_ROWS)):
        if not _starts_header(raw[r]):
            continue
        end = _header_end(raw, r)
        rows = _fill_merged(sheet, header_end=end, upto=end)
        columns, _headers = _columns_from(rows, r, end)
        if "title" in columns and ({"lead", "responsible", "deadline"} & set(columns)):
            return _header(sheet, r, end)
    return None


def header_row_number(value, sheet: SheetData) -> int:
    """The header row the user gave (Excel's row number, from the preview page or --header-row), checked against
    the sheet; a message that says what is wrong and where otherwise."""
    count = len(sheet.rows)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    text = re.sub(r"^第\s*|\s*行$", "", text)
    if not re.fullmatch(r"-?[0-9]{1,9}", text):
        raise SpreadsheetError(
            f"表头行“{value}”不是行号：请填写 1 到 {count} 之间的整数（工作表“{sheet.name}”共 {count} 行）。",
            field="header_row",
        )
    number = int(text)
    if number < 1:
        raise SpreadsheetError(
            f"表头行不能是第 {number} 行：行号从 1 开始（工作表“{sheet.name}”共 {count} 行）。",
            field="header_row",
        )
    if number > count:
        raise SpreadsheetError(
            f"第 {number} 行超出工作表“{sheet.name}”的行数（共 {count} 行）。", field="header_row"
        )
    if not any(cell_text(v).strip() for v in sheet.rows[number - 1]):
        raise SpreadsheetError(
            f"工作表“{sheet.name}”的第 {number} 行是空行，不能作为表头：请选择写有列名（如“重点任务”“牵头单位”）的行。",
            field="header_row",
        )
    return number


def header_at(sheet: SheetData, number: int) -> Header:
    """The header the user chose: the one that contains Excel row ``number``. It starts there, or up to two rows
    above when the chosen row continues a header that starts there (the 牵头部门 | 配合部门 row under 责任分工), and
    takes in the rows below that continue it. Its columns are whatever it names (maybe no task column: the
    mapping then has to say which one it is)."""
    raw = sheet.rows
    start = number - 1
    for above in (start - 2, start - 1):
        if above >= 0 and _starts_header(raw[above]) and _header_end(raw, above) > start:
            start = above
            break
    return _header(sheet, start, _header_end(raw, start))


def _columns_found(sheets: list[SheetData]) -> str:
    """What the first sheet with content has in its widest early row: for the 'no header' message."""
    for sheet in sheets:
        if not sheet.has_content:
            continue
        best = max(
            sheet.rows[:HEADER_SCAN_ROWS], key=lambda r: sum(1 for v in r if v not in ("", None)), default=[]
        )
        names = [" ".join(cell_text(v).split())[:20] for v in best if v not in ("", None)]
        return f"工作表“{sheet.name}”中找到的列：{'、'.join(f'“{n}”' for n in names[:15])}"
    return "表格中没有内容"


def likely_header_row(sheets: list[SheetData], sheet_name: str | None = None) -> tuple[str, int] | None:
    """(sheet, Excel row) of the row most like a header when none was recognised: the widest of the first 30 rows
    of the named sheet or the first with content; None for a workbook without content."""
    for sheet in sheets:
        if (sheet_name and sheet.name != sheet_name) or not sheet.has_content:
            continue
        width = [sum(1 for v in r if cell_text(v).strip()) for r in sheet.rows[:HEADER_SCAN_ROWS]]
        best = max(range(len(width)), key=lambda i: (width[i], -i))
        return sheet.name, best + 1
    return None


HEADER_CHOICE_ROWS = 15


def _has_any_cell(sheet: SheetData) -> bool:
    return any(any(v is not None and v != "" for v in row) for row in sheet.rows)


def _row_choices(sheet: SheetData, header: Header) -> list[tuple[int, str]]:
    """The first rows of the sheet (at least 15, and the header's) with their text, to choose the header from."""
    out = []
    for r, row in enumerate(sheet.rows[: max(HEADER_CHOICE_ROWS, header.data_start)]):
        words = [" ".join(cell_text(v).split()) for v in row if cell_text(v).strip()]
        text = " | ".join(dict.fromkeys(words))
        out.append((r + 1, (text[:60] + "…" if len(text) > 60 else text) if text else ""))
    return out


def _sheet_named(sheets: list[SheetData], sheet_name: str) -> SheetData:
    for sheet in sheets:
        if sheet.name == sheet_name:
            return sheet
    names = "、".join(f"“{s.name}”" for s in sheets)
    raise SpreadsheetError(f"工作簿中没有名为“{sheet_name}”的工作表（有：{names}）。", field="sheet")


def locate_table(
    sheets: list[SheetData], *, sheet_name: str | None = None, header_row: int | str | None = None
) -> tuple[Header, list[list]]:
    """The sheet with a recognisable header (or the one named) and its rows with merged cells filled.
    ``header_row`` (Excel's number of a header row, as the user gave it) takes the header there instead of looking
    for one: on the named sheet, else on the sheet the search would pick, else on the first with content."""
    if not sheets:
        raise SpreadsheetError("工作簿中没有工作表。", field="file")
    candidates = [_sheet_named(sheets, sheet_name)] if sheet_name else sheets
    if header_row is not None and str(header_row).strip():
        sheet = candidates[0] if sheet_name else None
        if sheet is None:
            sheet = next((s for s in sheets if find_table(s) is not None), None)
            sheet = sheet or next((s for s in sheets if s.has_content), sheets[0])
        header = header_at(sheet, header_row_number(header_row, sheet))
        return header, _fill_merged(sheet, header_end=header.data_start)
    for sheet in candidates:
        header = find_table(sheet)
        if header is not None:
            return header, _fill_merged(sheet, header_end=header.data_start)
    error = SpreadsheetError(
        "找不到表头：前 30 行中没有一行同时包含任务列（如“重点任务”“主要任务”“工作任务”）和"
        f"“牵头单位”“责任单位”或“完成时限”之类的列名。{_columns_found(candidates)}。",
        field="header",
    )
    error.likely_header = likely_header_row(candidates)  # where a preview may let the user choose it
    raise error


# --------------------------------------------------------------------------------------------------- numbering

_LEVEL_PATTERNS = [
    (0, re.compile(r"^(附件\d*|附表\d*)\s*[、.．:：]?\s*")),
    (0, re.compile(r"^([一二三四五六七八九十百]+)\s*[、.．,，]\s*")),
    (1, re.compile(r"^[(（]([一二三四五六七八九十百]+)[)）]\s*[、.．]?\s*")),
    (2, re.compile(r"^(\d+)\s*[.．、,，]?\s*(?=\D|$)")),
    (3, re.compile(r"^[(（](\d+)[)）]\s*[、.．]?\s*")),
]
_FULL_PATH = re.compile(r"^[一二三四五六七八九十百]+(\.[(（]?[一二三四五六七八九十百\d]+[)）]?)+$")
# 1.1, 2.3.4: offices' 台账 often number every task in full, Arabic and dotted (and 1.1 is not "1").
_DOTTED_PATH = re.compile(r"^\d+(?:\.\d+)+\.?$")
_CN_NUMERALS = "一二三四五六七八九十"


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


def _cn_number(n: int) -> str:
    if n <= 10:
        return _CN_NUMERALS[n - 1]
    if n < 20:
        return "十" + _CN_NUMERALS[n - 11]
    tens, ones = divmod(n, 10)
    return _CN_NUMERALS[tens - 1] + "十" + (_CN_NUMERALS[ones - 1] if ones else "")


def _segment_like(segment: str, n: int) -> str:
    """The n-th number written the way ``segment`` is: 3 -> '3', '(三)', '三'."""
    if segment.isdigit():
        return str(n)
    if segment.startswith("("):
        return f"({n})" if segment[1:-1].isdigit() else f"({_cn_number(n)})"
    return _cn_number(n)


# --------------------------------------------------------------------------------------------------- units

# Every county government: 各县(市、区)政府(管委会), 各区、县级市政府, 各县市区, 各县(区), 各区县政府…
_ALL_COUNTIES_RE = re.compile(
    r"各\s*(?:县|区|市)(?:\([^()]{1,8}\)|县级市|[县市区])*(?:[、,](?:县级市|[县市区])+)+(?:人民)?政府(?:\([^()]{0,12}管委会\))?"
    r"|各\s*(?:县|区|市)(?:\([^()]{1,8}\)|县级市|[县市区])*(?:人民)?(?:政府)?(?:\([^()]{0,12}管委会\))?"
)
# Named as written but not one unit (street offices, towns, "the relevant departments"): kept, with a warning.
_KEPT_RE = re.compile(r"各|^(?:街道|乡镇|镇|乡|社区|村)|有关|相关|成员单位$|专班$|^其他")
_COUNTY_NAME_RE = re.compile(r"^.{1,10}(?:县|区|市|旗)(?:人民)?政府$|管委会$|^.{1,6}(?:县|区|旗)$")


def split_unit_cell(text: str, *, known=None) -> list[tuple[str, str]]:
    """A unit cell as (kind, name) pieces: ('unit', name) or ('counties', the phrase as written).

    Offices separate names with spaces too (市卫健委 市财政局), but a unit's own name may contain one (the export
    writes names as they are, joined with 、): a piece between real separators whose whole text ``known(name)``
    recognises stays one name; otherwise it is split at its spaces."""
    text = to_simplified(unicodedata.normalize("NFKC", text or ""))
    text = text.replace("〔", "(").replace("〕", ")").replace("【", "(").replace("】", ")")
    pieces: list[tuple[str, str]] = []
    protected: dict[str, str] = {}

    def protect(m):
        token = f"\x00{len(protected)}\x00"
        protected[token] = m[0]
        return token

    text = _ALL_COUNTIES_RE.sub(protect, text)
    # A bracket holds one name's own words (市医保局(医疗救助)) unless it lists several: keep it with its name.
    text = re.sub(r"\([^()]*\)", protect, text)
    raws = []
    for strong in re.split(r"[、,;/\n\r\t]+|(?<=[局委办府院会])(?:和|及|与)(?=市|县|区)", text):
        whole = strong.strip("。.：: ")
        restored = whole
        for token, original in protected.items():
            restored = restored.replace(token, original)
        if " " in whole and known is not None and known(restored):
            raws.append(whole)
        else:
            raws += strong.split(" ")
    for raw in raws:
        raw = raw.strip("。.：: ")
        if not raw:
            continue
        for token, original in protected.items():
            raw = raw.replace(token, original)
        if raw.startswith(("牵头", "配合", "责任单位", "参与")) and ("：" in raw or ":" in raw):
            raw = re.split(r"[:：]", raw, maxsplit=1)[1]
        raw = strip_etc(raw)  # 市卫生健康委等: the 等 closes the list
        if not raw:
            continue
        if _ALL_COUNTIES_RE.fullmatch(raw) or re.fullmatch(r"各\s*(?:县|区).*", raw) and "政府" in raw:
            pieces.append(("counties", raw))
        else:
            pieces.append(("unit", raw))
    return pieces


# Words that make a unit cell a sentence about who does what (市卫健委牵头，市医保局配合; 市卫健委(牵头)、…;
# 牵头单位：…；配合单位：…; 市医保局、市卫健委按职责分工负责) rather than a plain list of names.
_ATTRIBUTION_WORDS_RE = re.compile(r"牵头|配合|负责|参与|协助|协办|主责|参加|落实")


@functools.lru_cache(maxsize=4096)  # a ledger repeats its unit cells
def attributed_units(text: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] | None:
    """(lead names, responsible names, county phrases) of a unit cell written as an attribution, read by the
    plan reader's rules (tasks.extraction.attribution: labels, 牵头/配合 verbs, a (牵头) mark, 分别负责 = each
    leads); None for a plain list of names, which `split_unit_cell` reads."""
    if not text or not _ATTRIBUTION_WORDS_RE.search(text):
        return None
    att = parse_attribution(to_simplified(unicodedata.normalize("NFKC", text)), None)
    if att is None or not (att.lead or att.responsible or att.county_units):
        return None
    return tuple(att.lead), tuple(att.responsible), tuple(att.county_units)


def unit_kind_for(name: str) -> str:
    """The kind of a new unit, from its name: a county-level government or administrative committee is a county."""
    name = normalize_unit_name(name)
    return (
        UnitKind.COUNTY if _COUNTY_NAME_RE.search(name) and not name.startswith("市") else UnitKind.DEPARTMENT
    )


@dataclass(eq=False)
class NewUnit:
    """A unit the import will create (--add-units, or '新建' in the preview)."""

    name: str
    kind: str
    id: int | None = None
    sort_order: int = 0


# --------------------------------------------------------------------------------------------------- results


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


@dataclass(slots=True)
class RowPlan:
    row: int
    document_key: str
    path: list[str]
    section: list[str]
    state: TaskState  # the task as it will be
    existing: TaskState | None = None
    changed: set | frozenset = frozenset()  # assigned, never changed in place: one empty set for every row
    deadlines: list[ParsedDeadline] = field(default_factory=list)
    warnings: list[str] | tuple = ()  # a row without any shares the empty tuple; a list once one is added
    action: str = "create"
    changes: dict | None = None
    flagged: str | None = None  # why updating the matched task looks wrong (a markedly different title)
    as_new: bool = False
    after: TaskState | None = None  # the task as the update leaves it
    audit: dict | None = None  # its history record: {snapshot key: [old, new]}
    ref: tuple | None = None  # the hidden reference of an exported row: (task id, version, fingerprint)
    untouched: bool = False  # an exported row nobody edited in the file
    status_given: bool = False

    @property
    def change_rows(self) -> list[tuple[str, str, str]]:
        """(Chinese field name, old, new) for the preview page."""
        return [
            (CHANGE_LABELS.get(k, k), old or "（空）", new or "（空）")
            for k, (old, new) in (self.changes or {}).items()
        ]

    @property
    def new_targets(self) -> list:
        """The numeric targets read from the row (row_targets): given to a new task only; an existing task keeps
        its own, which may have been edited since."""
        return self.targets() if self.action == "create" else []

    def targets(self) -> list:
        """Read when asked (the preview's page, the write), not kept: 40,000 rows of unsaved Target objects took
        20 MB of a preview's memory (bench/bench_upload_memory.py)."""
        return row_targets(self.state.text or self.state.title, self.deadlines)

    @property
    def action_label(self) -> str:
        return {"create": "新建", "update": "更新", "unchanged": "未变"}[self.action]

    def as_dict(self, county_count: int) -> dict:
        s = self.state
        return {
            "row": self.row,
            "path": list(s.path),
            "title": s.title,
            "lead_units": [u.name for u in s.lead],
            "responsible_units": [u.name for u in s.responsible],
            "counties_involved": bool(s.counties),
            "deadlines": [d.as_dict() for d in self.deadlines],
            "action": self.action,
            "changes": self.changes or {},
        }


@dataclass
class DocumentChoice:
    """Where the rows go: an existing plan, or a new one (文号 and title editable in the preview)."""

    document: Document | None
    doc_number: str | None
    title: str
    created: bool
    from_column: bool = False  # rows name their plan in a column of their own

    def as_dict(self) -> dict:
        return {"doc_number": self.doc_number, "title": self.title, "created": self.created}


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
    header: Header | None = None
    document: DocumentChoice | None = None
    plans: list[RowPlan] = field(default_factory=list)
    unknown_units: dict[str, list[str]] = field(default_factory=dict)  # name as written -> suggestions
    kept_names: list[str] = field(default_factory=list)
    new_units: list[str] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)
    county_count: int = 0
    column_choices: list[tuple[int, str]] = field(default_factory=list)  # (index, "E 列：牵头部门")
    sheet_choices: list[tuple[str, int]] = field(
        default_factory=list
    )  # (sheet, rows) of the sheets with content
    row_choices: list[tuple[int, str]] = field(default_factory=list)  # (Excel row, its text) to choose from
    converted: bytes | None = None  # the .xlsx LibreOffice made of a workbook python-calamine could not read
    strong_matches: dict[str, int] = field(default_factory=dict)  # unknown name -> the unit it clearly means

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def warnings(self) -> int:
        return sum(len(p.warnings) for p in self.plans)

    @property
    def mapping_rows(self) -> list[dict]:
        """The fields the import reads, with the column each one came from (for the mapping form)."""
        columns = self.header.columns if self.header else {}
        return [
            {
                "key": k,
                "label": FIELDS[k][1],
                "index": columns.get(k),
                "header": self.header.headers.get(k) if self.header else None,
            }
            for k in ("seq", "title", "text", "lead", "responsible", "deadline", "status", "note", "source")
        ]

    @property
    def error_rows(self) -> int:
        """Rows with an error that are therefore not in the row list."""
        listed = {p.row for p in self.plans}
        return len({e.row for e in self.errors} - listed)

    @property
    def flagged(self) -> list[RowPlan]:
        return [p for p in self.plans if p.flagged and not p.as_new]

    def as_json(self) -> dict:
        """The preview as CONTRACT.md writes it for `import_ledger --json`."""
        header = self.header
        return {
            "document": self.document.as_dict()
            if self.document
            else {"doc_number": None, "title": "", "created": False},
            "sheet": header.sheet if header else "",
            "header_row": header.header_row if header else 0,
            "columns": {
                FIELDS[k][0]: header.headers[k] for k in sorted(header.columns, key=header.columns.get)
            }
            if header
            else {},
            "summary": {
                "created": self.created,
                "updated": self.updated,
                "unchanged": self.unchanged,
                "errors": len(self.errors),
                "warnings": self.warnings,
            },
            "rows": [p.as_dict(self.county_count) for p in self.plans],
            "unknown_units": [{"name": n, "suggestions": s} for n, s in self.unknown_units.items()],
            "errors": [{"row": e.row, "column": e.column, "message": e.message} for e in self.errors],
        }


STATUS_WORDS = (
    {p.label: p.value for p in Progress}
    | {p.value: p.value for p in Progress}
    | {
        "序时推进": Progress.IN_PROGRESS.value,
        "正在推进": Progress.IN_PROGRESS.value,
        "完成": Progress.COMPLETED.value,
    }
)


# --------------------------------------------------------------------------------------------------- documents

_DOC_NUMBER_RE = re.compile(r"[\w\u4e00-\u9fff]{1,12}[〔\[(（【]\s*\d{4}\s*[〕\])）】]\s*\d+\s*号")


def _doc_number_in(text: str) -> str | None:
    m = _DOC_NUMBER_RE.search(text or "")
    return m[0] if m else None


def _doc_by_normalized_number(text: str):
    target = normalize_unit_name(text).replace("[", "(").replace("]", ")")
    if not target:
        return None
    for doc in Document.objects.exclude(doc_number=None).only("id", "doc_number", "title"):
        if normalize_unit_name(doc.doc_number) == target:
            return doc
    return None


def _find_document(text: str) -> Document | None:
    text = unicodedata.normalize("NFKC", text or "").strip()
    if not text:
        return None
    number = _doc_number_in(text)
    return (
        Document.objects.filter(doc_number=text).first()
        or Document.objects.filter(title=text).first()
        or (Document.objects.filter(doc_number=number).first() if number else None)
        or _doc_by_normalized_number(number or text)
    )


_TITLE_NOISE_RE = re.compile(r"^(?:附件|附表)\s*\d*\s*[:：]?\s*|^\s*[:：]")


def sheet_title(lines: list[str]) -> tuple[str | None, str]:
    """(文号, title) from the rows above the header: 附件1 / 平医改办〔2021〕3号 / 2021年深化医改重点工作任务分工表."""
    number = None
    candidates = []
    for line in lines:
        line = " ".join(line.split())
        found = _doc_number_in(line)
        if found and not number:
            number = found
            rest = line.replace(found, "").strip(" ()（）《》:：")
            if len(rest) >= 6:
                candidates.append(rest)
            continue
        line = _TITLE_NOISE_RE.sub("", line).strip()
        if re.fullmatch(r"(?:附件|附表)?\s*\d*", line) or re.match(
            r"^(?:填报单位|填表|单位|制表|日期|时间)[:：]", line
        ):
            continue
        if len(line) >= 4:
            candidates.append(line)
    title = max(candidates, key=len) if candidates else ""
    return number, title[:300]


class _Ctx:
    """Lookups shared by every row of one import: units, documents."""

    def __init__(self, *, document: Document | None, unit_choices: dict | None, add_units: bool):
        self.table = unit_lookup_table()
        self.units = {u.pk: u for u in self.table.values()}
        self.all_counties = sorted(
            (u for u in self.units.values() if u.kind == UnitKind.COUNTY),
            key=lambda u: (u.sort_order, u.name),
        )
        self.document = document
        self.docs_by_key: dict[str, tuple[str, Document | None]] = {}
        self.choices = {normalize_unit_name(k): v for k, v in (unit_choices or {}).items()}
        self.add_units = add_units
        self.new_units: dict[str, NewUnit] = {}
        self.resolved: dict[str, object] = {}

    def resolve_document(self, text: str) -> tuple[str, Document | None]:
        """(key, document or None when it will be created)."""
        if self.document is not None:
            return f"id:{self.document.pk}", self.document
        text = unicodedata.normalize("NFKC", text or "").strip()
        if text not in self.docs_by_key:
            doc = _find_document(text)
            # one key object per plan, not one string per row
            self.docs_by_key[text] = ((f"id:{doc.pk}" if doc else f"new:{text}"), doc)
        return self.docs_by_key[text]

    def knows(self, name: str) -> bool:
        """Whether a name resolves to a unit (canonical, alias, former name)."""
        return resolve_in_table(self.table, name) is not None

    def unit(self, name: str):
        """A Unit, a NewUnit, None (ignored by the user) or False (unknown)."""
        if name in self.resolved:
            return self.resolved[name]
        key = normalize_unit_name(name)
        unit = resolve_in_table(self.table, name)
        if unit is None:
            choice = self.choices.get(key)
            if choice is not None:
                kind, value = choice
                if kind == "unit":
                    unit = (
                        self.units.get(int(value))
                        or Unit.objects.filter(pk=int(value), deleted_at=None).first()
                    )
                    unit = unit or False
                elif kind == "new":
                    unit = self.new_units.setdefault(
                        key, NewUnit(name=name, kind=value or unit_kind_for(name))
                    )
                else:
                    unit = None  # ignored
            elif _KEPT_RE.search(name):
                unit = False  # 各街道, 有关部门: not one unit, never created
            elif self.add_units:
                unit = self.new_units.setdefault(key, NewUnit(name=name, kind=unit_kind_for(name)))
            else:
                unit = False
        self.resolved[name] = unit
        return unit


# --------------------------------------------------------------------------------------------------- plan


def _measure_rows(rows: list[list], start: int, columns: dict[str, int]) -> dict[int, tuple[str, str]]:
    """{row index: (sub-number, the task's title)} for tables that list several 具体措施 under one task: the 序号 and
    the 重点任务 merged down (or repeated) over consecutive rows, each row a measure of its own (具体措施, with its
    units and deadline). Each such row becomes sub-task N.1, N.2, … titled by its measure, with the task's title
    as its heading; a task with a single measure row stays one task. Arabic 序号 only (1 → 1.1, 1.2)."""
    seq, title, text = columns.get("seq"), columns.get("title"), columns.get("text")
    if seq is None or title is None or text is None or text == title:
        return {}

    def cell(row, i):
        v = row[i] if i < len(row) else ""
        return (v if v.__class__ is str else cell_text(v)).strip()

    out: dict[int, tuple[str, str]] = {}
    r = start
    while r < len(rows):
        number, name = cell(rows[r], seq), cell(rows[r], title)
        end = r + 1
        while (
            end < len(rows)
            and number
            and name
            and (cell(rows[end], seq), cell(rows[end], title)) == (number, name)
        ):
            end += 1
        group = range(r, end)
        texts = [cell(rows[i], text) for i in group]
        if (
            len(group) > 1
            and re.fullmatch(r"\d+", number.rstrip(".、"))
            and all(texts)
            and len(set(texts)) == len(texts)
        ):
            for k, i in enumerate(group, start=1):
                out[i] = (f"{number.rstrip('.、')}.{k}", " ".join(name.split()))
        r = end
    return out


@functools.lru_cache(maxsize=2048)
def _found_targets(text: str) -> tuple:
    # the plan reader works on NFKC text (；→; ，→,), which is where its clause rules split
    return tuple(find_targets(to_simplified(unicodedata.normalize("NFKC", text)), []))


def row_targets(text: str, deadlines: list[ParsedDeadline]) -> list[Target]:
    """Numeric targets in a row's 目标任务/指标 text (县域内就诊率达到90%以上), read by the plan reader's rules
    (tasks.extraction.targets), as unsaved Target objects; each is due by the date its text names, else by the
    row's last deadline, as plan reading does for table rows (a recurring one: its next date). A value the rules
    cannot read is left out: the text stays on the task either way."""
    if not text or not any(ch.isdigit() for ch in text):
        return []
    fixed = [d.date for d in deadlines if d.date and not d.recurring]
    recurring = [d.date for d in deadlines if d.date and d.recurring]
    last = max(fixed) if fixed else min(recurring) if recurring else None
    out, seen = [], set()
    for t in _found_targets(text):
        value, high = t["value"] if isinstance(t.get("value"), list) else (t.get("value"), None)
        try:
            value = Decimal(str(value))
            high = Decimal(str(high)) if high is not None else None
        except (InvalidOperation, ValueError):
            continue
        by = t.get("by")
        due = dt.date.fromisoformat(by) if isinstance(by, str) else by if isinstance(by, dt.date) else last
        same = (t.get("indicator"), t.get("op"), value, high, t.get("unit"), due)
        if same in seen:  # one target said twice in the text (a summary, then the detail) is one target
            continue
        seen.add(same)
        values = {
            "indicator": (t.get("indicator") or "")[:200], "op": t.get("op") or ">=", "value": value,
            "value_high": high, "unit": (t.get("unit") or "")[:30], "due": due, "text": t.get("text") or "",
        }  # fmt: skip
        # positional arguments: Django's fast path (keyword arguments cost 15 µs a target, 0.35 s per 10,000 rows)
        out.append(Target(*[values.get(name, default) for name, default in _target_fields()]))
    return out


@functools.cache
def _target_fields() -> list[tuple[str, object]]:
    """(attname, default) of Target's concrete fields, in the order its __init__ takes them positionally."""
    return [
        (
            f.attname,
            f.get_default() if f.has_default() else None if f.null or f.primary_key else f.get_default(),
        )
        for f in Target._meta.concrete_fields
    ]


def _titles_differ(old: str, new: str) -> bool:
    """A row that would update a task with a markedly different title: likely another plan's task at that path."""
    from rapidfuzz import fuzz

    a = re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", old or ""))
    b = re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", new or ""))
    if not a or not b or a == b or a in b or b in a:
        return False
    return max(fuzz.ratio(a, b), fuzz.partial_ratio(a, b) * 0.9) < 55


def _milestones(parsed: list[ParsedDeadline], raw) -> list[tuple]:
    """(date, text, context, done) rows of a deadline cell; a recurring phrase gives each of its dates."""
    typed = not isinstance(raw, str)
    out = []
    for p in parsed:
        text = "" if typed else p.text[:200]
        if p.recurring and p.dates:
            out += [(d, text, "", False) for d in p.dates]
        else:
            out.append((p.date, text, "", False))
    return out


def _suggest(result: ImportResult, name: str, table: dict) -> None:
    """Ranked suggestions for a name no unit has (the bodies that replaced a former name first, then the closest
    names, as plan review ranks them); only a strong match (the same name written another way) may be preselected."""
    ranked = former_name_suggestions(table, name)
    candidates = unit_match_candidates(name=name, table=table)
    ranked += [c["unit"] for c in candidates if c["unit"] not in ranked]
    result.unknown_units[name] = [u.name for u in ranked[:5]]
    strong = next((c["unit"] for c in candidates if c["strong"]), None)
    if strong is not None:
        result.strong_matches[name] = strong.pk


def _choose_document(
    header: Header, *, document, doc_number, doc_title, column_first=False
) -> DocumentChoice:
    if document is not None:
        return DocumentChoice(document, document.doc_number, document.title, False)
    if "source" in header.columns and (column_first or (not doc_number and not doc_title)):
        return DocumentChoice(None, None, "", False, from_column=True)
    found_number, found_title = sheet_title(header.title_lines)
    number = (doc_number or "").strip() or (found_number if not doc_title else None)
    title = (doc_title or "").strip() or found_title
    if number:
        existing = _find_document(number)
        if existing is not None:
            return DocumentChoice(existing, existing.doc_number, existing.title, False)
        return DocumentChoice(None, number, title or number, True)
    if title:
        existing = Document.objects.filter(title=title, doc_number=None).first()
        if existing is not None:
            return DocumentChoice(existing, None, existing.title, False)
        return DocumentChoice(None, None, title, True)
    raise SpreadsheetError(
        "无法确定这些任务属于哪个文件：表格没有“任务来源(文件/文号)”列，表头上方也没有标题。"
        "请选择一个已有文件，或填写新文件的文号和标题。",
        field="document",
    )


def plan_import(
    sheets: list[SheetData],
    *,
    document: Document | None = None,
    doc_number: str | None = None,
    doc_title: str | None = None,
    mapping: dict[str, int | None] | None = None,
    sheet_name: str | None = None,
    header_row: int | str | None = None,
    unit_choices: dict | None = None,
    add_units: bool = False,
    as_new: set[int] | frozenset = frozenset(),
    column_first: bool = False,
    lock: bool = False,
) -> tuple[ImportResult, list[RowPlan], _Ctx | None]:
    """Read, validate and match every row; nothing is written. Returns (result, row plans, context). The table's
    rows are consumed: each is dropped from ``sheets`` once read."""
    result = ImportResult(sheets=[s.name for s in sheets])
    header, rows = locate_table(sheets, sheet_name=sheet_name, header_row=header_row)
    result.sheet_choices = [(s.name, len(s.rows)) for s in sheets if _has_any_cell(s)]
    result.row_choices = _row_choices(next(s for s in sheets if s.name == header.sheet), header)
    for key, index in (mapping or {}).items():
        if key not in FIELDS:
            continue
        if index is None or index == "":
            header.columns.pop(key, None)
            header.headers.pop(key, None)
            continue
        index = int(index)
        header.columns = {
            k: i for k, i in header.columns.items() if i != index or k in ("lead", "responsible")
        }
        header.columns[key] = index
        texts = [
            cell_text(rows[r][index]).strip()
            for r in range(header.row, header.data_start)
            if index < len(rows[r])
        ]
        header.headers[key] = " ".join(next((t for t in reversed(texts) if t), column_letter(index)).split())
    result.header = header
    width = max((len(rows[r]) for r in range(header.row, header.data_start)), default=0)
    found = []
    for c in range(width):
        texts = [
            cell_text(rows[r][c]).strip() for r in range(header.row, header.data_start) if c < len(rows[r])
        ]
        words = " / ".join(dict.fromkeys(" ".join(t.split()) for t in texts if t))
        result.column_choices.append((c, f"{column_letter(c)} 列" + (f"：{words}" if words else "")))
        if words:
            found.append(f"{column_letter(c)}“{words[:20]}”")
    if "title" not in header.columns:
        # A header chosen by hand (or a mapping) without a task column: the preview shows the columns to pick from.
        where = f"第 {header.row + 1} 行" + (
            f"至第 {header.data_start} 行" if header.data_start > header.row + 1 else ""
        )
        result.errors.append(
            RowError(
                header.header_row,
                FIELDS["title"][1],
                f"工作表“{header.sheet}”{where}的表头中没有任务名称列（如“重点任务”“主要任务”“工作任务”），"
                f"请在列对应关系中选择哪一列是任务名称。表头中的列：{'、'.join(found[:15]) or '（无）'}。",
            )
        )
        return result, [], None
    choice = _choose_document(
        header, document=document, doc_number=doc_number, doc_title=doc_title, column_first=column_first
    )
    result.document = choice
    ctx = _Ctx(document=choice.document, unit_choices=unit_choices, add_units=add_units)
    county_count = result.county_count = len(ctx.all_counties)
    columns = header.columns
    label = header.label
    column_items = list(columns.items())
    plan_year = year_of_plan(choice.doc_number, choice.title) if not choice.from_column else None
    today = timezone.localdate()

    stack: dict[int, str] = {}
    headings: dict[int, str] = {}
    auto_counter: dict[tuple, int] = defaultdict(int)
    plans: list[RowPlan] = []
    seen_paths: dict[str, dict[str, int]] = {}  # plan -> number -> Excel row
    units_cache: dict[tuple[str, str], tuple] = {}
    deadline_cache: dict = {}
    numbering_cache: dict[str, tuple] = {}
    sections: dict[tuple, list[str]] = {}
    kept: dict[str, None] = {}
    years: dict[str, int | None] = {}
    # Traditional characters (pages converted from other encodings) are rare: look once, convert only then.
    sample = "".join(
        cell_text(v) for row in rows[: header.data_start + 200] for v in row if v.__class__ is str
    )
    simplify = to_simplified if to_simplified(sample) != sample else (lambda text: text)

    def numbered(text: str) -> tuple[tuple | None, list[str] | None]:
        if text not in numbering_cache:
            if len(numbering_cache) >= 4096:
                numbering_cache.clear()  # 序号 texts repeat within a section, not across 40,000 rows: stay small
            normalized = unicodedata.normalize("NFKC", text)
            if _FULL_PATH.match(normalized.replace("（", "(").replace("）", ")")):
                full = normalized.split(".")
            elif _DOTTED_PATH.match(normalized.strip()):
                full = normalized.strip().rstrip(".").split(".")
            else:
                full = None
            numbering_cache[text] = (parse_numbering(text) if text else None, full)
        return numbering_cache[text]

    max_columns = settings.IMPORT_MAX_COLUMNS
    chosen_key = f"id:{choice.document.pk}" if choice.document is not None else ""
    detail_keys = ("lead", "responsible", "deadline", "status", "note", "text")
    detail_cols = [k for k in detail_keys if k in columns and columns[k] != columns.get("title")]
    measures = _measure_rows(rows, header.data_start, columns)
    # The rows are dropped from the list as they are read (the plans keep the texts they need): with the plans
    # built beside them, the peak of a 40,000-row preview is then one copy of the sheet, not two.
    # plan_import consumes the sheet: ledger_import reads the file anew for every call.
    sheet_rows = next(s for s in sheets if s.name == header.sheet).rows
    for r in range(header.data_start, len(rows)):
        row = rows[r]
        rows[r] = None
        if r < len(sheet_rows):
            sheet_rows[r] = None  # the same list when no cell is merged; else the row as read
        excel_row = r + 1
        if len(row) > max_columns:
            row = row[:max_columns]
        nonempty = [v for v in row if v is not None and v != "" and (v.__class__ is not str or v.strip())]
        if not nonempty:
            continue
        width = len(row)
        texts = {
            k: ((v if (v := row[i]).__class__ is str else cell_text(v)) if i < width else "")
            for k, i in column_items
        }
        measure_of = measures.get(r)
        if measure_of is not None:
            # one of several 具体措施 rows under one merged 序号 and 重点任务: a sub-task N.k of its own
            texts["seq"], texts["title"], texts["text"] = measure_of[0], texts["text"], ""
        ref = parse_ref(texts["ref"]) if "ref" in texts else None
        seq_text = texts.get("seq", "").strip()
        title = texts.get("title", "")
        title_text = simplify(" ".join(title.split()) if "\n" in title or "  " in title else title.strip())
        detail = any(texts[k].strip() for k in detail_cols)
        numbering, full_path = numbered(seq_text)
        if numbering is None and ref is None and not detail and len(set(map(cell_text, nonempty))) == 1:
            only = cell_text(nonempty[0]).strip()
            if _NOTE_RE.match(only):
                continue  # a note under the table (注：…, 填表说明)
            only_numbering, only_path = numbered(only)
            if only_numbering is not None and not title_text:
                numbering, full_path, seq_text = only_numbering, only_path, only
            elif only_numbering is None and len(only) <= 30 and not only.endswith(("。", "；", ";")):
                # A heading without a number of its own (医疗保障改革): numbered in order, 一、二、…
                n = path_segment_number(stack[0]) + 1 if 0 in stack else 1
                numbering, seq_text, title_text = (0, _cn_number(n), only), only, ""
            elif not title_text:
                continue  # a stray merged cell
        # Numbering inside the task text: "1.推进分级诊疗" with no 序号 column, or an empty 序号 cell.
        if numbering is None and title_text and (not seq_text):
            inner = parse_numbering(title_text)
            if inner is not None and inner[2]:
                numbering, title_text = (inner[0], inner[1], ""), inner[2]
                if not detail and "title" in columns and len(nonempty) <= 2:
                    numbering = inner  # a section row written in the task column: 一、健全医疗服务体系
                    title_text = ""
        if (
            ref is None
            and not detail
            and numbering is not None
            and (numbering[2] or len(nonempty) <= 2)
            and (not title_text or len(nonempty) <= 2)
        ):
            level, segment, rest = numbering
            heading = (
                rest
                or title_text
                or next((cell_text(v).strip() for v in nonempty if cell_text(v).strip() != seq_text), "")
            )
            if heading:
                stack = {k: v for k, v in stack.items() if k < level}
                headings = {k: v for k, v in headings.items() if k < level}
                stack[level], headings[level] = segment, heading
                continue
        if not seq_text and not title_text:
            continue
        errors_before = len(result.errors)

        def err(key, message, _row=excel_row):
            result.errors.append(
                RowError(_row, label(key) if key in columns else FIELDS.get(key, (key, key))[1], message)
            )

        path = None
        if full_path is not None and _DOTTED_PATH.match(seq_text.strip()):
            # 1.1 under a section 一、 or (一): the section's numbers first, so sections that restart at 1.1 differ
            path = [stack[k] for k in sorted(stack) if k < 2] + list(full_path)
        elif full_path is not None:
            path = list(full_path)
        elif numbering is not None:
            level, segment, _rest = numbering
            path = [stack[k] for k in sorted(stack) if k < level] + [segment]
            stack = {k: v for k, v in stack.items() if k < level}
            headings = {k: v for k, v in headings.items() if k < level}
            stack[level] = segment
        elif seq_text and re.fullmatch(r"\d+(?:\.0)?", seq_text):
            path = [stack[k] for k in sorted(stack)] + [seq_text.split(".")[0]]
        elif seq_text:
            err("seq", f"序号“{seq_text}”无法识别，应为 一、 (一) 1. (1) 这样的编号。")
        else:
            # No number anywhere: numbered in order under the current section.
            prefix = tuple(stack[k] for k in sorted(stack))
            auto_counter[prefix] += 1
            path = [*prefix, str(auto_counter[prefix])]
        if not title_text:
            err("title", f"{header.headers.get('title') or '重点任务'}（任务名称）不能为空。")
        elif len(title_text) > 500:
            err(
                "title",
                f"{header.headers.get('title') or '重点任务'}不能超过 500 个字（现有 {len(title_text)} 个）。",
            )

        status = None
        status_text = texts.get("status", "").strip()
        if status_text:
            status = STATUS_WORDS.get(status_text)
            if status is None:
                err("status", f"完成状态“{status_text}”无效，可选：{'、'.join(p.label for p in Progress)}。")

        warnings: list[str] = []

        def units_of(key, text, warnings=warnings):
            cached = units_cache.get((key, text))
            if cached is None:
                found, counties, messages, notes = [], [], [], []
                column_name = header.headers.get(key) or FIELDS[key][1]
                for kind, name in split_unit_cell(text, known=ctx.knows):
                    if kind == "counties":
                        counties = list(ctx.all_counties)
                        if not counties:
                            notes.append(f"“{name}”：系统中还没有县(市、区)单位，未计入")
                        continue
                    unit = ctx.unit(name)
                    if isinstance(unit, NewUnit) and ctx.add_units and name not in result.unknown_units:
                        _suggest(result, name, ctx.table)
                    if unit is False and _KEPT_RE.search(name):
                        kept[name] = None
                        notes.append(f"{column_name}中的“{name}”不是一个单位，未计入单位")
                        continue
                    if unit is False:
                        if name not in result.unknown_units:
                            _suggest(result, name, ctx.table)
                        hints = result.unknown_units[name]
                        hint = f"，您是否要找：{'、'.join(hints)}" if hints else ""
                        messages.append(f"{column_name}中的“{name}”不是已知单位{hint}。")
                    elif unit is None:
                        continue
                    elif unit.kind == UnitKind.COUNTY and key == "responsible":
                        if all(u is not unit for u in counties):
                            counties.append(unit)
                    elif all(u is not unit for u in found):
                        found.append(unit)
                cached = units_cache[(key, text)] = (found, counties, messages, notes)
            found, counties, messages, notes = cached
            for message in messages:
                err(key, message)
            warnings.extend(notes)
            return found, counties  # shared by the rows naming the same units: never changed in place

        same_column = columns.get("lead") is not None and columns.get("lead") == columns.get("responsible")
        lead_text, responsible_text = texts.get("lead", ""), texts.get("responsible", "")
        said_in_lead = attributed_units(lead_text) if "lead" in columns else None
        said_in_resp = attributed_units(responsible_text) if not same_column else None
        if same_column and (said := attributed_units(responsible_text)):
            # One 责任单位 column written as a sentence: 市卫健委牵头，市医保局、市财政局配合
            lead, _ = units_of("responsible", "、".join(said[0]))
            responsible, counties = units_of("responsible", "、".join(said[1] + said[2]))
        elif same_column:
            # One 责任单位 column: the first unit named leads, the others take part.
            everyone, counties = units_of("responsible", responsible_text)
            lead, responsible = everyone[:1], everyone[1:]
            if not everyone and counties:
                lead, responsible = [], []
        else:
            if said_in_lead:  # 市卫健委牵头 / 市卫健委牵头，市财政局配合 in the 牵头单位 column
                lead_text = "、".join(said_in_lead[0] + said_in_lead[2])
                if said_in_lead[1]:
                    responsible_text = "、".join([responsible_text, *said_in_lead[1]]).strip("、")
            if said_in_resp:  # 市财政局、市医保局配合: every unit there takes part, whatever the verb
                responsible_text = "、".join(sum(said_in_resp, ()))
            lead, lead_counties = units_of("lead", lead_text)
            responsible, counties = units_of("responsible", responsible_text)
            counties = counties or lead_counties if not counties else counties

        deadline_raw = (
            row[columns["deadline"]] if "deadline" in columns and columns["deadline"] < width else None
        )
        doc_text = texts.get("source", "").strip()
        if choice.from_column:
            year = years.get(doc_text, 0)
            if year == 0:
                year = years[doc_text] = year_of_plan(doc_text)
        else:
            year = plan_year
        # Deadline cells repeat over a ledger: each distinct text is read once, with its milestone rows.
        cache_key = (deadline_raw, year) if deadline_raw.__class__ is str else None
        cached = deadline_cache.get(cache_key) if cache_key else None
        if cached is None:
            # Recurring phrases (每季度末) take their next dates: from today, or from a future plan's first day.
            anchor = dt.date(year, 1, 1) if year and year > today.year else today
            parsed_cell = parse_deadlines(deadline_raw, year=year, today=anchor)
            cached = (
                parsed_cell,
                _milestones(parsed_cell, deadline_raw),
                any(d.warning for d in parsed_cell),
            )
            if cache_key:
                deadline_cache[cache_key] = cached
        deadlines, milestone_rows, has_warning = cached
        for d in deadlines if has_warning else ():
            if d.invalid:
                err(
                    "deadline",
                    f"{header.headers.get('deadline') or '完成时限'}“{d.text}”不是可识别的日期（{DATE_HINT}）。",
                )
            elif d.warning:
                warnings.append(f"完成时限“{d.text}”：{d.warning}")

        if choice.from_column and not doc_text and doc_number:
            doc_text = doc_number.strip()  # the plan named with --document, for rows whose plan cell is empty
        if choice.from_column and not doc_text:
            err("source", "缺少任务来源（文件/文号）。")
        if choice.from_column:
            doc_key, doc = ctx.resolve_document(doc_text) if doc_text else ("", None)
        elif choice.document is not None:
            doc_key, doc = chosen_key, choice.document
        else:
            doc_key, doc = "new:", None

        if path is not None and doc_key:
            shown = path_display(path)
            in_plan = seen_paths.setdefault(doc_key, {})
            if shown in in_plan:
                err("seq", f"编号 {shown} 与第 {in_plan[shown]} 行重复。")
            else:
                in_plan[shown] = excel_row

        if len(result.errors) > errors_before:
            continue
        # A row exported by the app and not touched in the file: decided now, so the cells need not be kept
        # (a path changes later only for a row without a ref, taken as a new task).
        untouched = ref is not None and row_fingerprint(path_display(path), texts) == ref[2]
        note = (
            normalize_cell(texts.get("note", ""))
            if "note" in columns and columns["note"] != columns.get("title")
            else ""
        )
        text = simplify(normalize_cell(texts.get("text", ""))) if "text" in columns else ""
        section_key = (tuple(headings[k] for k in sorted(headings)), measure_of[1] if measure_of else None)
        section = sections.get(section_key)
        if section is None:  # one list per distinct section, shared by its rows
            section = sections[section_key] = list(section_key[0]) + ([section_key[1]] if measure_of else [])
        state = TaskState(
            id=None, version=1, document_id=doc.pk if doc else None, document_label=doc_text or choice.title,
            path=path, title=title_text, text=text, note=note,
            status=status or Progress.NOT_STARTED, lead=lead, responsible=responsible, counties=counties,
            milestones=milestone_rows, section=section,
        )  # fmt: skip
        plans.append(
            RowPlan(
                excel_row,
                doc_key,
                path,
                state.section,
                state,
                deadlines=deadlines,
                warnings=warnings or (),
                ref=ref,
                untouched=untouched,
                status_given=status is not None,
            )  # fmt: skip
        )
        if choice.from_column and not doc and doc_text not in result.new_documents:
            result.new_documents.append(doc_text)
    if not choice.from_column and choice.created:
        result.new_documents = [choice.doc_number or choice.title]
    result.kept_names = list(kept)
    result.new_units = [u.name for u in ctx.new_units.values()]
    result.rows = len(plans)
    result.plans = plans

    # Match rows to existing tasks: by stable id first, then by document + path.
    ids = [p.ref[0] for p in plans if p.ref]
    doc_ids = list({p.state.document_id for p in plans if p.state.document_id})
    existing = load_states(ids, documents=doc_ids, lock=lock)
    by_path = {(s.document_id, s.path_key): s for s in existing.values()}
    claimed: dict[int, int] = {}
    taken_paths = None  # every number in use, worked out only when a row is imported as a new task
    for plan in plans:
        excel_row, untouched, ref, status_given = plan.row, plan.untouched, plan.ref, plan.status_given
        current = None
        if ref and ref[0] in existing:
            current = existing[ref[0]]
        elif plan.state.document_id:
            current = by_path.get((plan.state.document_id, path_display(plan.path)))
        if current is not None and ref is None and _titles_differ(current.title, plan.state.title):
            if excel_row in as_new:
                if taken_paths is None:
                    taken_paths = {(s.document_id, s.path_key) for s in existing.values()} | {
                        (p.state.document_id, path_display(p.path)) for p in plans
                    }
                plan.path = plan.state.path = _free_path(plan.path, plan.state.document_id, taken_paths)
                plan.as_new = True
                plan.warnings = [
                    *plan.warnings,
                    f"编号与已有任务“{current.title}”相同，按要求作为新任务导入，编号为 {path_display(plan.path)}",
                ]
                current = None
            else:
                plan.flagged = (
                    f"将覆盖已有任务 {current.path_key}“{current.title}”，但表中标题“{plan.state.title}”与之差别很大："
                    "可能导入到了错误的文件。请确认所属文件，或将此行作为新任务导入。"
                )
                plan.action = "update"
                plan.changes = {"title": [current.title, plan.state.title]}
                result.errors.append(RowError(excel_row, label("title"), plan.flagged))
                continue
        if current is None:
            plan.action = "create"
            # only a new task takes targets from its row (RowPlan.targets, read when written)
            result.created += 1
            continue
        if current.id in claimed:
            result.errors.append(
                RowError(excel_row, label("seq") if "seq" in columns else label("title"),
                         f"与第 {claimed[current.id]} 行是同一个任务（{current.path_key}），不能重复导入。")
            )  # fmt: skip
            continue
        claimed[current.id] = excel_row
        plan.existing = current
        if untouched:
            plan.action = "unchanged"
            result.unchanged += 1  # nobody touched this row in the file
            continue
        changed = _changed_fields(plan, current, status_given, county_count)
        if not changed:
            plan.action = "unchanged"
            result.unchanged += 1
            continue
        if ref and ref[1] < current.version:
            result.conflicts.append(
                Conflict(excel_row, current.id, current.path_key, current.title, ref[1], current.version)
            )
            plan.existing = None
            plan.changed = {"__conflict__"}
            plan.action = "unchanged"
            continue
        if "path" in changed:
            other = by_path.get((current.document_id, path_display(plan.path)))
            if other is not None and other.id != current.id:
                result.errors.append(
                    RowError(
                        excel_row,
                        label("seq"),
                        f"编号 {path_display(plan.path)} 已被任务“{other.title}”使用。",
                    )
                )
                continue
        plan.changed = changed
        plan.action = "update"
        keys = {SNAPSHOT_KEY[a] for a in changed}
        plan.after = _merged_state(current, plan.state, changed)
        # The history record and the preview's "changes": one diff, worked out once.
        plan.audit = diff_snapshots(snapshot(current, keys), snapshot(plan.after, keys))
        plan.changes = {CHANGE_NAMES.get(k, k): v for k, v in plan.audit.items()}
        result.updated += 1
        result.changes.append(
            {"row": excel_row, "path": current.path_key, "title": current.title, "fields": sorted(changed)}
        )
    return result, ([] if result.errors else plans), ctx


def _free_path(path: list[str], document_id, taken: set) -> list[str]:
    """The next free number under the same parent, written like the last segment."""
    n = path_segment_number(path[-1]) + 1
    while True:
        candidate = [*path[:-1], _segment_like(path[-1], n)]
        if (document_id, path_display(candidate)) not in taken:
            taken.add((document_id, path_display(candidate)))
            return candidate
        n += 1


def _merged_state(cur: TaskState, new: TaskState, changed: set) -> TaskState:
    """The task after the import: the row's values for the changed attributes, the task's own for the rest."""
    return TaskState(
        id=cur.id, version=cur.version + 1, document_id=cur.document_id, document_label=cur.document_label,
        path=new.path if "path" in changed else cur.path,
        title=new.title if "title" in changed else cur.title,
        text=new.text if "text" in changed else cur.text,
        note=new.note if "note" in changed else cur.note,
        status=new.status if "status" in changed else cur.status,
        lead=new.lead if "lead" in changed else cur.lead,
        responsible=new.responsible if "responsible" in changed else cur.responsible,
        counties=new.counties if "counties" in changed else cur.counties,
        milestones=new.milestones if "milestones" in changed else cur.milestones,
        targets=cur.targets, section=cur.section,
    )  # fmt: skip


def _changed_fields(plan: RowPlan, current: TaskState, status_given: bool, county_count: int) -> set:
    new = plan.state
    changed = set()
    for attr in ("title", "text", "note"):
        a, b = getattr(new, attr), getattr(current, attr)
        if a != b and normalize_cell(a) != normalize_cell(b):
            changed.add(attr)
    if status_given and new.status != current.status:
        changed.add("status")
    # The current task's units all have ids; a unit the import will create (NewUnit) has none, so differs.
    if [u.id for u in new.lead] != [u.id for u in current.lead]:
        changed.add("lead")
    if [u.id for u in new.responsible] != [u.id for u in current.responsible]:
        changed.add("responsible")
    if {u.id for u in new.counties} != {u.id for u in current.counties} or None in {
        u.id for u in new.counties
    }:
        changed.add("counties")
    old_text = "；".join((t or (f"{d:%Y-%m-%d}" if d else "")) for d, t, *_ in current.milestones)
    new_text = "；".join((t or (f"{d:%Y-%m-%d}" if d else "")) for d, t, *_ in new.milestones)
    if new_text != old_text and [(d, t) for d, t, *_ in new.milestones] != [
        (d, t) for d, t, *_ in current.milestones
    ]:
        changed.add("milestones")
    if new.path != current.path:
        changed.add("path")
    return changed


def _prepare(result: ImportResult, plans: list[RowPlan], ctx: _Ctx, *, actor) -> None:
    """Before the rows: the new plan, the new units and the aliases the user confirmed in the preview."""
    from departments.services import unit_add_alias, unit_create

    for new_unit in ctx.new_units.values():
        unit = unit_create(name=new_unit.name, kind=new_unit.kind, actor=actor)
        new_unit.id = unit.pk
    for name, unit in ctx.resolved.items():
        key = normalize_unit_name(name)
        if isinstance(unit, Unit) and ctx.choices.get(key, ("",))[0] == "unit":
            unit_add_alias(unit=unit, alias=name, actor=actor)  # a confirmed mapping is remembered
    choice = result.document
    docs: dict[str, Document] = {}
    for plan in plans:
        if (
            plan.state.document_id is not None
            or plan.existing is not None
            or plan.changed == {"__conflict__"}
        ):
            continue
        if choice is not None and not choice.from_column:
            if choice.document is None:
                choice.document, _ = document_upsert(
                    doc_number=choice.doc_number, title=choice.title, actor=actor
                )
            plan.state.document_id = choice.document.pk
            continue
        key = plan.state.document_label
        if key not in docs:
            number = _doc_number_in(key)
            title = key.replace(number, "").strip(" 《》()（）") if number else key
            docs[key], _ = document_upsert(doc_number=number, title=title or key, actor=actor)
        plan.state.document_id = docs[key].pk


def _apply(plans: list[RowPlan], *, actor, request) -> None:
    creates = [p.state for p in plans if p.existing is None and p.changed != {"__conflict__"}]
    for plan in plans:
        if plan.existing is None and plan.changed != {"__conflict__"}:
            plan.state.targets = plan.targets()
    updates = [
        (p.existing, p.after, p.changed, p.audit or {}) for p in plans if p.existing is not None and p.changed
    ]
    tasks_bulk_save(creates=creates, updates=updates, actor=actor, request=request, message="Excel 导入")


def ledger_import(
    *,
    data: bytes,
    document: Document | None = None,
    doc_number: str | None = None,
    doc_title: str | None = None,
    mapping: dict[str, int | None] | None = None,
    sheet: str | None = None,
    header_row: int | str | None = None,
    unit_choices: dict | None = None,
    add_units: bool = False,
    as_new: set[int] | frozenset = frozenset(),
    column_first: bool = False,
    dry_run: bool = True,
    filename: str | None = None,
    actor=None,
    request=None,
) -> ImportResult:
    """Preview (dry_run) or write a ledger workbook. Writes happen in one transaction and only when no row has an
    error; rows edited in the file but changed in the app since the export are reported as conflicts and left alone.

    ``document``: the plan the rows go into; else ``doc_number`` (a 文号 not in the ledger creates that plan, with
    ``doc_title``); else a plan column; else a new plan from the sheet's title rows. ``unit_choices`` maps a name
    the ledger does not know to ("unit", id), ("new", kind) or ("ignore", None); ``add_units`` creates every unknown
    name as a unit. ``as_new``: Excel rows to import as new tasks instead of updating a task with another title.
    ``column_first`` (the command line): a plan column wins over ``doc_number``, which then only fills empty cells.
    ``sheet`` and ``header_row`` (Excel's number of a row of the header) replace the search for the table.
    ``filename`` words the messages about the file (a WPS .et); the content decides how it is read."""
    options = dict(
        document=document, doc_number=doc_number, doc_title=doc_title, mapping=mapping, sheet_name=sheet,
        header_row=header_row,
        unit_choices=unit_choices, add_units=add_units, as_new=frozenset(as_new or ()), column_first=column_first,
    )  # fmt: skip
    with gc_paused():
        sheets, converted = read_workbook(data, filename=filename)
        if dry_run:
            result, _plans, _ctx = plan_import(sheets, **options)
            result.converted = converted
            return result
        try:
            with transaction.atomic():
                result, plans, ctx = plan_import(sheets, **options, lock=True)
                if result.errors:
                    return result
                _prepare(result, plans, ctx, actor=actor)
                _apply(plans, actor=actor, request=request)
                result.written = True
        except IntegrityError:
            raise ApplicationError(
                "导入失败：编号与其他任务冲突（可能同时有人在修改台账），未写入任何数据，请重新预览。"
            ) from None
        return result
