"""The quarterly form saves its draft rows in one batch (reports.services.report_save_drafts): the same reports,
target values and audit records as saving them one by one, a faulty row saves nothing while the others are
saved, and the number of statements does not grow with the rows."""

import logging
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from departments.models import AuditEntry
from reports.models import Report, ReportStatus, TargetValue
from reports.services import (
    DraftRow,
    report_get_or_create_for,
    report_save_draft,
    report_save_drafts,
    report_submit,
)
from tests.factories import PeriodFactory, TargetFactory, TaskFactory

pytestmark = pytest.mark.django_db


def _tasks(unit, n, **kw):
    tasks = [TaskFactory(lead=[unit], **kw) for _ in range(n)]
    for t in tasks[::2]:
        TargetFactory(task=t, indicator=f"指标{t.pk}", value=Decimal("90"))
    return tasks


def _prefetched(tasks):
    """The tasks as the form reads them: with their targets in hand."""
    from tasks.models import Task

    return list(Task.objects.filter(pk__in=[t.pk for t in tasks]).prefetch_related("targets").order_by("pk"))


def _content(task, n):
    return {
        "progress": "推进中",
        "percent": 10 * n,
        "text": f"第{n}项进展",
        "next_steps": "下一步",
        "target_values": [{"target": t.pk, "value": str(80 + n)} for t in task.targets.all()],
    }


def _audit(report_ids):
    """The audit records of these reports, in the order written, without what differs between two reports."""
    position = {pk: i for i, pk in enumerate(report_ids)}
    return [
        (position[int(e.object_id)], e.action, e.actor_name, e.object_type, e.changes, e.message)
        for e in AuditEntry.objects.filter(
            object_type="report", object_id__in=[str(pk) for pk in report_ids]
        ).order_by("id")
    ]


def test_batch_writes_what_one_by_one_writes(reporter, unit_a, period):
    """Half the rows exist (with target values to change and to clear), half are started by the save."""
    other = PeriodFactory(year=2024, quarter=2, is_open=True)
    tasks = _prefetched(_tasks(unit_a, 6))
    for p in (period, other):
        for n, t in enumerate(tasks[:3]):
            r, _ = report_get_or_create_for(task=t, unit=unit_a, period=p, actor=reporter)
            report_save_draft(report=r, data=_content(t, n), version=None, actor=reporter)
    edits = []
    for n, t in enumerate(tasks):
        data = _content(t, n + 1)
        if n == 0 and t.targets.all():
            data["target_values"] = [{"target": t.targets.all()[0].pk, "value": ""}]  # cleared
        edits.append((t, data))

    # one by one, in `other`
    one_by_one = []
    for t, data in edits:
        r, _ = report_get_or_create_for(task=t, unit=unit_a, period=other, actor=reporter)
        one_by_one.append(report_save_draft(report=r, data=data, version=None, actor=reporter).pk)
    # batch, in `period`
    existing = {r.task_id: r for r in Report.objects.filter(period=period, unit=unit_a)}
    rows = report_save_drafts(
        rows=[
            DraftRow(
                task=t,
                report=existing.get(t.pk),
                data=data,
                version=getattr(existing.get(t.pk), "version", None),
            )
            for t, data in edits
        ],
        unit=unit_a,
        period=period,
        actor=reporter,
    )
    assert [r.error for r in rows] == [None] * 6
    assert [r.created for r in rows] == [False] * 3 + [True] * 3
    batch = [r.report.pk for r in rows]

    def stored(pk):
        r = Report.objects.get(pk=pk)
        values = dict(TargetValue.objects.filter(report=r).values_list("target_id", "value"))
        return (
            r.task_id,
            r.status,
            r.progress,
            r.percent,
            r.text,
            r.problems,
            r.next_steps,
            r.version,
            values,
        )

    assert [stored(pk) for pk in batch] == [stored(pk) for pk in one_by_one]
    ours, theirs = _audit(batch), _audit(one_by_one)
    # The setup's records came first for the three existing reports; after them the save's, row by row.
    assert ours == theirs
    assert [a for _, a, *_ in ours].count("report_create") == 6
    assert [a for _, a, *_ in ours].count("report_save_draft") == 9
    reprs = AuditEntry.objects.filter(object_type="report", object_id__in=[str(pk) for pk in batch])
    assert {e.object_repr for e in reprs if e.object_id == str(batch[5])} == {
        str(Report.objects.get(pk=batch[5]))
    }


def test_a_faulty_row_writes_nothing_and_the_others_are_saved(reporter, outsider, unit_a, period):
    tasks = _prefetched(_tasks(unit_a, 5))
    reports = []
    for t in tasks[:4]:
        r, _ = report_get_or_create_for(task=t, unit=unit_a, period=period, actor=reporter)
        reports.append(report_save_draft(report=r, data={"text": "原来的"}, version=None, actor=reporter))
    report_submit(report=reports[1], actor=reporter)  # submitted by a colleague after the page was read
    not_ours = TaskFactory(title="别的单位的任务")
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    rows = report_save_drafts(
        rows=[
            DraftRow(
                task=tasks[0], report=reports[0], data={"text": "旧页面"}, version=reports[0].version - 1
            ),
            DraftRow(task=tasks[1], report=reports[1], data={"text": "已提交的"}, version=None),
            DraftRow(task=tasks[2], report=reports[2], data={"percent": "一百"}, version=reports[2].version),
            DraftRow(task=tasks[3], report=reports[3], data={"text": "新的"}, version=reports[3].version),
            DraftRow(task=tasks[4], report=None, data={"text": "新开始的"}),
            DraftRow(task=not_ours, report=None, data={"text": "不该有的"}),
        ],
        unit=unit_a,
        period=period,
        actor=reporter,
    )
    assert "已被修改" in rows[0].error.message and rows[0].error.field == "version"
    assert "已提交" in rows[1].error.message and rows[1].error.field == "status"
    assert rows[2].error.field == "percent" and "“一百”" in rows[2].error.message
    assert rows[3].error is None and rows[4].error is None and rows[4].created
    assert "只能填报本单位承担的任务" in rows[5].error.message
    texts = dict(Report.objects.filter(unit=unit_a, period=period).values_list("task_id", "text"))
    assert texts == {
        tasks[0].pk: "原来的",
        tasks[1].pk: "原来的",
        tasks[2].pk: "原来的",
        tasks[3].pk: "新的",
        tasks[4].pk: "新开始的",
    }
    assert Report.objects.get(task=tasks[1], unit=unit_a).status == ReportStatus.SUBMITTED
    assert not Report.objects.filter(task=not_ours).exists()
    written = list(AuditEntry.objects.filter(id__gt=before).order_by("id").values_list("action", "object_id"))
    new = Report.objects.get(task=tasks[4], unit=unit_a).pk
    assert written == [
        ("report_save_draft", str(reports[3].pk)),
        ("report_create", str(new)),
        ("report_save_draft", str(new)),
    ]


def test_an_unchanged_row_writes_nothing(reporter, unit_a, period):
    (t,) = _prefetched(_tasks(unit_a, 1))
    r, _ = report_get_or_create_for(task=t, unit=unit_a, period=period, actor=reporter)
    r = report_save_draft(report=r, data=_content(t, 1), version=None, actor=reporter)
    before = AuditEntry.objects.count()
    (row,) = report_save_drafts(
        rows=[DraftRow(task=t, report=r, data=_content(t, 1), version=r.version)],
        unit=unit_a,
        period=period,
        actor=reporter,
    )
    assert row.error is None
    assert Report.objects.get(pk=r.pk).version == r.version
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize("started", [False, True])
def test_statements_do_not_grow_with_the_rows(reporter, unit_a, period, started):
    def save(n, round_):
        tasks = _prefetched(_tasks(unit_a, n))
        if started:
            for t in tasks:
                report_get_or_create_for(task=t, unit=unit_a, period=period, actor=reporter)
        existing = {r.task_id: r for r in Report.objects.filter(unit=unit_a, period=period)}
        rows = [
            DraftRow(task=t, report=existing.get(t.pk), data=_content(t, round_), version=None) for t in tasks
        ]
        with CaptureQueriesContext(connection) as ctx:
            report_save_drafts(rows=rows, unit=unit_a, period=period, actor=reporter)
        assert all(r.error is None for r in rows)
        return len(ctx.captured_queries)

    assert save(3, 1) == save(20, 2)


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_two_units_saving_shared_tasks_in_opposite_orders_never_deadlock(
    unit_a, unit_b, reporter, outsider, caplog
):
    """Each form takes all its locks in one statement, tasks and unit revisions in id order: two forms over the
    same tasks wait for each other, they never deadlock (a deadlock would be retried and logged)."""
    if connection.vendor != "postgresql":
        pytest.skip("行锁顺序测试需要 PostgreSQL（设置 DATABASE_URL）")
    period = PeriodFactory(year=2024, quarter=3, is_open=True)
    tasks = [TaskFactory(lead=[unit_a], responsible=[unit_b]) for _ in range(25)]
    barrier = threading.Barrier(2)
    errors = []

    def form(unit, actor, order, round_):
        try:
            from tasks.models import Task

            mine = list(Task.objects.filter(pk__in=[t.pk for t in tasks]).prefetch_related("targets"))
            mine.sort(key=lambda t: t.pk, reverse=order)
            existing = {r.task_id: r for r in Report.objects.filter(unit=unit, period=period)}
            barrier.wait(timeout=10)
            rows = report_save_drafts(
                rows=[
                    DraftRow(task=t, report=existing.get(t.pk), data={"text": f"{unit.name}第{round_}轮"})
                    for t in mine
                ],
                unit=unit,
                period=period,
                actor=actor,
            )
            errors.extend(r.error for r in rows if r.error)
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    with caplog.at_level(logging.WARNING, logger="reform_ledger.db"):
        for round_ in range(4):
            threads = [
                threading.Thread(target=form, args=(unit_a, reporter, False, round_)),
                threading.Thread(target=form, args=(unit_b, outsider, True, round_)),
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
    assert errors == []
    assert not [r for r in caplog.records if "死锁" in r.getMessage()]
    assert Report.objects.filter(period=period, text__endswith="第3轮").count() == 50
