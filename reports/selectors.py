"""Reads of periods and progress reports, and the one permission rule for reports.

Other engineers build on these (reminders, roll-ups, dashboard); the names and return shapes are stable:

- ``reports_visible_to(*, user)``: the reports a user may read; every lookup of a report by id goes through it.
- ``report_can_edit(*, user, report)`` / ``report_can_review(*, user)``: who may write / review.
- ``units_due_for_period(*, period)`` / ``tasks_for_unit_in_period(*, unit, period)``: who owes which report.
- ``period_submission_status(*, period)``: per unit, due / submitted / on time / late / returned / missing.
- ``period_current()``: the current period (reports.periods).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q, QuerySet

from departments.models import Unit
from departments.permissions import has
from tasks.models import Task, TaskUnit

from .models import Attachment, Period, Report, ReportStatus

# The periods' reads live in reports.periods (the one resolver); these names stay for their callers.
from .periods import period_current, period_previous, periods_all, periods_open  # noqa: F401

# ---------------------------------------------------------------------------------------------------------------
# Permission rule (used by the pages, the DRF permission classes and the services)
# ---------------------------------------------------------------------------------------------------------------


def report_can_review(*, user) -> bool:
    """Return, accept, reopen: the secretariat (医改办) only."""
    return has(user, "reports.review")


def report_can_edit(*, user, report: Report) -> bool:
    """Write the content of a report (draft, submit, attachments): a reporter of the report's own unit.

    A lead unit reads the reports of its responsible units and counties but never writes them; the
    secretariat reviews but does not write; leaders only read.
    """
    return has(user, "reports.write") and user.unit_id == report.unit_id


def reporter_may_write_for(*, user, task: Task, unit: Unit | None = None) -> bool:
    """A reporter may start a report on a task its unit carries (as lead, responsible unit or county)."""
    if not has(user, "reports.write"):
        return False
    unit = unit or user.unit
    if user.unit_id != unit.pk:
        return False
    return TaskUnit.objects.filter(task=task, unit=unit).exists() and task.deleted_at is None


# A report others may read: one that has been submitted (a returned one was, too). A draft is the unit's own.
SEEN_BY_OTHERS = ~Q(status=ReportStatus.DRAFT)


def reports_visible_to(*, user) -> QuerySet[Report]:
    """The one rule for who reads which report (pages, API, attachment downloads, task page, exports).

    A reporter reads its own unit's reports, drafts included. Who holds ``reports.read_all`` (secretariat,
    leaders) reads every unit's submitted reports; a reporter holding ``reports.read_led`` also reads the
    submitted reports of the other units on the tasks its unit leads (牵头), read-only. Anyone else (the
    administrator, the auditor) reads none (departments.permissions).
    """
    qs = Report.objects.select_related("task", "task__document", "unit", "period")
    if has(user, "reports.read_all"):
        return qs.filter(SEEN_BY_OTHERS)
    if not has(user, "reports.write"):
        return qs.none()
    mine = Q(unit_id=user.unit_id)
    if has(user, "reports.read_led"):
        leads = TaskUnit.objects.filter(
            task=OuterRef("task_id"), unit_id=user.unit_id, role=TaskUnit.Role.LEAD
        )
        mine |= Q(Exists(leads)) & SEEN_BY_OTHERS
    return qs.filter(task__deleted_at__isnull=True).filter(mine)


def report_get_visible(*, user, pk) -> Report:
    """One report by id, or Http404 if the user may not see it."""
    from django.shortcuts import get_object_or_404

    return get_object_or_404(reports_visible_to(user=user), pk=pk)


def attachments_visible_to(*, user) -> QuerySet[Attachment]:
    return Attachment.objects.select_related("report").filter(
        report__in=reports_visible_to(user=user).values("pk")
    )


def tasks_led_by(*, unit: Unit) -> QuerySet[Task]:
    return Task.objects.alive().filter(
        Exists(TaskUnit.objects.filter(task=OuterRef("pk"), unit=unit, role=TaskUnit.Role.LEAD))
    )


def reports_pending_review(*, user, period: Period) -> QuerySet[Report]:
    """The review queue: submitted reports of the period awaiting the secretariat, oldest submission first."""
    return (
        reports_visible_to(user=user)
        .filter(period=period, status=ReportStatus.SUBMITTED)
        .order_by("submitted_at", "pk")
    )


def report_next_pending(*, user, period: Period, exclude: int | None = None) -> Report | None:
    """The next report of the queue (通过并下一份)."""
    return reports_pending_review(user=user, period=period).exclude(pk=exclude).first()


# ---------------------------------------------------------------------------------------------------------------
# Who owes which report
# ---------------------------------------------------------------------------------------------------------------


def tasks_for_unit_in_period(*, unit: Unit, period: Period | None = None) -> QuerySet[Task]:
    """The tasks a unit reports on: those it leads or shares, and for a county those that involve it.

    Every live task the unit carries owes one report per period (the plan asks for quarterly progress on all
    tasks); ``period`` is accepted so that a later rule (e.g. tasks created after the quarter) has one place.
    """
    return (
        Task.objects.alive()
        .filter(Exists(TaskUnit.objects.filter(task=OuterRef("pk"), unit=unit)))
        .select_related("document")
        .prefetch_related("task_units__unit", "targets", "milestones")
        .order_by("document_id", "sort_key")
    )


def due_pairs(*, period: Period | None = None) -> QuerySet[TaskUnit]:
    """(task, unit) pairs that owe a report: one per active unit per live task it carries, whatever its role.

    Same rule as reports.obligations (reminders, roll-ups): deleted or deactivated units owe nothing.
    """
    return (
        TaskUnit.objects.filter(
            task__deleted_at__isnull=True, unit__deleted_at__isnull=True, unit__is_active=True
        )
        .values("task_id", "unit_id")
        .distinct()
        .order_by()
    )


@dataclass
class UnitSubmission:
    """One unit's reporting in one period (报送情况)."""

    unit: Unit
    due: int = 0  # reports owed: one per task the unit carries
    submitted: int = 0  # submitted or accepted
    accepted: int = 0
    on_time: int = 0  # submitted/accepted and first submitted before the end of the due date
    late: int = 0  # submitted/accepted, first submitted after the due date
    returned: int = 0  # returned (or reopened), waiting to be resubmitted
    draft: int = 0  # started, not submitted
    missing: int = 0  # due - submitted: includes drafts, returned reports and reports never started
    awaiting_review: int = 0  # submitted, not yet accepted or returned
    report_ids: list[int] = field(default_factory=list)

    @property
    def timeliness(self) -> str:
        """按时 / 逾期提交 / 未提交 for the unit as a whole."""
        if self.missing:
            return "未提交"
        return "逾期提交" if self.late else "按时"

    @property
    def timeliness_label(self) -> str:
        """As shown: a unit part-way through reads 已提交 4/36, not a red 未提交."""
        if self.missing and self.submitted:
            return f"部分提交 {self.submitted}/{self.due}"
        return self.timeliness

    @property
    def is_complete(self) -> bool:
        return self.due > 0 and self.missing == 0


def period_submission_status(*, period: Period) -> list[UnitSubmission]:
    """Per unit that owes reports in the period: due, submitted, accepted, on time, late, returned, missing.

    Three queries whatever the size of the ledger. Units are ordered as the Unit model orders them.
    """
    due_by_unit: dict[int, int] = defaultdict(int)
    for row in due_pairs(period=period):
        due_by_unit[row["unit_id"]] += 1
    units = {u.pk: u for u in Unit.objects.filter(pk__in=due_by_unit.keys())}
    rows = {pk: UnitSubmission(unit=u, due=due_by_unit[pk]) for pk, u in units.items()}
    reports = Report.objects.filter(
        period=period, unit_id__in=rows.keys(), task__deleted_at__isnull=True
    ).values_list("pk", "unit_id", "status", "is_late")
    for pk, unit_id, status, is_late in reports:
        row = rows[unit_id]
        row.report_ids.append(pk)
        if status in (ReportStatus.SUBMITTED, ReportStatus.ACCEPTED):
            row.submitted += 1
            row.late += 1 if is_late else 0
            row.on_time += 0 if is_late else 1
            row.accepted += 1 if status == ReportStatus.ACCEPTED else 0
            row.awaiting_review += 1 if status == ReportStatus.SUBMITTED else 0
        elif status == ReportStatus.RETURNED:
            row.returned += 1
        else:
            row.draft += 1
    for row in rows.values():
        row.missing = max(row.due - row.submitted, 0)
    unit_order = list(
        Unit.objects.filter(pk__in=rows.keys()).values_list("pk", flat=True)
    )  # Unit.Meta.ordering
    return [rows[pk] for pk in unit_order]


def period_totals(status_rows: list[UnitSubmission]) -> dict:
    keys = (
        "due",
        "submitted",
        "accepted",
        "on_time",
        "late",
        "returned",
        "draft",
        "missing",
        "awaiting_review",
    )
    return {k: sum(getattr(r, k) for r in status_rows) for k in keys}


# ---------------------------------------------------------------------------------------------------------------
# The reporter's form
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class FormRow:
    """One row of a reporter's quarterly form: a task, the unit's part in it, and its report (if started)."""

    task: Task
    roles: list[str]  # labels: 牵头单位 / 责任单位 / 县(市、区)
    report: Report | None
    is_lead: bool
    target_values: dict[int, object]  # target id -> Decimal reported in this report

    @property
    def editable(self) -> bool:
        return self.report is None or self.report.status in (ReportStatus.DRAFT, ReportStatus.RETURNED)

    @property
    def status(self) -> str:
        return self.report.status if self.report else "none"

    @property
    def status_label(self) -> str:
        return self.report.get_status_display() if self.report else "未填报"

    @property
    def state_label(self) -> str:
        """The short word of the form's task index: 未填, 草稿, 退回, 已提交, 已通过."""
        return FORM_STATES[self.status]

    @property
    def share(self) -> str:
        """牵头 or 配合 (responsible unit or county): the index filter."""
        return "lead" if self.is_lead else "shared"


FORM_STATES = {
    "none": "未填",
    ReportStatus.DRAFT: "草稿",
    ReportStatus.RETURNED: "退回",
    ReportStatus.SUBMITTED: "已提交",
    ReportStatus.ACCEPTED: "已通过",
}


def _as_prefetched(instance, name: str, model, rows: list) -> None:
    """Hand rows read in one query to ``instance.<name>.all()`` as prefetch_related would, and to
    ``Task.related_rows(name)`` as a plain list: without prefetch_related's per-object managers and filters, which
    cost more than the SQL on a 60-task form."""
    qs = model.objects.all()
    qs._result_cache, qs._prefetch_done = rows, True
    if not hasattr(instance, "_prefetched_objects_cache"):
        instance._prefetched_objects_cache = {}
    instance._prefetched_objects_cache[name] = qs
    setattr(instance, f"{name}_list", rows)


def form_rows_for(*, unit: Unit, period: Period) -> list[FormRow]:
    """The reporter's form for a period: one row per task the unit carries, with its report and values.

    Seven plain queries whatever the number of tasks: tasks, the unit's roles on them, targets, milestones, the
    unit's reports of the period, their target values and attachments.
    """
    from tasks.models import Milestone, Target

    from .models import TargetValue

    tasks = list(
        Task.objects.alive()
        .filter(Exists(TaskUnit.objects.filter(task=OuterRef("pk"), unit=unit)))
        .select_related("document")
        .order_by("document_id", "sort_key")
    )
    ids = [t.pk for t in tasks]
    related: dict[str, dict[int, list]] = {"targets": defaultdict(list), "milestones": defaultdict(list)}
    mine: dict[int, list[str]] = defaultdict(list)  # task id -> this unit's roles on it (a unit may hold two)
    for task_id, role in (
        TaskUnit.objects.filter(task_id__in=ids, unit=unit).order_by("role").values_list("task_id", "role")
    ):
        mine[task_id].append(role)
    for t in Target.objects.filter(task_id__in=ids).order_by("id"):
        related["targets"][t.task_id].append(t)
    for m in Milestone.objects.filter(task_id__in=ids).order_by("date", "id"):
        related["milestones"][m.task_id].append(m)
    models_of = {"targets": Target, "milestones": Milestone}
    for task in tasks:
        for name, by_task in related.items():
            _as_prefetched(task, name, models_of[name], by_task.get(task.pk, []))
    reports = {r.task_id: r for r in Report.objects.filter(period=period, unit=unit, task_id__in=ids)}
    by_report = {r.pk: r for r in reports.values()}
    values: dict[int, dict[int, object]] = defaultdict(dict)
    for report_id, target_id, value in TargetValue.objects.filter(report_id__in=by_report).values_list(
        "report_id", "target_id", "value"
    ):
        values[report_id][target_id] = value
    files: dict[int, list] = defaultdict(list)
    for a in Attachment.objects.filter(report_id__in=by_report).order_by("id"):
        files[a.report_id].append(a)
    for r in by_report.values():
        _as_prefetched(r, "attachments", Attachment, files.get(r.pk, []))
    labels = dict(TaskUnit.Role.choices)
    rows = []
    for task in tasks:
        report = reports.get(task.pk)
        if report is not None:
            report.task = task  # with its targets read: saving the row needs no query for them
        rows.append(
            FormRow(
                task=task,
                roles=[labels[role] for role in mine[task.pk]],
                report=report,
                is_lead=TaskUnit.Role.LEAD in mine[task.pk],
                target_values=values.get(report.pk, {}) if report else {},
            )
        )
    return rows


def previous_reports_for(*, unit: Unit, period: Period) -> tuple[Period | None, dict[int, Report]]:
    """The unit's reports of the quarter before (task id -> report), offered on the form for reuse."""
    before = period_previous(period)
    if before is None:
        return None, {}
    reports = (
        Report.objects.filter(unit=unit, period=before)
        .exclude(text="")
        .only("task_id", "text", "problems", "next_steps", "progress", "percent", "status")
    )
    return before, {r.task_id: r for r in reports}


def open_periods_owed(*, unit: Unit, exclude: Period | None = None) -> list[tuple[Period, int]]:
    """Other open periods in which the unit still owes reports, oldest first: (period, reports not submitted).

    Announced on the reporter's landing page so that an older quarter left open is not forgotten.
    """
    periods = list(periods_open().exclude(pk=exclude.pk if exclude else None).order_by("year", "quarter"))
    if not periods:
        return []
    due = (
        TaskUnit.objects.filter(unit=unit, task__deleted_at__isnull=True).values("task_id").distinct().count()
    )
    done = defaultdict(int)
    for period_id in Report.objects.filter(
        unit=unit,
        period__in=periods,
        status__in=(ReportStatus.SUBMITTED, ReportStatus.ACCEPTED),
        task__deleted_at__isnull=True,
    ).values_list("period_id", flat=True):
        done[period_id] += 1
    return [(p, due - done[p.pk]) for p in periods if due - done[p.pk] > 0]


# ---------------------------------------------------------------------------------------------------------------
# Task-side views: the lead unit's side-by-side and the task page history
# ---------------------------------------------------------------------------------------------------------------


def task_period_reports(*, task: Task, period: Period, user) -> list[dict]:
    """Every unit carrying the task, in role order (lead, responsible, counties), with its visible report."""
    visible = {
        r.unit_id: r
        for r in reports_visible_to(user=user)
        .filter(task=task, period=period)
        .prefetch_related("target_values__target", "attachments")
    }
    order = {TaskUnit.Role.LEAD: 0, TaskUnit.Role.RESPONSIBLE: 1, TaskUnit.Role.COUNTY: 2}
    task_units = sorted(
        TaskUnit.objects.filter(task=task).select_related("unit"),
        key=lambda tu: (order[tu.role], tu.position),
    )
    rows, seen = [], set()
    for tu in task_units:
        if tu.unit_id in seen:
            continue
        seen.add(tu.unit_id)
        rows.append({"unit": tu.unit, "role": tu.get_role_display(), "report": visible.get(tu.unit_id)})
    return rows


def task_report_history(*, task: Task, user) -> dict:
    """For the task page: reports per period and unit, and each target's reported values over time.

    Returns {"periods": [(period, [report, ...])], "targets": [(target, [(period, unit, value, met), ...])]},
    newest period first, restricted to what the user may see.
    """
    reports = list(
        reports_visible_to(user=user)
        .filter(task=task)
        .prefetch_related("target_values")
        .order_by("-period__year", "-period__quarter", "unit__kind", "unit__sort_order", "unit__name")
    )
    by_period: dict[int, tuple[Period, list[Report]]] = {}
    for r in reports:
        by_period.setdefault(r.period_id, (r.period, []))[1].append(r)
    targets = []
    for target in task.targets.all():
        points = []
        for r in reports:
            if r.status not in (ReportStatus.SUBMITTED, ReportStatus.ACCEPTED):
                continue
            for tv in r.target_values.all():
                if tv.target_id == target.pk:
                    points.append((r.period, r.unit, tv.value, target.is_met_by(tv.value)))
        points.sort(key=lambda p: (p[0].year, p[0].quarter, p[1].name))
        targets.append((target, points))
    return {"periods": list(by_period.values()), "targets": targets}


# ---------------------------------------------------------------------------------------------------------------
# What of a report other readers may see (the 汇总表, the ledger export's period columns)
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SharedContent:
    """A report's content as others may read it: what the unit last submitted, never an unsubmitted draft."""

    report: Report
    progress: str  # the Progress value
    percent: int | None
    text: str
    problems: str
    next_steps: str
    target_values: dict  # target id (str) -> value as text
    from_revision: bool  # True: a returned report, shown as it was when last submitted

    @property
    def progress_label(self) -> str:
        from tasks.models import Progress

        return Progress(self.progress).label if self.progress in Progress.values else ""


def reports_shared_content(
    *, period: Period, task_ids, unit_ids=None
) -> dict[tuple[int, int], SharedContent]:
    """(task id, unit id) -> SharedContent for the reports of a period.

    Submitted and accepted reports as they stand. A returned report as it was when last submitted (its
    ReportRevision of that submit keeps the content), so the unit's edits in progress stay its own. Drafts,
    never submitted, are left out."""
    reports = Report.objects.filter(
        period=period,
        task__in=task_ids,
        status__in=[ReportStatus.SUBMITTED, ReportStatus.ACCEPTED, ReportStatus.RETURNED],
    ).prefetch_related("target_values")
    if unit_ids is not None:
        reports = reports.filter(unit__in=unit_ids)
    reports = list(reports)
    returned = [r.pk for r in reports if r.status == ReportStatus.RETURNED]
    last_submit: dict[int, dict] = {}
    if returned:
        from .models import ReportRevision

        for report_id, data in (
            ReportRevision.objects.filter(report__in=returned, action="submit")
            .order_by("report_id", "-number")
            .values_list("report_id", "data")
        ):
            last_submit.setdefault(report_id, data)
    out = {}
    for r in reports:
        if r.status == ReportStatus.RETURNED:
            data = last_submit.get(r.pk)
            if data is None:
                continue  # returned without a recorded submission: nothing was ever shared
            content = SharedContent(
                report=r, progress=data.get("progress") or "", percent=data.get("percent"), text=data.get("text") or "",
                problems=data.get("problems") or "", next_steps=data.get("next_steps") or "",
                target_values=dict(data.get("target_values") or {}), from_revision=True,
            )  # fmt: skip
        else:
            content = SharedContent(
                report=r, progress=r.progress, percent=r.percent, text=r.text, problems=r.problems,
                next_steps=r.next_steps,
                target_values={str(tv.target_id): format(tv.value.normalize(), "f") for tv in r.target_values.all()},
                from_revision=False,
            )  # fmt: skip
        out[(r.task_id, r.unit_id)] = content
    return out


def ledger_report_texts(*, period: Period, task_ids, readable_unit_ids: set[int] | None) -> dict:
    """task id -> (本期进展情况, 存在问题, 下步打算) of the task's (first) lead unit, for the ledger export.

    `readable_unit_ids` (departments.permissions.report_unit_ids_readable): None for readers of every unit, who get
    the shared content (no drafts); else the reader's own units, whose text it gets as it stands, drafts included
    (its own work); an empty set gets nothing."""
    lead: dict[int, int] = {}
    for task_id, unit_id in (
        TaskUnit.objects.filter(role=TaskUnit.Role.LEAD, task__in=task_ids)
        .order_by("task_id", "position")
        .values_list("task_id", "unit_id")
    ):
        lead.setdefault(task_id, unit_id)
    if readable_unit_ids is None:
        shared = reports_shared_content(period=period, task_ids=task_ids)
        return {t: (c.text, c.problems, c.next_steps) for (t, u), c in shared.items() if lead.get(t) == u}
    if not readable_unit_ids:
        return {}
    own = Report.objects.filter(period=period, task__in=task_ids, unit_id__in=readable_unit_ids)
    return {
        t: (text, problems, next_steps)
        for t, u, text, problems, next_steps in own.values_list(
            "task_id", "unit_id", "text", "problems", "next_steps"
        )
        if lead.get(t) == u
    }


# ---------------------------------------------------------------------------------------------------------------
# Names in the audit log (registered with departments.audit_display in apps.py)
# ---------------------------------------------------------------------------------------------------------------


def reports_audit_labels(ids: list[str]) -> dict[str, str]:
    """报告 市医保局 2026年第四季度 · 任务 二.(一).1."""
    numeric = [int(i) for i in ids if i.isdigit()]
    out = {}
    for r in Report.objects.filter(pk__in=numeric).select_related("unit", "period", "task"):
        out[str(r.pk)] = f"报告 {r.unit.display_name} {r.period.label} · 任务 {r.task.path_key}"
    return out


def periods_audit_labels(ids: list[str]) -> dict[str, str]:
    numeric = [int(i) for i in ids if i.isdigit()]
    return {str(p.pk): f"填报期 {p.label}" for p in Period.objects.filter(pk__in=numeric)}


def report_as_read_by(*, user, report: Report) -> Report:
    """The report as ``user`` may read it. A returned report read by anyone but a reporter of its own unit shows
    the content it had when it was last submitted: what the unit has typed since the return is its own draft
    until it submits again (issue 18). The instance is changed in memory only and must not be saved."""
    if report.status != ReportStatus.RETURNED:
        return report
    if getattr(user, "unit_id", None) == report.unit_id and has(user, "reports.write"):
        return report
    from decimal import Decimal, InvalidOperation

    from .models import ReportRevision, TargetValue

    data = (
        ReportRevision.objects.filter(report=report, action="submit")
        .order_by("-number")
        .values_list("data", flat=True)
    ).first() or {}
    report.progress = data.get("progress") or report.progress
    report.percent = data.get("percent")
    for name in ("text", "problems", "next_steps"):
        setattr(report, name, data.get(name) or "")
    values = []
    for target_id, value in (data.get("target_values") or {}).items():
        try:
            values.append(TargetValue(report=report, target_id=int(target_id), value=Decimal(str(value))))
        except (InvalidOperation, ValueError):
            continue
    report._prefetched_objects_cache = {
        **getattr(report, "_prefetched_objects_cache", {}),
        "target_values": values,
    }
    report.shown_as_submitted = True
    return report
