"""extract_plan: from the text of a plan to its ledger (tasks, units, deadlines, targets)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from .attribution import Attribution, find_attribution, find_prose_attribution, parse_attribution
from .dates import DateContext, Deadline, cn_to_int, find_deadlines, month_end, parse_deadline_cell
from .errors import ExtractionError
from .targets import find_targets
from .text import LABEL_START_RE, clean_lines, match_marker, paragraphs, squeeze_spaces
from .units import UnitResolver

_DOC_NUMBER_RE = re.compile(
    r"(?P<org>[A-Za-z\u4e00-\u9fff]{1,12})\s*[〔\[(【]\s*(?P<year>(?:19|20)\d{2})\s*[〕\])】]\s*(?P<n>\d{1,4})\s*号"
)
_TITLE_END_RE = re.compile(
    r"(?:通知|意见|方案|决定|函|办法|规定|批复|报告|计划|要点|通报|规划|细则|任务|清单|分工|措施|解读)(?:\(试行\))?$"
)
_PLAN_TITLE_RE = re.compile(
    r"(?:方案|任务|计划|意见|要点|规划|办法|措施|清单|分工|解读|安排)(?:\(试行\)|\(\d{4}[-—]\d{4}年\))?$"
)
_ISSUER_RE = re.compile(r"(?:办公室|办公厅|人民政府|委员会|领导小组|医改办|秘书处|局|委|厅|党委|政府)$")
_DATE_LINE_RE = re.compile(r"^(?P<y>(?:19|20)\d{2})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日$")
_CN_DATE_LINE_RE = re.compile(
    r"^(?P<y>[〇○零一二三四五六七八九]{4})年(?P<m>[一二三四五六七八九十]{1,2})月(?P<d>[一二三四五六七八九十]{1,3})日$"
)
_ATTACHMENT_RE = re.compile(r"^附\s*件\s*(?P<n>\d{0,2})\s*(?::|$|\s)")
_REPORTING_RE = re.compile(
    r"(?:(?P<y>(?:19|20)\d{2})年)?(?P<m>\d{1,2})月(?P<d>\d{1,2})日(?:前|之前|以前)(?=[^。;]{0,12}(?:报送|上报|报告|提交|报))"
)
# Sections that describe the plan rather than ask for work: never tasks in documents without attributions.
_NON_TASK_RE = re.compile(
    r"总体要求|指导思想|总体思路|基本思路|工作思路|基本原则|工作原则|主要目标|工作目标|总体目标|发展目标|实施步骤|工作步骤|进度安排|时间安排|"
    r"实施阶段|部署阶段|适用范围|背景|依据|必要性|起草|制定过程|编制过程|意义|名词解释|解读机关|解读人|联系方式"
    r"|^[^,。]{0,6}目标$"  # 行动目标, 近期目标: what the plan aims at, not work
)

_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
_TABLE_ROLES = (
    ("leader", re.compile(r"领导|责任人|联系人")),  # 牵头市领导, 分管领导: people, not units
    ("lead", re.compile(r"牵头|主办|主责")),
    ("resp", re.compile(r"责任(?:单位|部门|处室|科室|主体)|配合|参与|协办|协同|实施主体|承办")),
    ("deadline", re.compile(r"时限|期限|时间|节点|进度")),
    ("seq", re.compile(r"^(?:序号|编号|序|No\.?)$")),
    ("target", re.compile(r"目标|指标|预期")),
    ("task", re.compile(r"任务|内容|措施|事项|工作|名称|举措")),
    ("note", re.compile(r"备注|说明")),
)


AUTO = "auto"  # a bare paragraph numbered by the engine (Word numbering lost in the text)


def _is_heading_para(para: str) -> bool:
    marker = match_marker(para)
    if not marker:
        return False
    rest = para[marker[2] :]
    return 0 < len(rest) <= 40 and not any(ch in rest for ch in "。;!?()")


@dataclass
class Item:
    kind: str
    label: str
    path: list[str]
    parent: Item | None
    paras: list[str] = field(default_factory=list)
    attribution: Attribution | None = None
    row: dict | None = None  # cells of a table row, by role
    children: list[Item] = field(default_factory=list)
    closed: bool = False

    @property
    def text(self) -> str:
        out = ""
        for para in self.paras:
            if out and out[-1] not in "。!?;:)”":
                out += para
            else:
                out = f"{out}\n{para}" if out else para
        return out

    @property
    def heading(self) -> str:
        first = self.paras[0] if self.paras else ""
        marker = match_marker(first)
        rest = first[marker[2] :] if marker else first
        return rest


def _title_of(item: Item) -> str:
    rest = item.heading
    cut = len(rest)
    for stop in ("。", ";", "!", "?", ":"):
        i = rest.find(stop)
        if (4 if stop == ":" else 0) < i < cut:
            cut = i
    if item.attribution and item.paras and len(item.paras) == 1:
        marker = match_marker(item.paras[0])
        att_at = item.attribution.start - (marker[2] if marker else 0)
        if 0 < att_at < cut:
            cut = att_at
    title = rest[:cut].strip(" :,")
    if len(title) > 60 and "," in title:
        title = title[: title.index(",")]
    return title


# ---------------------------------------------------------------- header


def _parse_header(lines: list[str]) -> dict:
    nonblank = [(i, line) for i, line in enumerate(lines) if line]
    first_marker = next(
        (i for i, line in nonblank if match_marker(line) and match_marker(line)[0] in ("l1", "ch")),
        len(lines),
    )
    header = [(i, line) for i, line in nonblank if i < first_marker][:120]

    doc_number = _own_doc_number(header)

    title = issuer = None
    title_at = -1
    for pos, (_i, line) in enumerate(header):
        at = line.find("关于")
        if at == -1 or "关于本站" in line or (at > 0 and not _ISSUER_RE.search(line[:at].strip())):
            continue
        parts = [line]
        j = pos
        while not _title_complete("".join(parts)) and j + 1 < len(header) and len(parts) < 5:
            j += 1
            if _DOC_NUMBER_RE.search(header[j][1]):
                break
            parts.append(header[j][1])
        joined = "".join(parts)
        if not _title_complete(joined):
            continue
        joined = joined[:at] + squeeze_spaces(
            joined[at:]
        )  # 关于印发 2023年… : a space left by the page layout
        title, title_at = joined, header[j][0]
        if at > 0:
            issuer = line[:at].strip()
        elif (
            pos > 0
            and _ISSUER_RE.search(header[pos - 1][1])
            and len(header[pos - 1][1]) <= 60
            and not re.search(r"[。,;:]", header[pos - 1][1])
        ):
            issuer = header[pos - 1][1]
            title = issuer + title
        break

    plan_title = _plan_title(header, after=title_at)
    if plan_title is None:
        plan_title = _forwarded_title(header)
    if title is None:
        title = plan_title

    issued_on = None
    for i, line in enumerate(lines):
        if i <= title_at:
            continue
        issued_on = _date_line(line)
        if issued_on:
            signed = _issuer_before(lines, i)
            if issuer is None or (signed and re.match(r"^[市县区省]", issuer) and len(signed) > len(issuer)):
                issuer = signed or issuer  # 市政府办公室 in the title, 泰州市人民政府办公室 under the text
            break
    if issuer:
        issuer = "、".join(issuer.split())
    if re.search(r"解读$", title or "") or re.search(r"解读$", plan_title or ""):
        # an interpretation has no 文号 of its own: the number it shows is the interpreted plan's
        doc_number = None
    return {
        "doc_number": doc_number,
        "title": title or "",
        "plan_title": plan_title,
        "issuer": issuer,
        "issued_on": issued_on,
    }


# Where a document's own number stands: alone on its line (perhaps in brackets), after a 文号 label, or opening
# the line. A number inside prose -- 根据《…》(国办发〔2015〕38号) -- is a cited document's, never its own.
_NUMBER_LABEL_RE = re.compile(r"(?:发文字号|文\s*号|字号|发文号)\s*[:|]?\s*$")
_CITING_RE = re.compile(r"按照|根据|依据|贯彻|落实|执行|参照|印发|转发|关于|要求|精神|和|及")
_LINE_JUNK_RE = re.compile(r"^(?:[\s(\[【〔]|<正>)*$")


def _own_doc_number(header: list[tuple[int, str]]) -> str | None:
    for _, line in header:
        for m in _DOC_NUMBER_RE.finditer(line):
            org = re.sub(r"^.*?(?:文号|字号|发文)[:]?", "", m.group("org"))
            before = line[: m.start()]
            if _CITING_RE.search(org):
                continue  # 按照国办发〔2020〕25号: a number cited in a sentence
            number = f"{org}〔{m.group('year')}〕{m.group('n')}号"
            if m.group("org") != org or _NUMBER_LABEL_RE.search(before) or _LINE_JUNK_RE.match(before):
                return number
            # 关于印发…的通知(平政办〔2020〕7号): a title followed by its own number, at the end of the line
            title = before.rstrip(" ([【〔")
            if (
                title != before
                and not line[m.end() :].strip(" )]】〕")
                and _TITLE_END_RE.search(title)
                and not title.endswith("》")
                and not _CITING_RE.match(title)
            ):
                return number
    return None


def _title_complete(text: str) -> bool:
    return text.count("《") <= text.count("》") and bool(_TITLE_END_RE.search(text))


# (此件公开发布), a date that lost its 年月日 (201675): lines that never start a title.
_NOT_TITLE_LINE_RE = re.compile(r"^(?:\([^()]*\)|[\d\s.\-/]+)$")


def _plan_title(header: list[tuple[int, str]], after: int) -> str | None:
    for pos, (i, line) in enumerate(header):
        if (
            i <= after
            or line.startswith("关于")
            or re.search(r"[。;:]", line)
            or len(line) > 60
            or _date_line(line)
            or _ATTACHMENT_RE.match(line)
            or _NOT_TITLE_LINE_RE.match(line)
        ):
            continue
        candidates = [line]
        if (
            pos + 1 < len(header)
            and len(line) < 40
            and not re.search(r"[。;:,]", header[pos + 1][1])
            and not _date_line(header[pos + 1][1])
        ):
            candidates.append(line + header[pos + 1][1])
        for cand in candidates:
            if (
                _PLAN_TITLE_RE.search(cand)
                and len(cand) >= 6
                and (not cand.startswith("《") or cand.endswith("解读"))
            ):
                return squeeze_spaces(cand)
    return None


# 现将《X》印发给你们 / 《X》已经市政府同意，现印发给你们: the plan a notice forwards.
_FORWARD_RE = re.compile(
    r"(?:现将|将)《(?P<a>[^《》]{4,80})》[^。]{0,30}?(?:印发|下发|转发)|《(?P<b>[^《》]{4,80})》已经[^。]{0,60}?(?:印发|下发)"
)


def _forwarded_title(header: list[tuple[int, str]]) -> str | None:
    for _, line in header:
        m = _FORWARD_RE.search(line)
        if m:
            return squeeze_spaces(m.group("a") or m.group("b"))
    return None


def read_header(text: str) -> dict:
    """The document facts alone (文号, title, issuer, date): for a check before the whole plan is read."""
    header = _parse_header(clean_lines(str(text or "")))
    issued = header["issued_on"]
    return {**header, "issued_on": issued.isoformat() if issued else None}


def _date_line(line: str) -> dt.date | None:
    m = _DATE_LINE_RE.match(line)
    try:
        if m:
            return dt.date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
        m = _CN_DATE_LINE_RE.match(line)
        if m:
            return dt.date(cn_to_int(m.group("y")), cn_to_int(m.group("m")), cn_to_int(m.group("d")))
    except (TypeError, ValueError):
        return None
    return None


def _issuer_before(lines: list[str], at: int) -> str | None:
    found: list[str] = []
    for line in reversed(lines[max(0, at - 6) : at]):
        if not line:
            continue
        if _ISSUER_RE.search(line) and len(line) <= 40 and not re.search(r"[。,;:]", line):
            found.insert(0, line)
        else:
            break
    return " ".join(found) or None


# ---------------------------------------------------------------- tables


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|"):
        line = line[:-1]
    return [squeeze_spaces(c.strip()) for c in line.split("|")]


def _table_roles(cells: list[str]) -> list[str] | None:
    roles = [_cell_role(cell) for cell in cells]
    if ("task" in roles) and ("lead" in roles or "resp" in roles):
        return roles
    return None


def _cell_role(cell: str) -> str:
    for name, regex in _TABLE_ROLES:
        if cell and regex.search(cell) and len(cell) <= 16:
            return name
    return ""


def _seq_kind(seq: str) -> tuple[str, str] | None:
    seq = seq.strip().rstrip("、.")
    if not seq:
        return None
    if seq.isdigit():
        return "l3", seq
    marker = match_marker(seq if seq[-1] in ")" else seq + "、")
    if marker:
        return marker[0], marker[1]
    return None


# ------------------------------------------------ tables whose cells stand one per line
# Text copied from a Word/PDF table or a web page puts every cell on its own line:
#   序号 / 工作任务 / 牵头单位 / 责任单位 / 完成时限 / 1 / 推进… / 市卫生健康委 / 市医保局、市财政局 / 2021年底前 / 2 / …
# Empty cells leave no line, so cells are told apart by what they say (a number, names of units, a deadline,
# prose), in the order of the header; the result is the `|` rows the table reader already knows.

_BARE_SEQ_RE = re.compile(
    r"^(?:\d{1,3}|[一二三四五六七八九十]{1,3}|\(\s*[一二三四五六七八九十\d]{1,3}\s*\))[、.]?$"
)
_CELL_DEADLINE_RE = re.compile(
    r"^(?:(?:19|20)\d{2}|\d{1,2}月|年底|年内|年末|上半年|下半年|长期|持续|每(?:年|季度|月)|[一二三四]季度|\d{4}\.\d|即时|立即|逐步)"
)
# 张某某, 王强（副市长）: a person named in a 牵头市领导 column
_PERSON_RE = re.compile(
    r"^[\u4e00-\u9fff]{2,4}(?:\([^()]{1,12}\))?(?:[、,][\u4e00-\u9fff]{2,4}(?:\([^()]{1,12}\))?)*$"
)
_TABLE_END_RE = re.compile(r"^(?:抄送|印发|附件\s*\d{0,2}\s*$|\(此件)")


def _header_run(lines: list[str], at: int) -> tuple[list[str], list[str], int] | None:
    """A header written one cell per line starting at ``at``: (roles, cells, index after it), or None.

    A narrow column's name wraps in a PDF (序 / 号, 牵头 / 单位): a fragment is joined with the next line when
    only the two together name a column."""
    cells: list[str] = []
    j = at
    while j < len(lines) and len(cells) < 12:
        line = lines[j]
        if not line:
            j += 1
            continue
        nxt = lines[j + 1] if j + 1 < len(lines) else ""
        if not _header_cell(line) and nxt and len(line) + len(nxt) <= 8 and _header_cell(line + nxt):
            line, j = line + nxt, j + 1
        elif (
            _header_cell(line)
            and nxt
            and len(line) <= 3
            and not _header_cell(nxt)
            and _header_cell(line + nxt)
            and len(line + nxt) <= 8
        ):
            line, j = line + nxt, j + 1  # 序 / 号: 序 alone is a column name too, 序号 is the one meant
        if not _header_cell(line):
            break
        cells.append(line)
        j += 1
    if len(cells) < 3:
        return None
    roles = _table_roles(cells)
    if roles is None or "" in roles:
        return None
    return roles, cells, j


def _header_cell(line: str) -> bool:
    # 重点任务分工表 is the table's title; 牵头单位:市卫健委 a label with its value; (三)重点工作 a heading
    return not (
        len(line) > 16
        or "|" in line
        or not _cell_role(line)
        or re.search(r"(?:表|清单)$", line)
        or re.search(r"[:;,。]", line)
        or match_marker(line)
    )


def _cell_kind(line: str, resolver: UnitResolver | None) -> str:
    from .attribution import COUNTY_RE, _all_units, _split_names, split_top

    if _BARE_SEQ_RE.match(line):
        return "seq"
    marker = match_marker(line)
    if (
        marker
        and marker[0] in ("l1", "l2", "ch")
        and len(line) - marker[2] <= 30
        and not re.search(r"[。;]", line)
    ):
        return "section"
    if len(line) <= 24 and _CELL_DEADLINE_RE.match(line) and not re.search(r"[。]", line[:-1]):
        return "deadline"
    if len(line) <= 200 and not re.search(r"[。:]", line):
        unmarked = re.sub(r"\((?:牵头|牵头单位|牵头部门|主责)\)", "", line)  # 市卫健委(牵头)、市医保局
        parts = [p for p in split_top(unmarked, "、,;/ ") if p.strip()]
        names = [n for p in parts for n in _split_names(COUNTY_RE.sub("", p), resolver)]
        counties = [p for p in parts if COUNTY_RE.search(p)]
        if (names or counties) and (
            not names or (_all_units(names[:1], resolver, strict=True) and _all_units(names, resolver))
        ):
            return "units"
    return "text"


def _next_in_sequence(seq: str, last: str) -> bool:
    """A bare number starts a row only where the 序号 column goes on (1 after a heading, n+1 after n): a page
    number or a figure alone on a line inside a cell does not."""
    if not seq.isdigit():
        return True  # 一 / (一): section numbers, checked by their own marker
    if not last.isdigit():
        return True
    return int(seq) == int(last) + 1 or int(seq) == 1


def _next_line(lines: list[str], i: int) -> str:
    return next((line for line in lines[i + 1 :] if line), "")


def _fold_line_tables(lines: list[str], resolver: UnitResolver | None) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        header = _header_run(lines, i) if line and "|" not in line else None
        if header is None and " " in line and "|" not in line:
            header = _space_header(line)
            if header is not None:
                i = _fold_space_rows(lines, i + 1, header, resolver, out)
                continue
        if header is None:
            out.append(line)
            i += 1
            continue
        roles, header_cells, i = header
        numbered = "seq" in roles
        if not numbered:
            # without a 序号 column every folded row is a whole row: number them, or the table reader would
            # take a row without a number for the continuation of the one above
            roles, header_cells = ["seq", *roles], ["序号", *header_cells]
        out.append(" | ".join(header_cells) + " |")
        i = _fold_rows(lines, i, roles, resolver, out, numbered=numbered)
    return out


def _space_header(line: str) -> tuple[list[str], list[str]] | None:
    """序号 重点任务 牵头单位 责任单位 完成时限 on one line, cells apart by spaces (a PDF text layer)."""
    cells = line.split()
    if len(cells) < 3 or not all(_header_cell(c) for c in cells):
        return None
    roles = _table_roles(cells)
    return (roles, cells) if roles and "" not in roles else None


def _fold_space_rows(lines: list[str], i: int, header, resolver, out: list[str]) -> int:
    """The rows under a space-separated header: every space-separated piece is a cell, read in order like the
    cells of a table copied one per line. Returns the index of the first line after the table."""
    roles, cells = header
    tokens: list[str] = []
    source: list[int] = []
    for j in range(i, len(lines)):
        for token in lines[j].split() or [""]:
            tokens.append(token)
            source.append(j)
    numbered = "seq" in roles
    if not numbered:
        roles, cells = ["seq", *roles], ["序号", *cells]
    out.append(" | ".join(cells) + " |")
    k = _fold_rows(tokens, 0, roles, resolver, out, numbered=numbered)
    if k >= len(tokens):
        return len(lines)
    stop = source[k]
    if k > 0 and source[k - 1] == stop:
        stop += 1  # the table ended inside a line: the rest of that line went with the table
    return stop


def _fold_rows(
    lines: list[str], i: int, roles: list[str], resolver, out: list[str], *, numbered: bool
) -> int:
    has = set(roles)
    two_task_columns = roles.count("task") >= 2
    last_seq = ""
    row: dict[str, str] = {}
    count = [0]

    def flush() -> None:
        if row.get("task") or row.get("seq"):
            if not row.get("seq"):
                count[0] += 1
                row["seq"] = str(count[0])
            first = {r: roles.index(r) for r in set(roles) if r}
            out.append(
                " | ".join(row.get(r, "") if r and first[r] == k else "" for k, r in enumerate(roles)) + " |"
            )
        row.clear()

    while i < len(lines):
        line = lines[i]
        if not line:
            i += 1
            continue
        if _TABLE_END_RE.match(line) or "|" in line or _header_run(lines, i):
            break
        j = i
        while line.count("(") > line.count(")") and j + 1 < len(lines) and j - i < 3 and lines[j + 1]:
            j += 1  # 各县(市、 / 区)政府: a cell wrapped inside its brackets is one cell
            line += lines[j]
        i = j
        kind = _cell_kind(line, resolver)
        if (
            "leader" in has
            and kind == "text"
            and _PERSON_RE.match(line)
            and row.get("task")
            and not row.get("leader")
            and not any(row.get(k) for k in ("lead", "resp", "deadline"))
        ):
            row["leader"] = line
        elif kind == "seq" and numbered and _next_in_sequence(line.rstrip("、."), last_seq):
            flush()
            row["seq"] = last_seq = line.rstrip("、.")
        elif kind == "section" and not (row.get("seq") and not row.get("task")):
            following = _next_line(lines, i)
            if numbered and following and _cell_kind(following, resolver) == "text" and len(following) > 30:
                break  # 三、保障措施 followed by running text, not by a numbered row: the table is over
            flush()
            marker = match_marker(line)
            row["seq"], row["task"] = marker[1], line[marker[2] :]
            flush()
            last_seq = ""
        elif kind == "units" and ("lead" in has or "resp" in has) and (row.get("task") or row.get("seq")):
            if "lead" in has and not row.get("lead") and not row.get("resp"):
                row["lead"] = line
            elif "resp" in has and not row.get("resp"):
                row["resp"] = line
            else:
                key = "resp" if "resp" in has else "lead"
                row[key] = f"{row[key]}、{line}"
        elif kind == "deadline" and "deadline" in has and (row.get("task") or row.get("seq")):
            row["deadline"] = f"{row['deadline']} {line}" if row.get("deadline") else line
        elif any(row.get(k) for k in ("lead", "resp", "deadline")):
            if not numbered:
                flush()  # no 序号 column: a new task starts after the units and deadline of the last one
                row["task"] = line
                i += 1
                continue
            # a cell after the units: the next empty column in the header's order (时限 written in words, 备注)
            last = max(k for k, r in enumerate(roles) if r and row.get(r))
            free = [r for r in roles[last + 1 :] if r in ("deadline", "target", "note") and not row.get(r)]
            if free:
                row[free[0]] = line
            elif len(line) > 30:
                break  # running text after a finished row: the table is over
            else:
                # the widest cell wraps: in a PDF its second line comes after the row's other cells
                row["task"] = f"{row.get('task', '')}{line}"
        elif (
            row.get("task")
            and "target" in has
            and not row.get("target")
            and re.search(r"\d", line)
            and roles.index("target") > roles.index("task")
        ):
            row["target"] = line
        elif row.get("task") and two_task_columns and not row.get("task2") and len(row["task"]) <= 30:
            # 重点任务 | 具体内容: the short name, then what it involves
            row["task2"] = "1"
            row["task"] = row["task"] + ("" if row["task"][-1] in "。!?;:" else "。") + line
        elif row.get("task"):
            row["task"] = f"{row['task']}{line}"
        else:
            row["task"] = line
        i += 1
    flush()
    return i


# ---------------------------------------------------------------- structure


class _Builder:
    def __init__(self, resolver: UnitResolver | None):
        self.resolver = resolver
        self.items: list[Item] = []
        self.stack: list[Item] = []
        self.root: list[str] = []
        self.current: Item | None = None
        self.orphans: list[str] = []
        self.roles: list[str] | None = None

    def _push(self, kind: str, label: str) -> Item:
        while self.stack and self.stack[-1].kind == AUTO:
            self.stack.pop()  # a numbered item never nests under a paragraph numbered by us
        for depth, open_item in enumerate(self.stack):
            if open_item.kind == kind:
                del self.stack[depth:]
                break
        parent = self.stack[-1] if self.stack else None
        item = Item(kind, label, [*self.root, *(s.label for s in self.stack), label], parent)
        if parent:
            parent.children.append(item)
        self.stack.append(item)
        self.items.append(item)
        self.current = item
        return item

    def paragraph(self, para: str) -> None:
        if para.count("|") >= 2:
            self.table_row(_cells(para))
            return
        attachment = _ATTACHMENT_RE.match(para)
        if attachment and len(para) <= 40:
            self.stack, self.current, self.roles = [], None, None
            self.root = [f"附件{attachment.group('n')}"]
            return
        marker = match_marker(para)
        if marker and len(para) > marker[2]:
            self._push(marker[0], marker[1]).paras.append(para)
            self._refresh(self.current)
            return
        item = self.current
        if item is None and self.stack and self.stack[-1].row is None and self._auto_task(para):
            return
        if item is None or item.row is not None:
            self.orphans.append(para)
            return
        if item.closed and not LABEL_START_RE.match(para):
            if self._auto_task(para):
                return
            self.orphans.append(para)
            self.current = None if self._ends_section(para) else item
            return
        item.paras.append(para)
        self._refresh(item)

    def _auto_task(self, para: str) -> bool:
        """Word's automatic numbering is lost when a plan is copied as text: under a heading, the
        measures become bare paragraphs, each closed by its own attribution. Two or more such
        paragraphs under one heading are numbered 1, 2, … here; a single one stays the heading's body."""
        att = find_attribution(para, self.resolver)
        if att is None or att.start < 4:
            return False
        top = self.stack[-1] if self.stack else None
        if top is None:
            return False
        if top.kind == AUTO:
            parent = top.parent
        elif (
            not top.children
            and len(top.paras) == 2
            and top.attribution is not None
            and _is_heading_para(top.paras[0])
        ):
            parent = top
            body = top.paras.pop()
            top.attribution, top.closed = None, True
            first = self._new_auto(parent)
            first.paras.append(body)
            self._refresh(first)
        else:
            return False
        item = self._new_auto(parent)
        item.paras.append(para)
        self._refresh(item)
        return True

    def finish(self) -> None:
        """Once some heading's measures were numbered by us, a sibling heading with a single measure is read the same way."""
        kinds = {i.parent.kind for i in self.items if i.kind == AUTO and i.parent is not None}
        for item in list(self.items):
            if (
                item.kind in kinds
                and not item.children
                and item.row is None
                and len(item.paras) == 2
                and item.attribution is not None
                and _is_heading_para(item.paras[0])
            ):
                body = item.paras.pop()
                item.attribution, item.closed = None, True
                child = Item(AUTO, "1", [*item.path, "1"], item)
                child.paras.append(body)
                item.children.append(child)
                self.items.insert(self.items.index(item) + 1, child)
                self._refresh(child)

    def _new_auto(self, parent: Item) -> Item:
        while self.stack and self.stack[-1] is not parent:
            self.stack.pop()
        label = str(sum(1 for c in parent.children if c.kind == AUTO) + 1)
        item = Item(AUTO, label, [*parent.path, label], parent)
        parent.children.append(item)
        self.stack.append(item)
        self.items.append(item)
        self.current = item
        return item

    def _ends_section(self, para: str) -> bool:
        return True

    def _refresh(self, item: Item) -> None:
        text = item.text
        att = find_attribution(text, self.resolver)
        if att is None:
            att = find_prose_attribution(text, self.resolver)
        item.attribution = att
        item.closed = att is not None and not att.inline

    def table_row(self, cells: list[str]) -> None:
        roles = _table_roles(cells)
        if roles:
            self.roles = roles
            return
        if not self.roles:
            self.orphans.append(" ".join(c for c in cells if c))
            return
        roles = self.roles
        row = {role: "" for role in ("seq", "task", "target", "lead", "resp", "deadline", "note", "leader")}
        for role, cell in zip(roles, cells, strict=False):
            if role and cell:
                if not row[role]:
                    row[role] = cell
                elif role == "task":
                    # 重点任务 | 具体内容: the first column names the task, the next says what it involves
                    row[role] = row[role] + ("" if row[role][-1] in "。!?;:" else "。") + cell
                else:
                    row[role] = f"{row[role]} {cell}"
        if "seq" not in roles and cells and _seq_kind(cells[0]):
            row["seq"] = cells[0]
        filled = [c for c in cells if c]
        if not filled:
            return
        seq = _seq_kind(row["seq"]) if row["seq"] else None
        has_units = bool(row["lead"] or row["resp"])
        if seq is None and not row["seq"]:
            first = filled[0]
            marker = match_marker(first)
            if marker and len(set(filled)) == 1:
                self._push(marker[0], marker[1]).paras.append(first)
                self.current.row = None
                self.current.closed = True
                return
            last = self.items[-1] if self.items and self.items[-1].row is not None else None
            if last is not None:
                for role, value in row.items():
                    if value and role != "seq":
                        last.row[role] = f"{last.row[role]}{value}"
                self._finish_row(last)
                return
            seq = ("l3", str(sum(1 for i in self.items if i.row is not None) + 1))
        if seq is None:
            seq = ("l3", row["seq"])
        task_text = row["task"] or next((c for c in filled if c != row["seq"]), "")
        if not has_units and not row["deadline"] and seq[0] in ("l1", "l2") and len(task_text) <= 40:
            item = self._push(seq[0], seq[1])
            item.paras.append(task_text)
            item.closed = True
            return
        previous = next((i for i in reversed(self.items) if i.row is not None), None)
        item = self._push(seq[0], seq[1])
        if previous is not None and previous.parent is item.parent:
            # cells merged down a column come out blank in the rows below: they continue the cell above
            if not row["lead"] and not row["resp"]:
                row["lead"], row["resp"] = previous.row["lead"], previous.row["resp"]
            if not row["deadline"]:
                row["deadline"] = previous.row["deadline"]
        item.row = row
        self._finish_row(item)

    def _finish_row(self, item: Item) -> None:
        row = item.row
        item.paras = [p for p in (row["task"], f"目标:{row['target']}" if row["target"] else "") if p]
        parts = []
        if row["lead"]:
            parts.append(f"牵头单位:{row['lead']}")
        if row["resp"]:
            parts.append(f"责任单位:{row['resp']}")
        att = parse_attribution(";".join(parts), self.resolver) if parts else None
        if att is not None:
            att.text = ";".join(parts)
            att.start = len(item.text)
            att.rule = "table"
        item.attribution = att
        item.closed = True


def _lift_trailing_attributions(items: list[Item]) -> None:
    """1.推进X。 (1)…  (2)…(牵头单位:…): the attribution after the last sub-item is the parent's."""
    for parent in items:
        kids = parent.children
        if parent.attribution is not None or parent.row is not None or len(kids) < 2:
            continue
        if (
            kids[-1].attribution is None
            or kids[-1].children
            or any(k.attribution or k.children or k.row for k in kids[:-1])
        ):
            continue
        # 1.推进X。主要包括: (1)…; (2)…。(牵头…): an enumeration the parent introduces, closed by one attribution
        enumerated = parent.text.rstrip().endswith(":") or all(
            k.text.rstrip().endswith(";") for k in kids[:-1]
        )
        if (
            any(
                s is not parent and s.attribution is not None
                for s in (parent.parent.children if parent.parent else [])
            )
            or _has_attributed_sibling(parent, items)
            or enumerated
        ):
            parent.paras = parent.paras + [p for k in kids for p in k.paras]
            parent.attribution = kids[-1].attribution
            offset = len(parent.text) - len(kids[-1].text)
            parent.attribution.start += max(0, offset)
            for k in kids:
                k.attribution = None
                k.paras = []
            parent.children = []


def _has_attributed_sibling(parent: Item, items: list[Item]) -> bool:
    siblings = parent.parent.children if parent.parent else [i for i in items if i.parent is None]
    return any(s is not parent and (s.attribution is not None) for s in siblings)


def _fold_sub_items(items: list[Item]) -> None:
    """1.推进X。(牵头单位…) (1)… (2)…: numbered sub-items without units of their own are part of the task
    they sit under (its text, deadlines and targets), not tasks. Where no item names units (interpretation
    documents), the (1)/① sub-items of a measure are its text the same way."""
    attributed = any(i.attribution is not None or i.row is not None for i in items)
    folded: set[int] = set()
    for item in reversed(items):
        kids = item.children
        if not kids or item.row is not None or not item.paras:
            continue
        if any(k.attribution is not None or k.row is not None or k.children for k in kids):
            continue
        if attributed and item.attribution is None:
            continue
        if not attributed and not all(k.kind in ("l4", "l5") for k in kids):
            continue
        if item.attribution is not None and item.attribution.end is None:
            item.attribution.end = len(item.text)
        item.paras = item.paras + [p for k in kids for p in k.paras]
        folded.update(id(k) for k in kids)
        item.children = []
    if folded:
        items[:] = [i for i in items if id(i) not in folded]


def _tasks(items: list[Item]) -> tuple[list[Item], bool]:
    _lift_trailing_attributions(items)
    _fold_sub_items(items)
    attributed = [i for i in items if i.attribution is not None or i.row is not None]
    if attributed:
        chosen = set(id(i) for i in attributed)
        # an unattributed item among attributed siblings is still a task (its units left empty)
        for item in items:
            if id(item) in chosen or item.children or not item.paras:
                continue
            siblings = item.parent.children if item.parent else [i for i in items if i.parent is None]
            with_att = sum(1 for s in siblings if id(s) in chosen)
            if with_att and with_att * 2 >= len(siblings):
                chosen.add(id(item))
        return [i for i in items if id(i) in chosen], True
    leaves = []
    for item in items:
        if (
            item.children
            or not item.paras
            or len(_CJK_RE.findall(item.text)) < 4
            or item.kind in ("ch", "se")
        ):
            continue
        chain = []
        node = item
        while node:
            chain.append(_title_of(node))
            node = node.parent
        if any(_NON_TASK_RE.search(t) for t in chain):
            continue
        leaves.append(item)
    return leaves, False


def _attribution_deadlines(att: Attribution, ctx: DateContext) -> list[dict]:
    out: list[dict] = []
    for clause in att.deadline_texts:
        found = parse_deadline_cell(clause, ctx)
        for d in found:
            if d.date is None and d.end < len(clause) and d.text != clause:
                out.append({"text": clause[: d.end], "date": None})
            else:
                out.append(d.as_dict())
    return out


def _doc_year(header: dict) -> int | None:
    for text in (header.get("plan_title") or "", header.get("title") or ""):
        m = re.search(r"((?:19|20)\d{2})年", text)
        if m:
            return int(m.group(1))
    if header.get("issued_on"):
        return header["issued_on"].year
    if header.get("doc_number"):
        m = re.search(r"〔(\d{4})〕", header["doc_number"])
        if m:
            return int(m.group(1))
    return None


_REPORT_VERB = r"(?:报送|上报|报告|提交|报)"
_QUARTER_DAY_RE = re.compile(
    r"每(?:个)?季度(?P<which>末月|最后一个月|最后一月|首月|第一个月|第一月)(?P<d>\d{1,2})日(?:前|之前|以前)?"
    rf"(?=[^。;]{{0,20}}{_REPORT_VERB})"
)
_MONTH_END_REPORT_RE = re.compile(
    rf"(?:(?P<y>(?:19|20)\d{{2}})年|(?<=每年)|(?<![\d年]))(?P<m>\d{{1,2}})月(?:底|末)(?:前|之前|以前)?(?=[^。;]{{0,16}}{_REPORT_VERB})"
)
_YEAR_END_REPORT_RE = re.compile(rf"(?:每年)?(?:年底|年末)(?:前|之前|以前)(?=[^。;]{{0,12}}{_REPORT_VERB})")
# Limits that give no fixed month and day: kept as written in "reporting_rules".
_REPORT_RULE_RE = re.compile(
    r"每(?:个)?(?:季度|月|半年)(?:结束|末|终了)?(?:后|之后)(?:的)?(?:\d{1,2}|[一二三四五六七八九十]{1,3})个?(?:工作日|日|天)(?:内|以内|之内)?"
    rf"(?:{_REPORT_VERB}[送报]?)?"
    r"|每月(?:\d{1,2})日(?:前|之前|以前)(?:报送|上报|提交)?"
)


def _reporting_dates(paras: list[str], year: int | None) -> tuple[list[dict], list[dict]]:
    """Report-back dates (month and day known) and report-back rules (relative, kept as text)."""
    out: list[tuple[int, int, dict]] = []
    rules: list[dict] = []

    def add(para_no: int, pos: int, text: str, month: int, day: int, y: int | None) -> None:
        entry = {"text": text, "month": month, "day": day, "year": y}
        try:
            entry["date"] = dt.date(y, month, day).isoformat() if y else None
        except ValueError:
            return
        out.append((para_no, pos, entry))

    for para_no, para in enumerate(paras):
        taken: list[tuple[int, int]] = []

        def free(m: re.Match, taken: list[tuple[int, int]] = taken) -> bool:
            if any(m.start() < e and s < m.end() for s, e in taken):
                return False
            taken.append((m.start(), m.end()))
            return True

        for m in _REPORT_RULE_RE.finditer(para):
            if free(m):
                rules.append({"text": m.group(0)})
        for m in _QUARTER_DAY_RE.finditer(para):
            if not free(m):
                continue
            months = (
                (3, 6, 9, 12) if m.group("which") in ("末月", "最后一个月", "最后一月") else (1, 4, 7, 10)
            )
            for month in months:
                add(para_no, m.start(), m.group(0), month, int(m.group("d")), year)
        for m in _REPORTING_RE.finditer(para):
            if not free(m):
                continue
            month, day = int(m.group("m")), int(m.group("d"))
            y = int(m.group("y")) if m.group("y") else year
            text = m.group(0)[m.group(0).find(m.group("m") + "月") :] if not m.group("y") else m.group(0)
            add(para_no, m.start(), text, month, day, y)
        for m in _MONTH_END_REPORT_RE.finditer(para):
            if not free(m):
                continue
            month = int(m.group("m"))
            if 1 <= month <= 12:
                y = int(m.group("y")) if m.group("y") else year
                add(para_no, m.start(), m.group(0), month, month_end(y or 2001, month).day, y)
        for m in _YEAR_END_REPORT_RE.finditer(para):
            if free(m):
                add(para_no, m.start(), m.group(0), 12, 31, year)
    out.sort(key=lambda x: (x[0], x[1]))
    return [entry for _, _, entry in out], rules


def extract_plan(text: str, resolver: UnitResolver | None = None) -> dict:
    """The ledger of one plan, in the shape of ``extract_ledger --json``.

    Raises ExtractionError when the text is empty or has no numbered tasks (a plan without
    tasks is never returned). Units are canonical names when ``resolver`` knows them; names it
    does not know are kept as written and listed in each task's ``unknown_units``.
    """
    if text is None or not str(text).strip():
        raise ExtractionError("文本为空，没有可提取的内容。")
    try:
        return _extract(str(text), resolver)
    except ExtractionError:
        raise
    except Exception as exc:  # the engine must never surface another exception type
        raise ExtractionError(f"解析方案时出错：{type(exc).__name__}: {exc}") from exc


def _extract(text: str, resolver: UnitResolver | None) -> dict:
    lines = clean_lines(text)
    header = _parse_header(lines)
    paras = paragraphs(_fold_line_tables(lines, resolver))
    builder = _Builder(resolver)
    for para in paras:
        builder.paragraph(para)
    builder.finish()
    task_items, attributed = _tasks(builder.items)
    if not task_items:
        raise ExtractionError(
            "未在文本中找到编号任务（如“一、”“（一）”“1.”开头且注明牵头/责任单位的条目），请确认上传的是实施方案或任务分工文件。"
        )

    ctx = DateContext(_doc_year(header), header["issued_on"])
    tasks = []
    for item in task_items:
        tasks.append(_task_dict(item, ctx, resolver))
    task_ids = {id(i) for i in task_items}
    other_paras = builder.orphans + [p for i in builder.items if id(i) not in task_ids for p in i.paras]
    issued = header["issued_on"]
    reporting_dates, reporting_rules = _reporting_dates(other_paras, ctx.doc_year)
    return {
        "doc_number": header["doc_number"],
        "title": header["title"],
        "plan_title": header["plan_title"],
        "issuer": header["issuer"],
        "issued_on": issued.isoformat() if issued else None,
        "reporting_dates": reporting_dates,
        "reporting_rules": reporting_rules,
        "has_attributions": attributed,
        "tasks": tasks,
    }


def _task_dict(item: Item, ctx: DateContext, resolver: UnitResolver | None) -> dict:
    text = item.text
    att = item.attribution
    if item.row is not None or (att is not None and att.inline):
        body = text
    elif att is not None and att.end is not None and att.end < len(text):
        body = text[: att.start] + "\n" + text[att.end :]  # sub-items folded in after the attribution
    else:
        body = text[: att.start] if att else text
    deadlines: list[Deadline] = find_deadlines(body, ctx)
    deadline_dicts = [d.as_dict() for d in deadlines]
    if item.row is not None and item.row.get("deadline"):
        cell = parse_deadline_cell(item.row["deadline"], ctx)
        deadline_dicts.extend(d.as_dict() for d in cell)
        deadlines = deadlines + [d for d in cell if d.date]
    if att is not None:
        deadline_dicts.extend(_attribution_deadlines(att, ctx))
    targets = find_targets(
        body, [d for d in deadlines if d.start < len(body)] if item.row is None else find_deadlines(body, ctx)
    )
    if item.row is not None and not any(t["by"] for t in targets):
        cell_dates = [d for d in deadline_dicts if d["date"]]
        if cell_dates:
            for t in targets:
                t["by"] = cell_dates[-1]["date"]
    section = []
    node = item.parent
    while node:
        section.insert(0, _title_of(node))
        node = node.parent
    return {
        "path": item.path,
        "section": section,
        "title": _title_of(item),
        "text": text,
        "lead_units": list(att.lead) if att else [],
        "responsible_units": list(att.responsible) if att else [],
        "counties_involved": bool(att and att.counties_involved),
        "county_units": list(att.county_units) if att else [],
        "unknown_units": list(att.unknown) if att else [],
        "attribution_text": att.text if att else "",
        "lead_rule": att.rule if att else "none",
        "deadlines": deadline_dicts,
        "targets": targets,
    }
