"""Where a ledger's table is in a workbook: the header words offices use for each field, one to three header rows
with merged group headings, the header row a user picks instead, and the rows under it with merged cells filled
as offices mean them. Used by the import (tasks/ledger_import.py) and its preview."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .excel import (
    SheetData,
    SpreadsheetError,
    cell_text,
    column_letter,
)
from .extraction.text import to_simplified
from .resources import (
    LEDGER_COLUMNS,
)

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
NOTE_RE = re.compile(r"^(?:注|说明|备注|填表|附注|制表|来源|资料来源|※|\*)")
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


def has_any_cell(sheet: SheetData) -> bool:
    return any(any(v is not None and v != "" for v in row) for row in sheet.rows)


def row_choices(sheet: SheetData, header: Header) -> list[tuple[int, str]]:
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


def measure_rows(rows: list[list], start: int, columns: dict[str, int]) -> dict[int, tuple[str, str]]:
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
