"""Everything that writes progress reports and their attachments (periods: reports.period_services; what a report
changes in the ledger: reports.report_effects; what an attachment may be: reports.attachments).

The review workflow (状态流转)::

    draft ──submit──▶ submitted ──accept──▶ accepted (locked)
      ▲                  │                     │
      └──── returned ◀───┘ return(reason)      │ reopen(reason, audited)
                ▲                              │
                └──────────────────────────────┘

- Reporters of the report's unit write drafts and submit; the secretariat returns, accepts and reopens.
- Every change bumps ``Report.version``; a caller passing a stale ``version`` gets ConflictError (409).
- Every change leaves an audit record; submit/return/accept/reopen also leave a ReportRevision snapshot.
- Timeliness (is_late) is decided by the *first* submission against ``period.due_at`` (end of the due date,
  Asia/Shanghai): a unit that reported on time and was asked to fix something is not made late by the fix.
- Target.latest_value follows the newest submitted/accepted report (newest period first, the lead unit's
  report preferred within a period); returned reports do not count.
- Task status: when a lead unit's report is accepted, the task's status follows the lead units' accepted
  reports of the newest period that has them (all leads 已完成 → 已完成; any 滞后 → 滞后; otherwise 推进中).
  Only the secretariat's acceptance moves the ledger, never a reporter's own claim.

Names used by other engineers: report_get_or_create_for, report_save_draft, report_save_drafts (many rows of one
unit at once: the quarterly form), report_submit, report_return, report_accept, report_reopen, attachment_add,
attachment_remove, task_label.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from dataclasses import field as dc_field
from decimal import Decimal
from pathlib import PurePath

from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from departments.models import AuditEntry, Unit
from departments.permissions import has
from departments.services import (
    ApplicationError,
    ConflictError,
    PermissionDeniedError,
    audit_entry,
    audit_log,
    audit_log_many,
)
from reform_ledger.db import retry_transaction
from tasks.models import Progress, Task, TaskUnit
from tasks.services import parse_decimal

from . import reminders
from .attachments import _human_size, attachment_check
from .jobs import deliveries_enqueue
from .models import (
    Attachment,
    Period,
    Report,
    ReportRevision,
    ReportStatus,
    TargetValue,
)
from .report_effects import _task_status_from_lead_reports, targets_refresh_latest
from .selectors import report_can_edit, report_can_review, reporter_may_write_for

log = logging.getLogger(__name__)

EDITABLE = (ReportStatus.DRAFT, ReportStatus.RETURNED)
TEXT_FIELDS = {"text": "本期进展情况", "problems": "存在问题", "next_steps": "下步打算"}
TEXT_MAX = 5000


def _require_reviewer(actor):
    if not report_can_review(user=actor):
        raise PermissionDeniedError("只有医改办工作人员可以执行此操作。")


# ---------------------------------------------------------------------------------------------------------------
# Reports: creation and content
# ---------------------------------------------------------------------------------------------------------------


def task_label(task: Task) -> str:
    """A task as a message names it for people: its 序号 and title (二.(一).1《推进分级诊疗》), as the
    extension and notice messages do."""
    return f"{task.path_key}《{task.title[:30]}{'…' if len(task.title) > 30 else ''}》"


def report_get_or_create_for(*, task: Task, unit: Unit, period: Period, actor=None) -> tuple[Report, bool]:
    """The one report of (task, unit, period), created as a draft if it does not exist yet.

    Race-safe: the database's unique constraint decides; a concurrent creator's IntegrityError is caught inside a
    savepoint and the row the winner committed is returned. Returns (report, created).
    """
    existing = Report.objects.filter(task=task, unit=unit, period=period).first()
    if existing is not None:
        return existing, False
    if actor is not None and not reporter_may_write_for(user=actor, task=task, unit=unit):
        raise PermissionDeniedError("只能填报本单位承担的任务。")
    if not TaskUnit.objects.filter(task=task, unit=unit).exists():
        raise ApplicationError(f"{unit.name}不承担任务 {task_label(task)}，不能填报。", field="task")
    if not period.is_open:
        raise ApplicationError(f"{period.label}未开放填报。", field="period")
    _lock_task_and_units(task_id=task.pk, unit_id=unit.pk)
    try:
        with transaction.atomic():
            report = Report.objects.create(task=task, unit=unit, period=period, updated_by=actor)
            audit_log(actor=actor, action="report_create", obj=report)
    except IntegrityError:
        # Another request created it between our read and our insert: the constraint kept it to one row.
        return Report.objects.get(task=task, unit=unit, period=period), False
    return report, True


def _progress_value(raw) -> str:
    value = str(raw or "").strip()
    for choice in Progress:
        if value in (choice.value, choice.label):
            return choice.value
    labels = "、".join(Progress.labels)
    raise ApplicationError(f"进展“{raw}”无效，应为：{labels}。", field="progress")


def _percent_value(raw) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise ApplicationError(f"完成百分比“{raw}”不是数字，应为 0–100 的整数。", field="percent")
    try:
        number = Decimal(str(raw).strip().rstrip("%"))
    except ArithmeticError:
        raise ApplicationError(f"完成百分比“{raw}”不是数字，应为 0–100 的整数。", field="percent") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ApplicationError(f"完成百分比“{raw}”应为 0–100 的整数。", field="percent")
    if not 0 <= number <= 100:
        raise ApplicationError(f"完成百分比“{raw}”超出范围，应在 0 到 100 之间。", field="percent")
    return int(number)


def _target_values(raw, task: Task) -> dict[int, Decimal | None]:
    """[{target, value}] (API) or {target_id: value} (form) -> {target_id: Decimal or None (clear)}."""
    targets = {t.pk: t for t in task.targets.all()}
    if isinstance(raw, dict):
        items = [{"target": k, "value": v} for k, v in raw.items()]
    elif isinstance(raw, list):
        items = raw
    else:
        raise ApplicationError("指标实际值应为列表，每项写明一个指标的编号和实际值。", field="target_values")
    out: dict[int, Decimal | None] = {}
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict) or "target" not in item:
            raise ApplicationError(f"指标实际值第 {i} 项应写明指标编号和实际值。", field="target_values")
        try:
            target_id = int(str(item["target"]).strip())
        except (TypeError, ValueError):
            raise ApplicationError(
                f"指标实际值第 {i} 项的指标编号“{item['target']}”无效。", field="target_values"
            ) from None
        target = targets.get(target_id)
        if target is None:
            raise ApplicationError(
                f"指标实际值第 {i} 项：指标 {target_id} 不属于任务 {task_label(task)}。",
                field="target_values",
            )
        value = item.get("value")
        if isinstance(value, bool):
            raise ApplicationError(
                f"指标“{target.indicator}”的实际值“{value}”不是数字。", field="target_values"
            )
        out[target_id] = parse_decimal(
            value, field_name="target_values", label=f"指标“{target.indicator}”的实际值"
        )
    return out


def report_clean_data(*, task: Task, data: dict) -> dict:
    """Validate report input (API body or form row). Only the keys present are returned (PATCH semantics).

    Raises ApplicationError with a Chinese message naming the field; nothing is written.
    """
    if not isinstance(data, dict):
        raise ApplicationError("请求内容应为 JSON 对象。")
    clean: dict = {}
    if "progress" in data:
        clean["progress"] = _progress_value(data["progress"])
    if "percent" in data:
        clean["percent"] = _percent_value(data["percent"])
    for name, label in TEXT_FIELDS.items():
        if name in data:
            value = data[name]
            if value is None:
                value = ""
            if not isinstance(value, str):
                raise ApplicationError(f"{label}应为文字。", field=name)
            value = value.strip()
            if len(value) > TEXT_MAX:
                raise ApplicationError(f"{label}不能超过 {TEXT_MAX} 字（现有 {len(value)} 字）。", field=name)
            clean[name] = value
    if "target_values" in data and data["target_values"] is not None:
        clean["target_values"] = _target_values(data["target_values"], task)
    return clean


def report_snapshot(report: Report, *, values: dict | None = None) -> dict:
    """The report's content as plain values: stored in revisions, compared in audit records.

    ``values`` ({target id: Decimal}) when the caller has the report's target values in hand (no query)."""
    if values is None:
        values = {tv.target_id: tv.value for tv in report.target_values.order_by("target_id")}
    return {
        "status": report.status,
        "progress": report.progress,
        "percent": report.percent,
        "text": report.text,
        "problems": report.problems,
        "next_steps": report.next_steps,
        "target_values": {str(k): format(values[k].normalize(), "f") for k in sorted(values)},
        "submitted_at": report.submitted_at.isoformat() if report.submitted_at else None,
        "is_late": report.is_late,
        "return_reason": report.return_reason,
        "version": report.version,
    }


def _diff(before: dict, after: dict) -> dict:
    return {
        k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k) and k != "version"
    }


def _lock_task_and_units(*, task_id: int, unit_id: int) -> None:
    """The locks one report write needs (see _lock_tasks_and_units)."""
    _lock_tasks_and_units(task_ids=[task_id], unit_id=unit_id)


def _lock_tasks_and_units(*, task_ids, unit_id: int) -> None:
    """Take, in one fixed order, every lock the report writes on ``task_ids`` will need: the task rows in id
    order, then the revision rows of all those tasks' units (the roll-up and dashboard caches, raised by the
    triggers of reports/invalidation.py) in id order, then the plan revision rows of those tasks' plans and first
    units, then (by the caller) the report rows in id order.

    Without this, a report write first bumps its own unit's revision (the report row's trigger) and later, when a
    target's latest value or the task's schedule changes, the revisions of every unit of the task. Two units
    submitting on shared tasks then hold each other's rows in opposite order: the load test's deadlocks. Taking
    them all up front, sorted, makes a cycle impossible among report writes (a write of one task and a form of 60
    take them in the same order: tasks, then revisions, then reports); retry_transaction covers the rare meeting
    with a ledger edit. The three statements go in one round trip. SQLite locks the whole database per write
    transaction and needs none of this.
    """
    if connection.vendor != "postgresql":
        return
    task_ids = sorted({int(t) for t in task_ids})
    if not task_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT 1 FROM tasks_task WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE;
            WITH ids AS (
                SELECT unit_id FROM tasks_taskunit WHERE task_id = ANY(%s) UNION SELECT %s::bigint
            ), created AS (
                INSERT INTO reports_unitrevision (unit_id, rev)
                SELECT unit_id, 0 FROM ids ORDER BY unit_id ON CONFLICT (unit_id) DO NOTHING
            )
            SELECT r.unit_id FROM reports_unitrevision r JOIN ids USING (unit_id)
            ORDER BY r.unit_id FOR NO KEY UPDATE OF r;
            WITH keys AS (
                SELECT DISTINCT t.document_id, COALESCE(MIN(tu.unit_id), 0) AS unit_id FROM tasks_task t
                LEFT JOIN tasks_taskunit tu ON tu.task_id = t.id WHERE t.id = ANY(%s) GROUP BY t.id, t.document_id
            ), created AS (
                INSERT INTO reports_planrevision (document_id, unit_id, rev)
                SELECT document_id, unit_id, 0 FROM keys ORDER BY document_id, unit_id
                ON CONFLICT (document_id, unit_id) DO NOTHING
            )
            SELECT 1 FROM reports_planrevision p JOIN keys USING (document_id, unit_id)
            ORDER BY p.document_id, p.unit_id FOR NO KEY UPDATE OF p
            """,
            [task_ids, task_ids, unit_id, task_ids],
        )


def report_lock_tasks(*, task_ids, unit: Unit) -> None:
    """Take up front, in the one order, the locks for writing ``unit``'s reports on ``task_ids`` in this
    transaction (the quarterly form, before it saves, attaches and submits its rows one service call at a
    time): the later calls find their locks held and cannot meet another writer in the opposite order."""
    _lock_tasks_and_units(task_ids=task_ids, unit_id=unit.pk)


def _lock(report: Report, version: int | None) -> Report:
    _lock_task_and_units(task_id=report.task_id, unit_id=report.unit_id)
    # Only the report row: select_related() would also lock the task, unit and period rows FOR UPDATE, and every
    # report of a quarter shares one period row (inserting any report takes FOR KEY SHARE on it): that serialised
    # all writes of the quarter and deadlocked report creation under load.
    locked = (
        Report.objects.select_for_update(of=("self",), no_key=True)
        .select_related("task", "unit", "period")
        .get(pk=report.pk)
    )
    _check_version(locked, version)
    return locked


def _revision(report: Report, *, action: str, actor, reason: str = "") -> ReportRevision:
    number = (report.revisions.aggregate(n=Max("number"))["n"] or 0) + 1
    return ReportRevision.objects.create(
        report=report, number=number, action=action, data=report_snapshot(report), reason=reason, actor=actor
    )


def _bump(report: Report, actor, fields: list[str]) -> None:
    report.version += 1
    report.updated_by = actor if actor is not None and actor.pk else None
    report.save(update_fields=[*fields, "version", "updated_by", "updated_at"])


def _check_version(locked: Report, version) -> None:
    if version is None:
        return
    try:
        version = int(version)
    except (TypeError, ValueError):
        raise ApplicationError(f"版本号“{version}”无效。", field="version") from None
    if version != locked.version:
        raise ConflictError(
            f"保存被拒绝：此报告在您打开后已被修改（当前版本 {locked.version}，您的版本 {version}）。请刷新后重新填写。",
            field="version",
            extra={"current_version": locked.version},
        )


def _check_draftable(locked: Report, actor) -> None:
    if not report_can_edit(user=actor, report=locked):
        raise PermissionDeniedError("只能修改本单位的报告。")
    if locked.status == ReportStatus.ACCEPTED:
        raise ApplicationError("报告已审核通过并锁定；如需修改，请联系医改办重新打开。", field="status")
    if locked.status == ReportStatus.SUBMITTED:
        raise ApplicationError("报告已提交，正在等待医改办审核，不能修改。", field="status")


@dataclass
class _Draft:
    """What saving a draft changes, worked out before anything is written (report_save_draft writes one,
    report_save_drafts many at once)."""

    report: Report
    fields: list[str]
    before: dict
    after_values: dict
    created_values: list[TargetValue] = dc_field(default_factory=list)
    updated_values: list[TargetValue] = dc_field(default_factory=list)
    deleted_values: list[int] = dc_field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.fields or self.created_values or self.updated_values or self.deleted_values)

    def audit(self, actor) -> AuditEntry:
        return audit_entry(
            actor=actor,
            action="report_save_draft",
            obj=self.report,
            changes=_diff(self.before, report_snapshot(self.report, values=self.after_values)),
        )


def _plan_draft(locked: Report, clean: dict, current: dict[int, TargetValue]) -> _Draft:
    """Apply ``clean`` to ``locked`` and its target values ``current`` in memory; nothing is written."""
    before = report_snapshot(locked, values={k: tv.value for k, tv in current.items()})
    plan = _Draft(
        report=locked, fields=[], before=before, after_values={k: tv.value for k, tv in current.items()}
    )
    for name in ("progress", "percent", "text", "problems", "next_steps"):
        if name in clean and getattr(locked, name) != clean[name]:
            setattr(locked, name, clean[name])
            plan.fields.append(name)
    for target_id, value in clean.get("target_values", {}).items():
        row = current.get(target_id)
        if value is None:
            if row is not None:
                plan.deleted_values.append(row.pk)
                plan.after_values.pop(target_id, None)
        elif row is None:
            plan.created_values.append(TargetValue(report=locked, target_id=target_id, value=value))
            plan.after_values[target_id] = value
        elif row.value != value:
            row.value = value
            plan.updated_values.append(row)
            plan.after_values[target_id] = value
    return plan


def _reuse_task(locked: Report, known: Task | None) -> None:
    """A caller that read the task with its targets (the quarterly form: 60 rows) saves a query per row."""
    if (
        known is not None
        and known.pk == locked.task_id
        and "targets" in getattr(known, "_prefetched_objects_cache", {})
    ):
        locked.task = known


@retry_transaction
def report_save_draft(
    *, report: Report, data: dict, version: int | None, actor, now: dt.datetime | None = None
) -> Report:
    """Save the content of a draft or returned report read at ``version`` (None skips the check: internal use).

    Only the keys present in ``data`` change. Nothing changes → no new version, no audit record.
    """
    locked = _lock(report, version)
    _check_draftable(locked, actor)
    _reuse_task(locked, report._state.fields_cache.get("task"))
    clean = report_clean_data(task=locked.task, data=data)
    plan = _plan_draft(locked, clean, {tv.target_id: tv for tv in locked.target_values.all()})
    if not plan.changed:
        return locked
    _write_target_values([plan])
    _bump(locked, actor, plan.fields)
    audit_log_many([plan.audit(actor)])
    return locked


def _write_target_values(plans: list[_Draft]) -> None:
    deleted = [pk for p in plans for pk in p.deleted_values]
    if deleted:
        TargetValue.objects.filter(pk__in=deleted).delete()
    created = [tv for p in plans for tv in p.created_values]
    if created:
        TargetValue.objects.bulk_create(created)
    updated = [tv for p in plans for tv in p.updated_values]
    if updated:
        TargetValue.objects.bulk_update(updated, ["value"])


@dataclass
class DraftRow:
    """One row of a batch save (report_save_drafts): the task, its report if the caller has one (None: started
    here), the content as report_save_draft takes it and the version the caller read (None: not checked).
    After the save, ``report`` is the row's report as stored, or ``error`` says why the row saved nothing."""

    task: Task
    report: Report | None
    data: dict
    version: int | str | None = None
    error: ApplicationError | None = None
    created: bool = False


@retry_transaction
def report_save_drafts(*, rows: list[DraftRow], unit: Unit, period: Period, actor) -> list[DraftRow]:
    """Save many draft rows of one unit and period at once (the quarterly form), each exactly as
    report_get_or_create_for + report_save_draft would, in a fixed number of statements: one lock statement for
    all tasks and unit revisions, one read of the reports (locked, id order) and one of their target values,
    then one bulk write per table (reports, target values, audit records).

    A row that fails a check (a stale version, a report submitted or accepted meanwhile, a bad value, a task the
    unit does not carry) gets its ``error`` and writes nothing; the others are saved. Every check is made before
    the first write, so no row is ever half-written. A row whose content is already stored writes nothing.
    """
    if not rows:
        return rows
    _lock_tasks_and_units(task_ids=[r.task.pk for r in rows], unit_id=unit.pk)
    task_ids = [r.task.pk for r in rows]
    carried = set(TaskUnit.objects.filter(task_id__in=task_ids, unit=unit).values_list("task_id", flat=True))
    existing = dict(
        Report.objects.filter(task_id__in=task_ids, unit=unit, period=period).values_list("task_id", "pk")
    )
    entries_of: dict[int, list[AuditEntry]] = {}  # row index -> its audit records, written in row order
    new_rows = []
    for i, row in enumerate(rows):
        if row.task.pk in existing:
            continue
        try:
            if actor is not None and not (
                has(actor, "reports.write")
                and actor.unit_id == unit.pk
                and row.task.pk in carried
                and row.task.deleted_at is None
            ):
                raise PermissionDeniedError("只能填报本单位承担的任务。")
            if row.task.pk not in carried:
                raise ApplicationError(
                    f"{unit.name}不承担任务 {task_label(row.task)}，不能填报。", field="task"
                )
            if not period.is_open:
                raise ApplicationError(f"{period.label}未开放填报。", field="period")
            report_clean_data(task=row.task, data=row.data)  # a faulty new row is not even started
        except ApplicationError as e:
            row.error = e
            continue
        new_rows.append(i)
    if new_rows:
        started = [
            Report(
                task=rows[i].task, unit=unit, period=period, updated_by=actor if actor and actor.pk else None
            )
            for i in new_rows
        ]
        Report.objects.bulk_create(started)  # the task locks keep every other creator out until we commit
        for i, report in zip(new_rows, started, strict=True):
            existing[rows[i].task.pk] = report.pk
            rows[i].created = True
    locked = {
        r.task_id: r
        for r in Report.objects.select_for_update(of=("self",), no_key=True)
        .select_related("task", "unit", "period")
        .filter(pk__in=[existing[r.task.pk] for r in rows if r.task.pk in existing and r.error is None])
        .order_by("pk")
    }
    values: dict[int, dict[int, TargetValue]] = {}
    for tv in TargetValue.objects.filter(report_id__in=[r.pk for r in locked.values()]):
        values.setdefault(tv.report_id, {})[tv.target_id] = tv
    plans = []
    for i, row in enumerate(rows):
        if row.error is not None:
            continue
        report = locked[row.task.pk]
        _reuse_task(report, row.task)
        row.report = report
        if row.created:
            entries_of[i] = [audit_entry(actor=actor, action="report_create", obj=report)]
        try:
            _check_version(report, None if row.created else row.version)
            _check_draftable(report, actor)
            plan = _plan_draft(
                report, report_clean_data(task=report.task, data=row.data), values.get(report.pk, {})
            )
        except ApplicationError as e:
            row.error = e
            continue
        if plan.changed:
            plans.append(plan)
            entries_of.setdefault(i, [])
    if plans:
        _write_target_values(plans)
        now = timezone.now()
        by_fields: dict[tuple, list[Report]] = {}
        for plan in plans:
            r = plan.report
            r.version += 1
            r.updated_by = actor if actor is not None and actor.pk else None
            r.updated_at = now
            by_fields.setdefault(tuple(plan.fields), []).append(r)
        for fields, reports in by_fields.items():
            Report.objects.bulk_update(reports, [*fields, "version", "updated_by", "updated_at"])
        audits = {id(p.report): p.audit(actor) for p in plans}
        for i in entries_of:
            if id(rows[i].report) in audits:
                entries_of[i].append(audits[id(rows[i].report)])
    audit_log_many([e for i in sorted(entries_of) for e in entries_of[i]])
    return rows


@retry_transaction
def report_submit(
    *, report: Report, actor, now: dt.datetime | None = None, version: int | None = None
) -> Report:
    """Submit a draft or returned report. Late if first submitted at or after the end of the due date."""
    now = now or timezone.now()
    locked = _lock(report, version)
    if not report_can_edit(user=actor, report=locked):
        raise PermissionDeniedError("只能提交本单位的报告。")
    if locked.status == ReportStatus.SUBMITTED:
        raise ApplicationError("报告已提交，正在等待审核，无需重复提交。", field="status")
    if locked.status == ReportStatus.ACCEPTED:
        raise ApplicationError("报告已审核通过并锁定，不能再次提交。", field="status")
    if not locked.text.strip():
        raise ApplicationError(f"任务 {task_label(locked.task)}：提交前请填写本期进展情况。", field="text")
    before = report_snapshot(locked)
    locked.status = ReportStatus.SUBMITTED
    locked.submitted_at = now
    if locked.first_submitted_at is None:
        locked.first_submitted_at = now
    locked.is_late = locked.first_submitted_at >= locked.period.due_at
    _bump(locked, actor, ["status", "submitted_at", "first_submitted_at", "is_late"])
    _revision(locked, action="submit", actor=actor)
    audit_log(actor=actor, action="report_submit", obj=locked, changes=_diff(before, report_snapshot(locked)))
    targets_refresh_latest(task=locked.task)
    return locked


def _notify_returned(report: Report, *, now) -> None:
    """Tell the unit at once that its report came back (returned, or reopened after acceptance).

    One path for every channel: the reminders service claims a reminder keyed by the report version (so a
    retried request never tells the unit twice), writes the inbox notice in this transaction (no broker
    needed) and queues e-mail/webhook deliveries after commit; pending deliveries are retried by
    `deliveries_retry` if the broker is down.
    """
    reminders.report_returned_notify(
        report_id=report.pk, now=now or timezone.now(), deliver=deliveries_enqueue
    )


def _send_back(
    *,
    report: Report,
    reason: str,
    actor,
    version,
    now,
    from_status: str,
    from_label: str,
    action: str,
    verb: str,
) -> Report:
    """Return a submitted report, or reopen an accepted one: either way it goes back to its unit as returned,
    with a reason, a revision, an audit record and a notice to the unit."""
    _require_reviewer(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            f"{verb}报告必须填写{'退回' if action == 'return' else ''}原因。", field="reason"
        )
    locked = _lock(report, version)
    if locked.status != from_status:
        raise ApplicationError(
            f"只有{from_label}的报告可以{verb}（当前状态：{locked.get_status_display()}）。",
            field="status",
        )
    before = report_snapshot(locked)
    locked.status = ReportStatus.RETURNED
    locked.return_reason = reason
    locked.reviewed_by = actor
    locked.reviewed_at = now or timezone.now()
    _bump(locked, actor, ["status", "return_reason", "reviewed_by", "reviewed_at"])
    _revision(locked, action=action, actor=actor, reason=reason)
    audit_log(
        actor=actor,
        action=f"report_{action}",
        obj=locked,
        changes=_diff(before, report_snapshot(locked)),
        message=reason,
    )
    _notify_returned(locked, now=now)
    targets_refresh_latest(task=locked.task)
    return locked


@retry_transaction
def report_return(*, report: Report, reason: str, actor, version: int | None = None, now=None) -> Report:
    """Send a submitted report back to its unit with a reason. The unit is told at once."""
    return _send_back(
        report=report, reason=reason, actor=actor, version=version, now=now,
        from_status=ReportStatus.SUBMITTED, from_label="已提交", action="return", verb="退回",
    )  # fmt: skip


@retry_transaction
def report_accept(*, report: Report, actor, version: int | None = None, now=None) -> Report:
    """Accept a submitted report: it is locked; only an audited reopen changes it again."""
    _require_reviewer(actor)
    locked = _lock(report, version)
    if locked.status != ReportStatus.SUBMITTED:
        raise ApplicationError(
            f"只有已提交的报告可以审核通过（当前状态：{locked.get_status_display()}）。", field="status"
        )
    before = report_snapshot(locked)
    locked.status = ReportStatus.ACCEPTED
    locked.return_reason = ""
    locked.reviewed_by = actor
    locked.reviewed_at = now or timezone.now()
    _bump(locked, actor, ["status", "return_reason", "reviewed_by", "reviewed_at"])
    _revision(locked, action="accept", actor=actor)
    audit_log(actor=actor, action="report_accept", obj=locked, changes=_diff(before, report_snapshot(locked)))
    targets_refresh_latest(task=locked.task)
    _task_status_from_lead_reports(task=locked.task, report=locked, actor=actor)
    return locked


def report_accept_many(
    *, reports: list[tuple[Report, int | None]], actor, now=None
) -> tuple[list[Report], list[tuple[Report, str]]]:
    """Accept several submitted reports (batch review), each on its own: one that changed since the reviewer
    read it (stale version) or is no longer submitted is reported back and does not stop the others.

    Returns (accepted, [(report, Chinese reason)]).
    """
    _require_reviewer(actor)
    accepted, failed = [], []
    for report, version in reports:
        try:
            accepted.append(report_accept(report=report, actor=actor, version=version, now=now))
        except ApplicationError as e:
            failed.append((report, e.message))
    return accepted, failed


@retry_transaction
def report_reopen(*, report: Report, reason: str, actor, version: int | None = None, now=None) -> Report:
    """Unlock an accepted report for correction, with a reason; it goes back to the unit as returned."""
    return _send_back(
        report=report, reason=reason, actor=actor, version=version, now=now,
        from_status=ReportStatus.ACCEPTED, from_label="已审核通过", action="reopen", verb="重新打开",
    )  # fmt: skip


@retry_transaction
def attachment_add(*, report: Report, file, actor) -> Attachment:
    """Store an uploaded file on a report under a random name, after checking type, size and content."""
    _lock_task_and_units(task_id=report.task_id, unit_id=report.unit_id)
    locked = Report.objects.select_for_update(no_key=True).get(pk=report.pk)
    if not report_can_edit(user=actor, report=locked):
        raise PermissionDeniedError("只能给本单位的报告上传附件。")
    if locked.status not in EDITABLE:
        raise ApplicationError(f"报告{locked.get_status_display()}，不能再添加附件。", field="attachments")
    name = PurePath(getattr(file, "name", "") or "").name[:255]
    size = getattr(file, "size", None)
    if size is None:
        file.seek(0, 2)
        size = file.tell()
    file.seek(0)
    head = file.read(8192)
    file.seek(0)
    content_type = attachment_check(name=name, head=head, size=size, fileobj=file)
    digest = hashlib.sha256()
    for chunk in iter(lambda: file.read(1024 * 1024), b""):
        digest.update(chunk)
    file.seek(0)
    attachment = Attachment(
        report=locked,
        original_name=name,
        content_type=content_type,
        size=size,
        sha256=digest.hexdigest(),
        uploaded_by=actor,
    )
    # Stored under a random name (reports.models.attachment_path). If the transaction rolls back after this
    # point an unreferenced file may remain on disk: harmless (random name, never served), and rare.
    attachment.file.save(name, file, save=False)
    attachment.save()
    audit_log(
        actor=actor,
        action="attachment_add",
        obj=locked,
        changes={"attachment": [None, name]},
        message=f"{name}（{_human_size(size)}，sha256 {attachment.sha256[:12]}…）",
    )
    return attachment


@retry_transaction
def attachment_remove(*, attachment: Attachment, actor) -> None:
    report = Report.objects.select_for_update(no_key=True).get(pk=attachment.report_id)
    if not report_can_edit(user=actor, report=report):
        raise PermissionDeniedError("只能删除本单位报告的附件。")
    if report.status not in EDITABLE:
        raise ApplicationError(f"报告{report.get_status_display()}，不能删除附件。", field="attachments")
    name, stored, storage = attachment.original_name, attachment.file.name, attachment.file.storage
    attachment.delete()
    audit_log(actor=actor, action="attachment_remove", obj=report, changes={"attachment": [name, None]})
    transaction.on_commit(lambda: storage.delete(stored))
