"""The fast import and export paths: COPY on PostgreSQL and bulk_create elsewhere write the same ledger and history;
text that COPY and XML must escape survives both ways; the ledger page's export button exports its filter."""

import datetime as dt
import html
import io
import re

import openpyxl
import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from departments.models import AuditEntry
from tasks import bulk
from tasks.excel import load_states
from tasks.ledger_import import ledger_import
from tasks.models import Document, Milestone, Task, TaskUnit
from tasks.sheets import ledger_export
from tests.factories import DocumentFactory, TaskFactory

from .conftest import office_workbook

TRICKY_TEXT = "反斜杠 a\\b、制表\t符、换行\n第二行、\\N 不是空值、<b>&amp;</b>"


def _ledger_rows(doc_number: str) -> list[list]:
    return [
        ["一、", "第一部分"],
        ["(一)", "医疗服务"],
        [
            "1.",
            doc_number,
            "推进医联体建设",
            TRICKY_TEXT,
            "市卫健委",
            "市医保局、各县(市、区)政府",
            "2022年底；2023年6月",
            "推进中",
            "-1+2",
        ],
        ["2.", doc_number, "@开展监测", "", "市医疗保障局", "市财政局、叶县", "2020.12", "", "-备注"],
        ["二、", "第二部分"],
        [
            "1.",
            doc_number,
            "+完善价格机制",
            "到2022年达到90%以上。",
            "市卫生健康委员会",
            "",
            "长期坚持",
            "已完成",
            "",
        ],
    ]


def _written(document) -> list[tuple]:
    """What an import wrote for one document: tasks, their units, milestones and history, without ids."""
    states = load_states(documents=[document.pk])
    out = []
    for s in sorted(states.values(), key=lambda s: s.path):
        task = Task.objects.get(pk=s.id)
        history = list(
            AuditEntry.objects.filter(object_type="task", object_id=str(s.id)).values_list(
                "action", "object_repr", "changes", "message"
            )
        )
        out.append(
            (
                s.path,
                s.title,
                s.text,
                s.note,
                s.status,
                s.section,
                [u.name for u in s.lead],
                [u.name for u in s.responsible],
                [u.name for u in s.counties],
                [(d, t, c, done) for d, t, c, done in s.milestones],
                task.path_key,
                task.sort_key,
                task.open_due,
                task.deadline,
                task.version,
                history,
            )
        )
    return out


def test_text_that_copy_and_xml_must_escape_is_stored_and_exported_exactly(small_ledger):
    doc = small_ledger["doc"]
    result = ledger_import(data=office_workbook(_ledger_rows(doc.doc_number)), dry_run=False)
    assert result.written and result.created == 3, [str(e) for e in result.errors]
    first = Task.objects.get(document=doc, path_key="一.(一).1")
    assert first.text == TRICKY_TEXT and first.note == "-1+2"
    assert Task.objects.get(document=doc, path_key="一.(一).2").title == "@开展监测"
    # Exported and read back (formulas stay text), then imported again: nothing changes.
    data = ledger_export(qs=Task.objects.alive().filter(document=doc))
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    cells = {r[2]: r for r in ws.iter_rows(min_row=5, values_only=True) if r[12]}
    assert cells["推进医联体建设"][3] == TRICKY_TEXT and cells["推进医联体建设"][11] == "-1+2"
    assert cells["+完善价格机制"][2] == "+完善价格机制"
    again = ledger_import(data=data, dry_run=False)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path exists on PostgreSQL only")
def test_copy_path_writes_the_same_tasks_and_history_as_the_bulk_create_path(small_ledger, monkeypatch):
    doc_copy = small_ledger["doc"]
    doc_orm = DocumentFactory(doc_number="平办〔2020〕8号", title="对照文件")
    assert ledger_import(data=office_workbook(_ledger_rows(doc_copy.doc_number)), dry_run=False).created == 3
    real_init = bulk.Writer.__init__

    def orm_only(self, now):
        real_init(self, now)
        self.pg = False  # bulk_create / bulk_update, as on SQLite

    monkeypatch.setattr(bulk.Writer, "__init__", orm_only)
    assert ledger_import(data=office_workbook(_ledger_rows(doc_orm.doc_number)), dry_run=False).created == 3
    assert _written(doc_copy) == _written(doc_orm)

    # Re-import with every row changed: UPDATE from a COPY-filled table vs bulk_update.
    def changed(doc_number):
        rows = _ledger_rows(doc_number)
        for row in rows:
            if len(row) > 2:
                row[6], row[8], row[4] = "2024年底", "复核：已调整\t第二段", "市医保局"
        return office_workbook(rows)

    assert ledger_import(data=changed(doc_orm.doc_number), dry_run=False).updated == 3
    monkeypatch.setattr(bulk.Writer, "__init__", real_init)
    assert ledger_import(data=changed(doc_copy.doc_number), dry_run=False).updated == 3
    assert _written(doc_copy) == _written(doc_orm)
    assert Milestone.objects.filter(task__document=doc_copy).count() == 3
    assert (
        TaskUnit.objects.filter(task__document=doc_copy, role="lead", unit=small_ledger["insurance"]).count()
        == 3
    )


def test_import_history_records_what_the_task_services_snapshot_diff_would(small_ledger):
    """The import diffs only the snapshot keys of the fields it changes; the entry must equal the diff of the
    full before and after snapshots, as task_update writes it."""
    from tasks.services import diff_snapshots, task_snapshot

    doc = small_ledger["doc"]
    rows = _ledger_rows(doc.doc_number)
    assert ledger_import(data=office_workbook(rows), dry_run=False).created == 3
    before = {t.pk: task_snapshot(t) for t in Task.objects.filter(document=doc)}
    rows[2][2:9] = ["推进医联体建设（修订）", "新内容", "市财政局", "郏县", "2025年底", "已完成", "新备注"]
    rows[3][4] = "市卫健委"
    assert ledger_import(data=office_workbook(rows), dry_run=False).updated == 2
    recorded = {}
    for task in Task.objects.filter(document=doc):
        entries = AuditEntry.objects.filter(object_type="task", object_id=str(task.pk), action="task_update")
        expected = diff_snapshots(before[task.pk], task_snapshot(task))
        assert [e.changes for e in entries] == ([expected] if expected else [])
        recorded[task.title] = sorted(expected)
    assert recorded["推进医联体建设（修订）"] == sorted(
        ["title", "text", "note", "status", "lead_units", "responsible_units", "counties", "milestones"]
    )
    assert recorded["@开展监测"] == ["lead_units"] and recorded["+完善价格机制"] == []


def test_ledger_page_export_button_downloads_exactly_the_filtered_tasks(small_ledger, secretariat, client_as):
    doc = small_ledger["doc"]
    TaskFactory(document=doc, path=["一", "1"], title="医保的任务", lead=[small_ledger["insurance"]])
    TaskFactory(document=doc, path=["一", "2"], title="卫健的任务", lead=[small_ledger["health"]])
    other = DocumentFactory(doc_number="平办〔2021〕3号")
    TaskFactory(document=other, path=["一", "1"], title="另一文件的卫健任务", lead=[small_ledger["health"]])
    client = client_as(secretariat)
    page = client.get(reverse("tasks:list"), {"lead_unit": "市卫健委", "document": doc.pk})
    assert page.status_code == 200
    link = re.search(r'<a class="button" href="([^"]+)">导出 Excel</a>', page.content.decode())
    assert link, "the ledger page offers the export of what it shows"
    href = html.unescape(link[1])
    assert href.startswith(reverse("reports:ledger-export") + "?") and "lead_unit=" in href
    response = client.get(href)
    assert response.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert [r[2] for r in ws.iter_rows(min_row=5, values_only=True) if r[12]] == ["卫健的任务"]
    # Unfiltered page: its button exports every task.
    page = client.get(reverse("tasks:list"))
    href = html.unescape(
        re.search(r'<a class="button" href="([^"]+)">导出 Excel</a>', page.content.decode())[1]
    )
    ws = openpyxl.load_workbook(io.BytesIO(client.get(href).content)).active
    assert len([r for r in ws.iter_rows(min_row=5, values_only=True) if r[12]]) == 3
    assert Document.objects.count() == 2


def test_import_stores_the_pace_dates_the_refresh_would(small_ledger):
    """tasks_bulk_save computes 序时进度 (tasks.pace) from what it writes instead of reading the tasks back: what
    it stores must be what tasks_refresh_pace computes from the database, for new tasks, for updated ones with a
    target and a reported percent, in a plan with an issue date and in one without (start: the day created)."""
    from tasks.services import tasks_refresh_pace
    from tests.factories import TargetFactory, TaskFactory

    dated = small_ledger["doc"]
    undated = DocumentFactory(doc_number="平办〔2020〕9号", title="无印发日期的文件", issued_on=None)
    Document.objects.filter(pk=dated.pk).update(issued_on="2020-03-01")
    reported = TaskFactory(document=dated, path=["一", "(一)", "2"], title="@开展监测", status="in_progress")
    Task.objects.filter(pk=reported.pk).update(reported_percent=40, reported_period_end="2021-06-30")
    TargetFactory(
        task=reported,
        due=dt.date(2023, 12, 31),
        baseline=50,
        latest_value=70,
        latest_period_end=dt.date(2021, 6, 30),
    )
    for doc in (dated, undated):
        rows = _ledger_rows(doc.doc_number)
        rows[4 - 1][6] = "2022年6月底前；2023年底"
        assert ledger_import(data=office_workbook(rows), dry_run=False).written
    ids = list(Task.objects.values_list("pk", flat=True))
    assert len(ids) == 6
    stored = {
        t.pk: (t.pace_start, t.pace_fixed, t.pace_behind_on, t.pace_ahead_until) for t in Task.objects.all()
    }
    assert all(start is not None for start, *_ in stored.values())
    assert Task.objects.get(pk=reported.pk).pace_start == dt.date(2020, 3, 1)
    assert Task.objects.filter(document=undated, pace_start=timezone.localdate()).count() == 3
    assert tasks_refresh_pace(task_ids=ids) == 0
    # And after updates: every row changed, the reported task's status and units too.
    for doc in (dated, undated):
        rows = _ledger_rows(doc.doc_number)
        for row in rows:
            if len(row) > 2:
                row[6], row[7], row[4] = "2021年底", "滞后", "市医保局"
        assert ledger_import(data=office_workbook(rows), dry_run=False).updated == 3
    assert Task.objects.get(pk=reported.pk).pace_behind_on is not None
    assert tasks_refresh_pace(task_ids=ids) == 0
