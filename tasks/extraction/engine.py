"""extract_plan: from the text of a plan to its ledger (tasks, units, deadlines, targets).

The plan's head (文号, title, issuer, date) is read by tasks/extraction/header.py, its tables are folded into one
line per row by tasks/extraction/tables.py; here the numbered structure becomes tasks."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from .attribution import Attribution, find_attribution, find_prose_attribution, parse_attribution
from .dates import DateContext, Deadline, find_deadlines, month_end, parse_deadline_cell
from .errors import ExtractionError
from .header import ATTACHMENT_RE, parse_header
from .tables import fold_line_tables, row_cells, seq_kind, table_roles
from .targets import find_targets
from .text import LABEL_START_RE, clean_lines, match_marker, paragraphs
from .units import UnitResolver

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
            self.table_row(row_cells(para))
            return
        attachment = ATTACHMENT_RE.match(para)
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
        roles = table_roles(cells)
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
        if "seq" not in roles and cells and seq_kind(cells[0]):
            row["seq"] = cells[0]
        filled = [c for c in cells if c]
        if not filled:
            return
        seq = seq_kind(row["seq"]) if row["seq"] else None
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
    header = parse_header(lines)
    paras = paragraphs(fold_line_tables(lines, resolver))
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
