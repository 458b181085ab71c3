"""Reading an office's 分工表 or 台账 workbook into the ledger: preview (nothing written) and import.

A workbook arrives as offices have it: several sheets (a cover or 说明 first), title rows holding the plan's title
and 文号, one to three header rows with merged cells, section rows (一、…) that number the tasks under them,
numbering in its own column or inside the task text, column names in many forms. ``ledger_import`` finds the
sheet and header, maps columns to fields (the user can correct the mapping), resolves unit names (aliases, names
from before the 2018 reorganisation, county phrases) and deadlines (tasks/deadlines.py), matches rows to existing
tasks, and lists every row as created, updated (old -> new) or unchanged. Writing happens only when no row has an
error, in one transaction, through the bulk rules of tasks/services.py (version, audit, schedule).

This module plans and writes; what it reads with lives beside it: finding the table (tasks/ledger_table.py), what
a cell says (tasks/ledger_cells.py), and the preview's row plans and results (tasks/ledger_results.py).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import defaultdict

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from departments.models import Unit, UnitKind, normalize_unit_name
from departments.selectors import (
    former_name_suggestions,
    resolve_in_table,
    unit_lookup_table,
    unit_match_candidates,
)
from departments.services import ApplicationError

from .deadlines import DATE_HINT, parse_deadlines, year_of_plan
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
from .extraction.text import to_simplified
from .ledger_cells import (
    DOTTED_PATH,
    FULL_PATH,
    KEPT_RE,
    STATUS_WORDS,
    attributed_units,
    cn_number,
    deadline_milestones,
    doc_number_in,
    find_document,
    parse_numbering,
    sheet_title,
    split_unit_cell,
    titles_differ,
    unit_kind_for,
)
from .ledger_results import (
    CHANGE_NAMES,
    Conflict,
    DocumentChoice,
    ImportResult,
    NewUnit,
    RowPlan,
    changed_fields,
    free_path,
    merged_state,
)
from .ledger_table import FIELDS, NOTE_RE, Header, has_any_cell, locate_table, measure_rows, row_choices
from .models import Document, Progress, path_display, path_segment_number
from .resources import (
    SNAPSHOT_KEY,
    TaskState,
    normalize_cell,
    parse_ref,
    row_fingerprint,
    snapshot,
)
from .services import diff_snapshots, document_upsert, tasks_bulk_save


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
            doc = find_document(text)
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
            elif KEPT_RE.search(name):
                unit = False  # 各街道, 有关部门: not one unit, never created
            elif self.add_units:
                unit = self.new_units.setdefault(key, NewUnit(name=name, kind=unit_kind_for(name)))
            else:
                unit = False
        self.resolved[name] = unit
        return unit


# --------------------------------------------------------------------------------------------------- plan


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
        existing = find_document(number)
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
    result.sheet_choices = [(s.name, len(s.rows)) for s in sheets if has_any_cell(s)]
    result.row_choices = row_choices(next(s for s in sheets if s.name == header.sheet), header)
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
            if FULL_PATH.match(normalized.replace("（", "(").replace("）", ")")):
                full = normalized.split(".")
            elif DOTTED_PATH.match(normalized.strip()):
                full = normalized.strip().rstrip(".").split(".")
            else:
                full = None
            numbering_cache[text] = (parse_numbering(text) if text else None, full)
        return numbering_cache[text]

    max_columns = settings.IMPORT_MAX_COLUMNS
    chosen_key = f"id:{choice.document.pk}" if choice.document is not None else ""
    detail_keys = ("lead", "responsible", "deadline", "status", "note", "text")
    detail_cols = [k for k in detail_keys if k in columns and columns[k] != columns.get("title")]
    measures = measure_rows(rows, header.data_start, columns)
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
            if NOTE_RE.match(only):
                continue  # a note under the table (注：…, 填表说明)
            only_numbering, only_path = numbered(only)
            if only_numbering is not None and not title_text:
                numbering, full_path, seq_text = only_numbering, only_path, only
            elif only_numbering is None and len(only) <= 30 and not only.endswith(("。", "；", ";")):
                # A heading without a number of its own (医疗保障改革): numbered in order, 一、二、…
                n = path_segment_number(stack[0]) + 1 if 0 in stack else 1
                numbering, seq_text, title_text = (0, cn_number(n), only), only, ""
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
        if full_path is not None and DOTTED_PATH.match(seq_text.strip()):
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
                    if unit is False and KEPT_RE.search(name):
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
                deadline_milestones(parsed_cell, deadline_raw),
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
        if current is not None and ref is None and titles_differ(current.title, plan.state.title):
            if excel_row in as_new:
                if taken_paths is None:
                    taken_paths = {(s.document_id, s.path_key) for s in existing.values()} | {
                        (p.state.document_id, path_display(p.path)) for p in plans
                    }
                plan.path = plan.state.path = free_path(plan.path, plan.state.document_id, taken_paths)
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
        changed = changed_fields(plan, current, status_given, county_count)
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
        plan.after = merged_state(current, plan.state, changed)
        # The history record and the preview's "changes": one diff, worked out once.
        plan.audit = diff_snapshots(snapshot(current, keys), snapshot(plan.after, keys))
        plan.changes = {CHANGE_NAMES.get(k, k): v for k, v in plan.audit.items()}
        result.updated += 1
        result.changes.append(
            {"row": excel_row, "path": current.path_key, "title": current.title, "fields": sorted(changed)}
        )
    return result, ([] if result.errors else plans), ctx


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
            number = doc_number_in(key)
            title = key.replace(number, "").strip(" 《》()（）") if number else key
            docs[key], _ = document_upsert(doc_number=number, title=title or key, actor=actor)
        plan.state.document_id = docs[key].pk


def _apply(plans: list[RowPlan], *, actor, request) -> None:
    creates = []
    for plan in plans:
        if plan.existing is None and plan.changed != {"__conflict__"}:
            plan.state.targets = plan.targets()  # read now: the plan does not keep them (RowPlan.targets)
            creates.append(plan.state)
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
