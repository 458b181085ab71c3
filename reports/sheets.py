"""The reporting cycle's spreadsheets: the quarterly 汇总表 and a unit's offline form (本期填报表).

Both are rows for reform_ledger.spreadsheets (which writes every file under one cell policy). The offline form
also comes back: `unit_form_import` reads it and saves the rows as the unit's drafts through the same service as
the web form, all or nothing, with every problem named by row and column in Chinese.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from departments.services import ApplicationError
from reform_ledger.spreadsheets import (
    DATETIME,
    INTEGER,
    NOT_FILLED,
    NUMBER,
    PERCENT,
    Column,
    Fixed,
    Section,
    Sheet,
    render_xlsx,
)
from tasks.excel import RowError, SpreadsheetError, cell_text, column_letter, find_header, read_rows
from tasks.models import Progress, Task
from tasks.resources import Column as HeaderColumn
from tasks.resources import normalize_cell
from tasks.sheets import ledger_states

from .models import Period, ReportStatus
from .selectors import form_rows_for, period_submission_status, reports_shared_content
from .services import TEXT_FIELDS, TEXT_MAX, report_get_or_create_for, report_save_draft, task_label

# --------------------------------------------------------------------------------------------------- 汇总表


def _timeliness(report) -> str:
    """按时 / 逾期提交 / 未提交 for one unit's report on one task (the 报送情况 sheet's rule)."""
    if report is None or report.status not in (ReportStatus.SUBMITTED, ReportStatus.ACCEPTED):
        return "未提交"
    return "逾期提交" if report.is_late else "按时"


COMPILATION_COLUMNS = [
    Column("编号", 10), Column("重点任务 / 填报单位", 30), Column("承担角色", 10), Column("进展", 9),
    Column("完成百分比", 9, kind=PERCENT), Column("本期进展情况", 40), Column("存在问题", 24), Column("下步打算", 24),
    Column("报告状态", 12), Column("提交时间", 16, kind=DATETIME), Column("及时性", 9),
]  # fmt: skip
STATUS_COLUMNS = [
    Column("单位", 26), Column("类型", 14), Column("应报", 8, kind=INTEGER), Column("已报", 8, kind=INTEGER),
    Column("按时", 8, kind=INTEGER), Column("逾期提交", 9, kind=INTEGER), Column("未提交", 8, kind=INTEGER),
    Column("按时率", 9, kind=PERCENT), Column("及时性", 10),
]  # fmt: skip
COMPILATION_NOTE = (
    "注：只汇总已提交、已通过的报告；被退回的报告显示退回前最后一次提交的内容；未提交的草稿不汇总。"
)


def _compilation_rows(*, period: Period, qs):
    states = ledger_states(qs)
    shared = reports_shared_content(period=period, task_ids=qs.values("pk"))
    for s in states:
        lead = "、".join(u.name for u in s.lead)
        yield Section(s.path_key, f"{s.title}（牵头：{lead or '—'}）")
        seen = set()
        for role, units in (("牵头单位", s.lead), ("责任单位", s.responsible), ("县(市、区)", s.counties)):
            for u in units:
                if u.pk in seen:
                    continue
                seen.add(u.pk)
                c = shared.get((s.id, u.pk))
                r = c.report if c else None
                if c is None:
                    status = "未提交"
                elif c.from_revision:
                    status = "已退回（退回前内容）"
                else:
                    status = r.get_status_display()
                yield [
                    "", u.name, role, c.progress_label if c else "", None if not c or c.percent is None else c.percent / 100,
                    c.text if c else "", c.problems if c else "", c.next_steps if c else "", status,
                    r.submitted_at if r and r.submitted_at else None, _timeliness(r),
                ]  # fmt: skip


def _status_rows(*, period: Period):
    for row in period_submission_status(period=period):
        yield [
            row.unit.name, row.unit.get_kind_display(), row.due, row.submitted, row.on_time, row.late, row.missing,
            (row.on_time / row.due) if row.due else None, row.timeliness,
        ]  # fmt: skip


def compilation_sheets(*, period: Period, qs=None, now: dt.datetime | None = None) -> list[Sheet]:
    """The quarterly compilation (汇总表): every unit's shared report on every task, grouped by task, with
    timeliness; and a second sheet with each unit's submission status (报送情况)."""
    qs = qs if qs is not None else Task.objects.alive()
    local = timezone.localtime(now or timezone.now())
    subtitle = f"填报期：{period.label}　截止：{period.due_date:%Y-%m-%d}　导出时间：{local:%Y-%m-%d %H:%M}"
    return [
        Sheet(
            name="汇总表", title=f"{period.label}医改重点任务进展汇总表", subtitle=subtitle,
            columns=COMPILATION_COLUMNS, rows=_compilation_rows(period=period, qs=qs), freeze_columns=2,
            note=COMPILATION_NOTE,
        ),
        Sheet(
            name="报送情况", title=f"{period.label}各单位报送情况", subtitle=subtitle, columns=STATUS_COLUMNS,
            rows=_status_rows(period=period), freeze_columns=1,
        ),
    ]  # fmt: skip


def compilation_export(*, period: Period, qs=None, now: dt.datetime | None = None) -> tuple[bytes, int]:
    """(the .xlsx, number of unit rows in the 汇总表)."""
    sheets = compilation_sheets(period=period, qs=qs, now=now)
    data = render_xlsx(sheets)
    return data, sheets[0].row_count


# --------------------------------------------------------------------------------------------------- unit form

PROGRESS_LABELS = tuple(Progress.labels)
TARGET_GROUP = "指标实际值"


@dataclass(frozen=True)
class FormField:
    key: str
    header: str
    width: float
    editable: bool = False
    kind: str = "text"
    hidden: bool = False
    choices: tuple[str, ...] = ()


FORM_FIELDS = [
    FormField("seq", "编号", 10),
    FormField("doc", "文号", 16),
    FormField("title", "重点任务", 30),
    FormField("role", "本单位角色", 10),
    FormField("deadline", "完成时限", 14),
    FormField("progress", "进展", 10, editable=True, choices=PROGRESS_LABELS),
    FormField("percent", "完成百分比(0-100)", 10, editable=True, kind=INTEGER),
    # target columns go here
    FormField("text", "本期进展情况", 40, editable=True),
    FormField("problems", "存在问题", 24, editable=True),
    FormField("next_steps", "下步打算", 24, editable=True),
    FormField("status", "报告状态", 10),
    FormField("ref", "系统编号(请勿修改)", 12, hidden=True),
]
_TARGETS_AFTER = "percent"
# What the upload recognises (header text and a few older spellings).
FORM_HEADERS = [
    HeaderColumn("seq", "编号", 10, ("序号",)),
    HeaderColumn("doc", "文号", 16, ("任务来源", "文件")),
    HeaderColumn("title", "重点任务", 30, ("任务名称",)),
    HeaderColumn("role", "本单位角色", 10, ("角色",)),
    HeaderColumn("deadline", "完成时限", 14, ("时限",)),
    HeaderColumn("progress", "进展", 10, ("进展状态", "完成状态")),
    HeaderColumn("percent", "完成百分比(0-100)", 10, ("完成百分比", "百分比", "完成比例")),
    HeaderColumn("text", "本期进展情况", 40, ("进展情况",)),
    HeaderColumn("problems", "存在问题", 24, ("问题",)),
    HeaderColumn("next_steps", "下步打算", 24, ("下步计划",)),
    HeaderColumn("status", "报告状态", 10, ()),
    HeaderColumn("ref", "系统编号(请勿修改)", 12, ("系统编号",)),
]
FORM_LABELS = {f.key: f.header for f in FORM_FIELDS}


def _number_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def target_label(target) -> str:
    """The column heading of a target's actual value: indicator and unit (and due date when two targets of the
    unit's tasks share both)."""
    unit = f"（{target.unit}）" if target.unit else ""
    return f"{target.indicator}{unit}"


def form_target_columns(form_rows) -> tuple[list[str], dict[tuple[int, str], object]]:
    """(column headings in order of first appearance, (task id, heading) -> Target). One column per distinct
    indicator and unit: tasks sharing an indicator share the column; a task with two targets of the same
    indicator and unit gets the due date added to tell them apart."""
    headings: list[str] = []
    by_cell: dict[tuple[int, str], object] = {}
    for fr in form_rows:
        targets = list(fr.task.targets.all())
        base = [target_label(t) for t in targets]
        for t, label in zip(targets, base, strict=True):
            if base.count(label) > 1:
                label = (
                    f"{label[:-1]}，{t.due:%Y-%m-%d}）"
                    if label.endswith("）") and t.due
                    else f"{label}（{t.due or t.pk}）"
                )
            if label not in headings:
                headings.append(label)
            by_cell[(fr.task.pk, label)] = t
    return headings, by_cell


def _form_columns(target_headings: list[str]) -> list[Column]:
    columns = []
    for f in FORM_FIELDS:
        columns.append(
            Column(f.header, f.width, kind=f.kind, hidden=f.hidden, editable=f.editable, choices=f.choices,
                   choices_message=f"进展只能选：{'、'.join(PROGRESS_LABELS)}。" if f.choices else "")
        )  # fmt: skip
        if f.key == _TARGETS_AFTER:
            for heading in target_headings:
                columns.append(Column(heading, 14, kind=NUMBER, group=TARGET_GROUP, editable=True))
    return columns


def unit_form_sheet(*, unit, period: Period, now: dt.datetime | None = None) -> Sheet:
    """A unit's quarterly form to fill in offline: key columns locked, 进展 as a drop-down, one column per target
    for its actual value; the hidden 系统编号 names the task."""
    form = form_rows_for(unit=unit, period=period)
    headings, by_cell = form_target_columns(form)

    def rows():
        for fr in form:
            r = fr.report
            # A report already submitted or accepted cannot be changed by an upload: its cells are locked too.
            keep = (lambda v: v) if fr.editable else Fixed
            values = [
                fr.task.path_key, fr.task.document.doc_number or fr.task.document.title, fr.task.title,
                "、".join(fr.roles),
                "；".join(m.text or f"{m.date:%Y-%m-%d}" for m in fr.task.milestones.all() if m.text or m.date),
                keep(r.get_progress_display() if r else ""), keep(r.percent if r and r.percent is not None else None),
            ]  # fmt: skip
            for heading in headings:
                target = by_cell.get((fr.task.pk, heading))
                values.append(NOT_FILLED if target is None else keep(fr.target_values.get(target.pk)))
            values += [
                keep(r.text if r else ""),
                keep(r.problems if r else ""),
                keep(r.next_steps if r else ""),
            ]
            values += [fr.status_label, f"R{fr.task.pk}"]
            yield values

    local = timezone.localtime(now or timezone.now())
    subtitle = (
        f"填报单位：{unit.name}　填报期：{period.label}　截止：{period.due_date:%Y-%m-%d}　"
        f"导出时间：{local:%Y-%m-%d %H:%M}"
    )
    note = (
        f"填写说明：白色单元格可填，灰色的已锁定；进展从下拉列表中选（{'、'.join(PROGRESS_LABELS)}）；完成百分比填 0 到 100 的整数；"
        "指标实际值只填本任务有的指标（填数字，不带单位）。上传后保存为草稿，提交仍在网页上完成。"
    )
    return Sheet(
        name="填报表", title=f"{unit.name}{period.label}医改任务进展填报表", subtitle=subtitle,
        columns=_form_columns(headings), rows=rows(), freeze_columns=3, protect=True, note=note,
    )  # fmt: skip


def unit_form_export(*, unit, period: Period, now: dt.datetime | None = None) -> tuple[bytes, int]:
    """(the .xlsx, number of task rows)."""
    sheet = unit_form_sheet(unit=unit, period=period, now=now)
    data = render_xlsx([sheet])
    return data, sheet.row_count


@dataclass
class FormRowPreview:
    row: int
    task: Task
    report_status: str
    changes: dict  # label -> new value (text)


@dataclass
class FormImportResult:
    saved: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    rows: list[FormRowPreview] = field(default_factory=list)  # what was saved, for the preview after upload


def _progress_from(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip()
    for choice in Progress:
        if text in (choice.label, choice.value):
            return choice.label
    raise ValueError(text)


def _percent_from(value) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        if isinstance(value, float) and 0 < value < 1 and abs(value * 100 - round(value * 100)) < 1e-9:
            value = round(value * 100)  # "60%" typed into the cell: Excel stores 0.6
        number = Decimal(str(value))
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip().rstrip("%").strip()
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(value) from None
    if not number.is_finite() or number != number.to_integral_value() or not 0 <= number <= 100:
        raise ValueError(value)
    return int(number)


def _number_from(value) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    text = unicodedata.normalize("NFKC", cell_text(value)).strip().replace(",", "").rstrip("%").strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(value) from None
    if not number.is_finite() or abs(number) >= Decimal("1e10"):
        raise ValueError(value)
    return number


def _shown(value) -> str:
    return cell_text(value).strip()


def unit_form_import(
    *, data: bytes, unit, period: Period, actor, now: dt.datetime | None = None
) -> FormImportResult:
    """Rows of an offline-filled form become the unit's draft reports, through the same service (and checks) as
    the web form. Any error: nothing is saved, and every error names its row and column."""
    rows = read_rows(data)
    try:
        columns, headers, start = find_header(rows, FORM_HEADERS, required="ref")
    except SpreadsheetError:
        raise SpreadsheetError(
            "这不是本单位的填报表：找不到“系统编号(请勿修改)”“进展”“本期进展情况”等列。请先下载填报表，在其中填写后上传。",
            field="file",
        ) from None
    result = FormImportResult()
    form = {fr.task.pk: fr for fr in form_rows_for(unit=unit, period=period)}
    target_headings, by_cell = form_target_columns(form.values())
    # Target columns: found by their heading in the header rows (they are below the 指标实际值 group heading).
    # The group heading's row is the one find_header found; the headings are in it or in the row below.
    target_columns: dict[str, int] = {}
    wanted = set(target_headings)
    for r in range(max(start - 2, 0), min(start + 1, len(rows))):
        found = {h: i for i, v in enumerate(rows[r]) if (h := normalize_cell(cell_text(v))) in wanted}
        if found:
            for heading, i in found.items():
                target_columns.setdefault(heading, i)
            start = max(start, r + 1)

    def label(key: str) -> str:
        if key in columns:
            return f"{column_letter(columns[key])}（{headers.get(key) or FORM_LABELS.get(key, key)}）"
        return FORM_LABELS.get(key, key)

    def target_col(heading: str) -> str:
        return f"{column_letter(target_columns[heading])}（{heading}）"

    class _Rollback(Exception):
        pass

    task_of_row: dict[int, Task] = {}

    try:
        with transaction.atomic():
            for r in range(start, len(rows)):
                row = rows[r]
                excel_row = r + 1

                def get(i, _row=row):
                    return _row[i] if i is not None and i < len(_row) else None

                texts = {k: _shown(get(i)) for k, i in columns.items()}
                target_cells = {h: get(i) for h, i in target_columns.items()}
                if not any(texts.values()) and not any(_shown(v) for v in target_cells.values()):
                    continue
                ref = texts.get("ref", "")
                if not ref and not any(
                    texts.get(k) for k in ("progress", "percent", "text", "problems", "next_steps")
                ):
                    continue  # the fill-in note under the table, or a stray cell
                if not re.fullmatch(r"R\d+", ref):
                    result.errors.append(
                        RowError(excel_row, label("ref"), "系统编号缺失或被修改，请重新下载填报表后再填。")
                    )
                    continue
                fr = form.get(int(ref[1:]))
                if fr is None:
                    result.errors.append(
                        RowError(excel_row, label("ref"), f"本单位在{period.label}不承担此任务，不能填报。")
                    )
                    continue
                task_of_row[excel_row] = fr.task
                errors_before = len(result.errors)
                payload: dict = {}
                if "progress" in columns and texts["progress"]:
                    try:
                        payload["progress"] = _progress_from(texts["progress"])
                    except ValueError:
                        result.errors.append(
                            RowError(
                                excel_row, label("progress"),
                                f"进展“{texts['progress']}”无效，只能选：{'、'.join(PROGRESS_LABELS)}。",
                            )
                        )  # fmt: skip
                if "percent" in columns:
                    try:
                        percent = _percent_from(get(columns["percent"]))
                    except ValueError:
                        result.errors.append(
                            RowError(
                                excel_row,
                                label("percent"),
                                f"完成百分比“{texts['percent']}”应为 0 到 100 的整数。",
                            )
                        )
                    else:
                        if percent is not None:
                            payload["percent"] = percent
                for key, name in TEXT_FIELDS.items():
                    if key in columns and texts[key]:
                        if len(texts[key]) > TEXT_MAX:
                            result.errors.append(
                                RowError(
                                    excel_row,
                                    label(key),
                                    f"{name}不能超过 {TEXT_MAX} 字（现有 {len(texts[key])} 字）。",
                                )
                            )
                        else:
                            payload[key] = texts[key]
                values = {}
                for heading, raw in target_cells.items():
                    if not _shown(raw):
                        continue
                    target = by_cell.get((fr.task.pk, heading))
                    if target is None:
                        result.errors.append(
                            RowError(
                                excel_row,
                                target_col(heading),
                                f"任务 {task_label(fr.task)} 没有“{heading}”这项指标，此格不填。",
                            )
                        )
                        continue
                    try:
                        values[target.pk] = _number_from(raw)
                    except ValueError:
                        result.errors.append(
                            RowError(
                                excel_row,
                                target_col(heading),
                                f"指标“{heading}”的实际值“{_shown(raw)}”不是数字。",
                            )
                        )
                if values:
                    payload["target_values"] = values
                if len(result.errors) > errors_before:
                    continue
                if not payload:
                    result.unchanged += 1
                    continue
                report = fr.report
                if report is not None and not fr.editable:
                    current = {
                        "progress": report.get_progress_display(), "percent": report.percent, "text": report.text,
                        "problems": report.problems, "next_steps": report.next_steps,
                        "target_values": {k: v for k, v in fr.target_values.items() if k in values},
                    }  # fmt: skip
                    same = all(
                        (normalize_cell(current[k]) == normalize_cell(v))
                        if isinstance(v, str)
                        else current[k] == v
                        for k, v in payload.items()
                    )
                    if same:
                        result.unchanged += 1
                    else:
                        result.errors.append(
                            RowError(
                                excel_row, label("status"),
                                f"任务 {task_label(fr.task)} 的报告{report.get_status_display()}，不能通过上传修改。",
                            )
                        )  # fmt: skip
                    continue
                try:
                    if report is None:
                        report, _ = report_get_or_create_for(
                            task=fr.task, unit=unit, period=period, actor=actor
                        )
                    before = report.version
                    saved = report_save_draft(report=report, data=payload, version=None, actor=actor, now=now)
                except ApplicationError as e:
                    key = (
                        e.field
                        if e.field in columns
                        else ("status" if e.field in ("status", "period", "task") else "ref")
                    )
                    result.errors.append(RowError(excel_row, label(key), e.message))
                    continue
                if saved.version != before:
                    result.saved += 1
                    shown = {FORM_LABELS[k]: v for k, v in payload.items() if k != "target_values"}
                    for target_id, value in values.items():
                        heading = next(
                            h for (t, h), tg in by_cell.items() if t == fr.task.pk and tg.pk == target_id
                        )
                        shown[heading] = "" if value is None else _number_text(value)
                    result.rows.append(FormRowPreview(excel_row, fr.task, saved.get_status_display(), shown))
                else:
                    result.unchanged += 1
            if result.errors:
                raise _Rollback
    except _Rollback:
        result.saved = 0
        result.rows = []
    for e in result.errors:  # the row number alone does not say which task the unit got wrong
        task = task_of_row.get(e.row)
        if task is not None and task_label(task) not in e.message:
            e.message = f"任务 {task_label(task)}：{e.message}"
    return result
