"""The ledger as a spreadsheet (标准台账格式): rows for reform_ledger.spreadsheets, which writes the file.

Layout (DOMAIN.md): title row, export time, a two-row header (本期进展情况 / 存在问题 / 下步打算 under 本期工作情况),
section rows for the plan's headings (一、 (一) …), one row per task, and the hidden 系统编号 column a re-import
uses to recognise rows (id, version read, fingerprint of the exported cells). The import (tasks/excel.py) reads
the same columns (tasks/resources.py), so an exported ledger imports back with nothing to change.

Every ledger cell is text, as offices type it: 完成时限 holds the plan's phrases (2022年底；长期坚持), which a date
cell could not, and a re-import compares exactly that text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping

from django.utils import timezone

from departments.models import Unit, UnitKind
from reform_ledger.spreadsheets import Column, Section, Sheet, render_xlsx

from .excel import gc_paused, load_states
from .models import Document, path_numbering
from .resources import LEDGER_COLUMNS, TaskState, ref_text, task_cells

DEFAULT_TITLE = "深化医药卫生体制改革重点任务台账"
LEDGER_SHEET_COLUMNS = [
    Column(c.header, c.width, group=c.group, hidden=(c.key == "ref")) for c in LEDGER_COLUMNS
]
ReportTexts = Mapping[int, tuple[str, str, str]]  # task id -> (本期进展情况, 存在问题, 下步打算)


def ledger_states(qs) -> list[TaskState]:
    """The tasks of a queryset as TaskStates, in ledger order (document, then plan order)."""
    return list(load_states(qs=qs.order_by("document_id", "sort_key")).values())


def ledger_rows(
    states: list[TaskState], *, report_texts: ReportTexts | None = None
) -> Iterator[list | Section]:
    """Section rows for headings not yet shown, then the task's row, for each task in ledger order."""
    county_count = Unit.objects.filter(kind=UnitKind.COUNTY, deleted_at__isnull=True).count()
    report_texts = report_texts or {}
    emitted: set = set()
    for s in states:
        for depth in range(1, len(s.path)):
            key = (s.document_id, tuple(s.path[:depth]))
            if key in emitted:
                continue
            emitted.add(key)
            heading = s.section[depth - 1] if depth - 1 < len(s.section) else ""
            yield Section(path_numbering(s.path[:depth]), heading)
        cells = task_cells(s, county_count=county_count, report=report_texts.get(s.id))
        yield [cells[c.key] for c in LEDGER_COLUMNS[:-1]] + [ref_text(s, cells)]


def ledger_sheet(
    *, qs, title: str | None = None, period_label: str = "", report_texts: ReportTexts | None = None, now=None
) -> Sheet:
    states = ledger_states(qs)
    if title is None:
        documents = {s.document_id for s in states}
        if len(documents) == 1:
            doc = Document.objects.get(pk=next(iter(documents)))
            title = f"{doc.short_title or doc.title}任务台账"
        else:
            title = DEFAULT_TITLE
    local = timezone.localtime(now or timezone.now())
    subtitle = f"导出时间：{local:%Y-%m-%d %H:%M}" + (f"　本期：{period_label}" if period_label else "")
    return Sheet(
        name="台账",
        title=title,
        subtitle=subtitle,
        columns=LEDGER_SHEET_COLUMNS,
        rows=ledger_rows(states, report_texts=report_texts),
        freeze_columns=1,
    )


def ledger_export(
    *,
    qs,
    title: str | None = None,
    period_label: str = "",
    report_texts: ReportTexts | None = None,
    now: dt.datetime | None = None,
) -> bytes:
    """The ledger of `qs` in the standard layout. `report_texts` fills the period columns: the caller decides
    whose text the reader may see (the reports app supplies it)."""
    return ledger_export_counted(
        qs=qs, title=title, period_label=period_label, report_texts=report_texts, now=now
    )[0]


def ledger_export_counted(
    *, qs, title=None, period_label="", report_texts=None, now=None
) -> tuple[bytes, int]:
    """(the .xlsx, how many tasks it holds): the count goes into the export's audit record."""
    with gc_paused():
        sheet = ledger_sheet(
            qs=qs, title=title, period_label=period_label, report_texts=report_texts, now=now
        )
        data = render_xlsx([sheet])
    return data, sheet.row_count
