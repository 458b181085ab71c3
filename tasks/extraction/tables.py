"""Tables in a plan's text: header roles (牵头/责任/时限/序号…), cells joined by | or laid out one per line (as Word
and PDF text gives them), folded back into one line per row for extract_plan (tasks/extraction/engine.py)."""

from __future__ import annotations

import re

from .text import match_marker, squeeze_spaces
from .units import UnitResolver

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


# ---------------------------------------------------------------- tables


def row_cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|"):
        line = line[:-1]
    return [squeeze_spaces(c.strip()) for c in line.split("|")]


def table_roles(cells: list[str]) -> list[str] | None:
    roles = [_cell_role(cell) for cell in cells]
    if ("task" in roles) and ("lead" in roles or "resp" in roles):
        return roles
    return None


def _cell_role(cell: str) -> str:
    for name, regex in _TABLE_ROLES:
        if cell and regex.search(cell) and len(cell) <= 16:
            return name
    return ""


def seq_kind(seq: str) -> tuple[str, str] | None:
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
    roles = table_roles(cells)
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


def fold_line_tables(lines: list[str], resolver: UnitResolver | None) -> list[str]:
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
    roles = table_roles(cells)
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
