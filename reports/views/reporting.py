"""reporting pages: the reporter's quarterly form, the secretariat's period status and review, the lead unit's
side-by-side view, and attachment downloads.

URL names (namespace ``reports``): my-form, period-status, period-open, period-due, period-close, detail,
review (return / accept / reopen), task-compare, attachment, attachment-delete.
"""

from __future__ import annotations

import re
from contextlib import nullcontext
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from departments.models import Unit
from departments.permissions import has, require
from departments.services import ApplicationError
from reform_ledger.db import retry_transaction
from reform_ledger.params import is_id
from tasks.models import Progress, Task, TaskUnit
from tasks.selectors import tasks_visible_to

from ..attachments import attachment_check
from ..forms import DueDateForm, PeriodOpenForm, ReasonForm
from ..models import Period, Report, ReportStatus
from ..period_services import period_close, period_open, period_set_due_date
from ..periods import period_resolve
from ..selectors import (
    FORM_STATES,
    FormRow,
    attachments_visible_to,
    form_rows_for,
    open_periods_owed,
    period_current,
    period_submission_status,
    period_totals,
    periods_all,
    periods_open,
    previous_reports_for,
    report_as_read_by,
    report_can_edit,
    report_can_review,
    report_get_visible,
    report_next_pending,
    reports_pending_review,
    reports_visible_to,
    task_period_reports,
)
from ..services import (
    DraftRow,
    attachment_add,
    attachment_remove,
    report_accept,
    report_accept_many,
    report_clean_data,
    report_get_or_create_for,
    report_lock_tasks,
    report_reopen,
    report_return,
    report_save_draft,
    report_save_drafts,
    report_submit,
)

CONTENT = ("progress", "percent", "text", "problems", "next_steps")


def _period_from(request) -> Period | None:
    """The period asked for (`?period=ID`); the current one when none, or an unknown one, is asked for."""
    try:
        return period_resolve(value=request.GET.get("period") or request.POST.get("period"))
    except ApplicationError:
        return period_current()


# --------------------------------------------------------------------------------------------- reporter form

FIELD_LABELS = {
    "progress": "进展",
    "percent": "完成百分比",
    "text": "本期进展情况",
    "problems": "存在问题",
    "next_steps": "下步打算",
    "quick": "快捷填写",
    "attachments": "附件",
    "version": "版本",
    "status": "状态",
    "period": "填报期",
}
# Quick answers for a task that did not move this quarter: the text becomes "<answer>：<reason>".
QUICK_ANSWERS = {"no_progress": "本期无新进展", "not_applicable": "不涉及"}
QUICK_REASON_MAX = 200
NOTES_KEY = "report_form_notes"  # what the last 全部提交 left unsubmitted, shown once after the redirect
ANCHOR = re.compile(r"task-\d+")


@dataclass
class RowView:
    """A form row as shown: the stored state plus what the user typed (kept when the page is re-shown)."""

    row: FormRow
    vals: dict
    error: str = ""
    error_field: str = ""
    files: list = field(default_factory=list)
    previous: Report | None = None  # the unit's report of the quarter before, offered for reuse
    note: str = ""  # why 全部提交 left this task out
    unsaved: dict = field(default_factory=dict)  # typed into a row submitted meanwhile by someone else

    @property
    def task(self) -> Task:
        return self.row.task

    @property
    def prefix(self) -> str:
        return f"t{self.row.task.pk}"

    @property
    def state(self) -> str:
        return "error" if self.error else self.row.status

    @property
    def error_label(self) -> str:
        if self.error_field.startswith("target-"):
            return "指标实际值"
        return FIELD_LABELS.get(self.error_field, "")

    @property
    def focus_name(self) -> str:
        """The input the browser focuses when this row is the first faulty one."""
        name = (
            self.error_field
            if self.error_field in CONTENT or self.error_field.startswith("target-")
            else "text"
        )
        return f"{self.prefix}-{'quick_reason' if self.error_field == 'quick' else name}"

    def targets(self):
        """(target, value as typed or stored, faulty?) for each target of the task."""
        bad = self.error_field
        return [
            (t, self.vals["targets"].get(t.pk, ""), bad == f"target-{t.pk}")
            for t in self.row.task.targets.all()
        ]


def _stored_vals(row: FormRow) -> dict:
    r = row.report
    fmt = lambda v: format(v.normalize(), "f") if v is not None else ""  # noqa: E731
    return {
        "progress": r.progress if r else Progress.NOT_STARTED,
        "percent": "" if (r is None or r.percent is None) else str(r.percent),
        "text": r.text if r else "",
        "problems": r.problems if r else "",
        "next_steps": r.next_steps if r else "",
        "targets": {t.pk: fmt(row.target_values.get(t.pk)) for t in row.task.targets.all()},
        "version": str(r.version) if r else "",
        "quick": "",
        "quick_reason": "",
    }


def _posted_vals(request, row: FormRow) -> dict:
    p = f"t{row.task.pk}-"
    vals = {name: (request.POST.get(p + name) or "").strip() for name in CONTENT}
    vals["targets"] = {
        t.pk: (request.POST.get(f"{p}target-{t.pk}") or "").strip() for t in row.task.targets.all()
    }
    vals["version"] = (request.POST.get(p + "version") or "").strip()
    vals["quick"] = (request.POST.get(p + "quick") or "").strip()
    vals["quick_reason"] = (request.POST.get(p + "quick_reason") or "").strip()
    return vals


def _row_posted(request, v: RowView) -> bool:
    return any(f"{v.prefix}-{name}" in request.POST for name in (*CONTENT, "quick"))


def _apply_quick(vals: dict) -> None:
    """本期无新进展 / 不涉及 with a short reason becomes the row's progress text."""
    if not vals["quick"]:
        return
    answer = QUICK_ANSWERS.get(vals["quick"])
    if answer is None:
        raise ApplicationError(f"快捷填写“{vals['quick']}”无效。", field="quick")
    reason = vals["quick_reason"]
    if not reason:
        raise ApplicationError(f"选择“{answer}”时请写一句简短原因。", field="quick")
    if len(reason) > QUICK_REASON_MAX:
        raise ApplicationError(
            f"“{answer}”的原因不能超过 {QUICK_REASON_MAX} 字（现有 {len(reason)} 字）。", field="quick"
        )
    vals["text"] = f"{answer}：{reason}"
    vals["quick"] = vals["quick_reason"] = ""


def _as_data(vals: dict) -> dict:
    data = {name: vals[name] for name in CONTENT}
    data["target_values"] = [{"target": tid, "value": v} for tid, v in vals["targets"].items()]
    return data


def _changed(stored: dict, posted: dict) -> bool:
    return any(stored[k] != posted[k] for k in CONTENT) or stored["targets"] != posted["targets"]


def _keep_unsaved(request, v: RowView) -> None:
    """A row someone else submitted (or the secretariat accepted) after this page was opened: what the reporter
    typed into it is not saved, but it is not dropped either. The card says why and shows the typed text, so it
    can be copied into a message to the secretariat or reused after a return."""
    if not _row_posted(request, v):
        return
    typed = _posted_vals(request, v.row)
    if not _changed(_stored_vals(v.row), typed):
        return
    r = v.row.report
    who = (
        (r.updated_by.display_name or r.updated_by.username)
        if r and r.updated_by_id and r.updated_by
        else "他人"
    )
    when = timezone.localtime(r.submitted_at).strftime("%Y-%m-%d %H:%M") if r and r.submitted_at else ""
    state = "审核通过并锁定" if r and r.status == ReportStatus.ACCEPTED else "提交"
    v.error = (
        f"此项已由{who}{('于 ' + when + ' ') if when else ''}{state}，您刚才填写的内容没有保存；"
        "下面保留了您填写的文字，请复制后与提交人或医改办联系。"
    )
    v.error_field = ""
    v.unsaved = {k: typed[k] for k in ("text", "problems", "next_steps") if typed[k]}


def _check_row(v: RowView) -> None:
    """Validate one row as typed; the error names the field (a target by its own input)."""
    data = _as_data(v.vals)
    targets = data.pop("target_values")
    report_clean_data(task=v.task, data=data)
    for item in targets:
        try:
            report_clean_data(task=v.task, data={"target_values": [item]})
        except ApplicationError as e:
            raise ApplicationError(e.message, field=f"target-{item['target']}") from None
    for f in v.files:
        attachment_check(name=f.name, head=f.read(8192), size=f.size, fileobj=f)
        f.seek(0)


def _require_reporter(user):
    require(user, "reports.write")


def _row_views(*, unit: Unit, period: Period | None) -> tuple[list[RowView], Period | None]:
    if period is None:
        return [], None
    rows = form_rows_for(unit=unit, period=period)
    before, previous = previous_reports_for(unit=unit, period=period)
    return [RowView(row=r, vals=_stored_vals(r), previous=previous.get(r.task.pk)) for r in rows], before


@login_required
def my_form(request):
    """The reporter's landing page: one card per task of the unit in the open period, with an index."""
    _require_reporter(request.user)
    period = _period_from(request)
    unit = Unit.objects.get(pk=request.user.unit_id)
    views, before = _row_views(unit=unit, period=period)
    status = 200
    if request.method == "POST" and period is not None:
        outcome = _handle_form_post(request, unit=unit, period=period, views=views)
        if outcome.redirect:
            request.session[NOTES_KEY] = {str(k): v for k, v in outcome.notes.items()}
            anchor = (request.POST.get("anchor") or "").strip()
            if not ANCHOR.fullmatch(anchor):
                anchor = f"task-{outcome.anchor_task}" if outcome.anchor_task else ""
            url = f"{reverse('reports:my-form')}?period={period.pk}"
            return HttpResponseRedirect(url + (f"#{anchor}" if anchor else ""))
        # Some rows were faulty: the saved ones are shown as stored now, the faulty ones as typed.
        fresh, before = _row_views(unit=unit, period=period)
        by_task = {v.task.pk: v for v in views}
        for v in fresh:
            old = by_task.get(v.task.pk)
            if old is not None and old.error:
                v.vals, v.error, v.error_field, v.unsaved = old.vals, old.error, old.error_field, old.unsaved
            if old is not None:
                v.note = outcome.notes.get(v.task.pk, "")
        views = fresh
        status = 400
    elif request.method == "GET":
        notes = request.session.pop(NOTES_KEY, None) or {}
        for v in views:
            v.note = notes.get(str(v.task.pk), "")
    return render(
        request, "reports/my_form.html", _form_context(request, unit, period, views, before), status=status
    )


def _form_context(request, unit, period, views, before) -> dict:
    counts = {key: 0 for key in FORM_STATES}
    for v in views:
        counts[v.row.status] += 1
    faulty = [v for v in views if v.error]
    leftover = [v for v in views if v.note and not v.error]
    return {
        "period": period,
        "periods": periods_all(),
        "unit": unit,
        "rows": views,
        "can_start": bool(period and period.is_open),
        "progress_choices": Progress.choices,
        "quick_answers": QUICK_ANSWERS.items(),
        "states": [(key, label, counts[key]) for key, label in FORM_STATES.items()],
        "counts": {
            "total": len(views),
            "submitted": counts[ReportStatus.SUBMITTED] + counts[ReportStatus.ACCEPTED],
            "returned": counts[ReportStatus.RETURNED],
            "lead": sum(1 for v in views if v.row.is_lead),
        },
        "faulty": faulty,
        "focus": faulty[0].focus_name if faulty else "",
        "leftover": leftover,
        "previous_period": before,
        "owed_elsewhere": open_periods_owed(unit=unit, exclude=period) if period else [],
        "now": timezone.now(),
    }


@dataclass
class FormOutcome:
    redirect: bool
    notes: dict[int, str] = field(default_factory=dict)  # task id -> why 全部提交 did not submit it
    anchor_task: int | None = None


def _save_rows(work: list, *, unit: Unit, period: Period, actor) -> tuple[int, int]:
    """Write the valid rows: one transaction (one commit for the whole form), each row undone alone when a service
    refuses it (a stale version, a report submitted meanwhile). A deadlock or serialization failure retries the
    whole form (retry_transaction). Returns (drafts saved, reports submitted).

    Rows that only save a draft (the usual case: 60 at the first save of a quarter) go to report_save_drafts in
    one batch; rows that also attach files or submit go through the services one by one, after the locks of
    every row were taken in one statement, in the one order."""

    def attempt() -> tuple[int, int]:
        saved = submitted = 0
        for v, _changed, _submit in work:
            v.error = v.error_field = ""
        drafts = [v for v, changed, submit in work if changed and not v.files and not submit]
        others = [
            (v, changed, submit)
            for v, changed, submit in work
            if not (changed and not v.files and not submit)
        ]
        if others:
            report_lock_tasks(task_ids=[v.task.pk for v, _c, _s in work], unit=unit)
        rows = report_save_drafts(
            rows=[
                DraftRow(
                    task=v.task,
                    report=v.row.report,
                    data=_as_data(v.vals),
                    version=(v.vals["version"] or None) if v.row.report is not None else None,
                )
                for v in drafts
            ],
            unit=unit,
            period=period,
            actor=actor,
        )
        for v, row in zip(drafts, rows, strict=True):
            if row.error is not None:
                v.error, v.error_field = row.error.message, row.error.field or ""
            else:
                saved += 1
        for v, changed, submit in others:
            # A row of one service call is undone by that service's own savepoint; a row of several (start,
            # save, attach, submit) gets one around them all, so it is written whole or not at all.
            several = v.row.report is None or bool(v.files) or submit
            try:
                with transaction.atomic() if several else nullcontext():
                    report, created = v.row.report, False
                    if report is None:
                        report, created = report_get_or_create_for(
                            task=v.task, unit=unit, period=period, actor=actor
                        )
                    version = None if created else (v.vals["version"] or None)
                    if changed:
                        report = report_save_draft(
                            report=report, data=_as_data(v.vals), version=version, actor=actor
                        )
                        version = None
                    for f in v.files:
                        attachment_add(report=report, file=f, actor=actor)
                    if submit:
                        report_submit(report=report, actor=actor, version=version)
            except ApplicationError as e:
                v.error, v.error_field = e.message, e.field or ""
                continue
            submitted += 1 if submit else 0
            saved += 0 if submit else 1
        return saved, submitted

    return retry_transaction(attempt)()


def _handle_form_post(request, *, unit: Unit, period: Period, views: list[RowView]) -> FormOutcome:
    """Save every valid changed row as a draft and submit the ones asked for; each row on its own.

    A faulty row (a bad value, a stale version) is kept as typed with its message and saves nothing, but never
    costs the other rows their work. 全部提交 submits every complete row and notes why each other one was not.
    """
    action = request.POST.get("action", "save")
    submit_all = action == "submit_all"
    submit_ids: set[int] = set()
    anchor_task = None
    if submit_all:
        submit_ids = {v.task.pk for v in views if v.row.editable}
    elif action.startswith("submit:") and is_id(action[7:]):
        submit_ids = {int(action[7:])}
        anchor_task = int(action[7:])
    outcome = FormOutcome(redirect=True, anchor_task=anchor_task)
    work = []
    for v in views:
        if not v.row.editable:
            _keep_unsaved(request, v)
            continue
        # A row none of whose fields came back (not on the page that posted) is left as stored.
        posted = _posted_vals(request, v.row) if _row_posted(request, v) else dict(v.vals)
        v.files = request.FILES.getlist(f"{v.prefix}-files")
        v.vals = posted
        submit = v.task.pk in submit_ids
        try:
            _apply_quick(posted)
            changed = _changed(_stored_vals(v.row), posted)
            if not (changed or v.files or submit):
                continue
            if v.row.report is None and not period.is_open:
                raise ApplicationError(f"{period.label}未开放填报。", field="period")
            _check_row(v)
        except ApplicationError as e:
            v.error, v.error_field = e.message, e.field or ""
            continue
        if submit and not posted["text"]:
            if not submit_all:
                v.error, v.error_field = "提交前请填写本期进展情况。", "text"
                continue
            outcome.notes[v.task.pk] = "未填写本期进展情况" + ("，已存为草稿" if changed or v.files else "")
            submit = False
            if not (changed or v.files):
                continue
        work.append((v, changed, submit))
    saved, submitted = _save_rows(work, unit=unit, period=period, actor=request.user)
    faulty = [v for v in views if v.error]
    parts = []
    if saved:
        parts.append(f"已保存 {saved} 项草稿")
    if submitted:
        late = timezone.now() >= period.due_at
        parts.append(f"已提交 {submitted} 项" + ("（已过报送截止时间，记为逾期提交）" if late else ""))
    if parts:
        messages.success(request, "，".join(parts) + "。")
    if faulty:
        messages.error(
            request, f"{len(faulty)} 项有填写错误，未保存，请按下方清单修改后再保存；其余内容已保存。"
        )
        outcome.redirect = False
    elif outcome.notes:
        messages.warning(request, f"{len(outcome.notes)} 项未提交，原因见下方清单。")
    elif not parts:
        messages.info(request, "没有需要保存的修改。")
    return outcome


# --------------------------------------------------------------------------------------------- secretariat


def _require_reader_of_all(user):
    require(user, "reports.read_all")


@login_required
def period_status(request):
    """Per period: who submitted, who is late, who has not; the reports of one unit; reports awaiting review."""
    _require_reader_of_all(request.user)
    period = _period_from(request)
    rows = period_submission_status(period=period) if period else []
    selected_unit = None
    unit_reports = []
    raw_unit = (request.GET.get("unit") or "").strip()
    if period and is_id(raw_unit):
        selected_unit = Unit.objects.filter(pk=int(raw_unit)).first()
        if selected_unit:
            unit_reports = list(
                reports_visible_to(user=request.user)
                .filter(period=period, unit=selected_unit)
                .order_by("task__document_id", "task__sort_key")
            )
    open_periods = list(periods_open())
    return render(
        request,
        "reports/period_status.html",
        {
            "period": period,
            "periods": periods_all(),
            "rows": rows,
            "totals": period_totals(rows),
            "selected_unit": selected_unit,
            "unit_reports": unit_reports,
            "open_periods": open_periods,
            "open_confirm": _open_confirmation(open_periods),
            "can_review": report_can_review(user=request.user),
            "open_form": PeriodOpenForm(initial=PeriodOpenForm.initial_for(timezone.localdate())),
            "due_form": DueDateForm(initial={"due_date": period.due_date} if period else None),
            "now": timezone.now(),
        },
    )


def _open_confirmation(open_periods: list[Period]) -> str:
    """The question asked before a period is opened; it names the periods that are open already."""
    text = "开启后各单位即可填报，并按截止日收到催报。"
    if open_periods:
        others = "、".join(p.label for p in open_periods)
        text += f"注意：{others}仍在开放，填报员会同时看到多个开放的填报期；如已结束请先关闭。"
    return text + "确定开启？"


def _require_reviewer(user):
    require(user, "reports.review")


@login_required
@require_POST
def period_open_view(request):
    require(request.user, "periods.manage")
    form = PeriodOpenForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, f"开启填报期失败：{e}")
        return redirect("reports:period-status")
    try:
        period, created = period_open(
            year=form.cleaned_data["year"],
            quarter=form.cleaned_data["quarter"],
            due_date=form.cleaned_data["due_date"],
            actor=request.user,
        )
    except ApplicationError as e:
        messages.error(request, f"开启填报期失败：{e.message}")
        return redirect("reports:period-status")
    messages.success(
        request,
        f"{'已开启' if created else '已重新开放'}{period.label}，报送截止日 {period.due_date:%Y-%m-%d}。",
    )
    others = [p.label for p in periods_open().exclude(pk=period.pk)]
    if others:
        messages.warning(request, f"同时开放的还有：{'、'.join(others)}。")
    return HttpResponseRedirect(f"{reverse('reports:period-status')}?period={period.pk}")


@login_required
@require_POST
def period_due_view(request, pk):
    require(request.user, "periods.manage")
    period = get_object_or_404(Period, pk=pk)
    form = DueDateForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "修改截止日失败：" + "；".join(e for errs in form.errors.values() for e in errs)
        )
    else:
        period = period_set_due_date(
            period=period, due_date=form.cleaned_data["due_date"], actor=request.user
        )
        messages.success(request, f"{period.label}报送截止日已改为 {period.due_date:%Y-%m-%d}。")
    return HttpResponseRedirect(f"{reverse('reports:period-status')}?period={period.pk}")


@login_required
@require_POST
def period_close_view(request, pk):
    require(request.user, "periods.manage")
    period = get_object_or_404(Period, pk=pk)
    period = period_close(period=period, actor=request.user)
    messages.success(request, f"{period.label}已关闭填报，已开始的报告仍可完成和审核。")
    return HttpResponseRedirect(f"{reverse('reports:period-status')}?period={period.pk}")


# --------------------------------------------------------------------------------------------- review queue

QUEUE_SHOWN = 500  # a quarter brings ~480 reports; more than this waits for the next page load


@login_required
def review_queue(request):
    """Reports awaiting review, oldest submission first, grouped per unit or per task, with batch accept."""
    _require_reviewer(request.user)
    period = _period_from(request)
    group = "task" if request.GET.get("group") == "task" else "unit"
    pending = []
    if period:
        pending = list(
            reports_pending_review(user=request.user, period=period)
            .select_related("task__document")
            .only(
                "pk", "version", "submitted_at", "is_late", "progress", "percent", "text", "status",
                "task__id", "task__path_key", "task__title", "task__sort_key", "task__document__doc_number",
                "unit__id", "unit__name", "period__id", "period__year", "period__quarter", "period__due_date",
            )[:QUEUE_SHOWN]
        )  # fmt: skip
    groups: dict = {}
    for r in pending:
        key = r.unit_id if group == "unit" else r.task_id
        label = (
            r.unit.name
            if group == "unit"
            else f"{r.task.document.doc_number or ''} {r.task.path_key}《{r.task.title}》"
        )
        groups.setdefault(key, {"key": key, "label": label.strip(), "reports": []})["reports"].append(r)
    totals = period_totals(period_submission_status(period=period)) if period else {}
    return render(
        request,
        "reports/review_queue.html",
        {
            "period": period,
            "periods": periods_all(),
            "group": group,
            "groups": list(groups.values()),  # in order of each group's oldest submission
            "pending_count": len(pending),
            "truncated": len(pending) >= QUEUE_SHOWN,
            "totals": totals,
        },
    )


@login_required
@require_POST
def review_accept_selected(request):
    """Batch accept (批量通过): the selected reports, each checked against the version the reviewer saw."""
    _require_reviewer(request.user)
    period = _period_from(request)
    chosen: dict[int, int] = {}
    for raw in request.POST.getlist("report"):
        pk, _, version = raw.partition(":")
        if is_id(pk) and is_id(version):
            chosen[int(pk)] = int(version)
    back = f"{reverse('reports:review-queue')}?period={period.pk if period else ''}"
    if request.POST.get("group") == "task":
        back += "&group=task"
    if not chosen:
        messages.error(request, "请先勾选要通过的报告。")
        return HttpResponseRedirect(back)
    reports = {r.pk: r for r in reports_visible_to(user=request.user).filter(pk__in=chosen)}
    accepted, failed = report_accept_many(
        reports=[(reports[pk], v) for pk, v in chosen.items() if pk in reports], actor=request.user
    )
    if accepted:
        messages.success(request, f"已审核通过 {len(accepted)} 份报告，已锁定。")
    for report, reason in failed:
        messages.error(request, f"{report.unit.name} · 任务 {report.task.path_key}：未通过审核——{reason}")
    return HttpResponseRedirect(back)


# --------------------------------------------------------------------------------------------- report detail


def _revision_rows(report: Report):
    labels = dict(Progress.choices)
    targets = {t.pk: t for t in report.task.targets.all()}
    rows = []
    for rev in report.revisions.select_related("actor").order_by("-number"):
        d = rev.data or {}
        rows.append(
            {
                "rev": rev,
                "action": {
                    "submit": "提交",
                    "return": "退回",
                    "accept": "审核通过",
                    "reopen": "重新打开",
                }.get(rev.action, rev.action),
                "progress": labels.get(d.get("progress"), d.get("progress")),
                "percent": d.get("percent"),
                "text": d.get("text", ""),
                "problems": d.get("problems", ""),
                "next_steps": d.get("next_steps", ""),
                "targets": [
                    (
                        targets[int(k)].indicator if int(k) in targets else f"指标{k}",
                        v,
                        targets[int(k)].unit if int(k) in targets else "",
                    )
                    for k, v in (d.get("target_values") or {}).items()
                ],
            }
        )
    return rows


@login_required
def report_detail(request, pk):
    report = report_get_visible(user=request.user, pk=pk)
    report = (
        Report.objects.select_related("task", "unit", "period", "reviewed_by")
        .prefetch_related("target_values", "attachments", "task__targets")
        .get(pk=report.pk)
    )
    report = report_as_read_by(user=request.user, report=report)  # a returned report: as last submitted
    values = {tv.target_id: tv.value for tv in report.target_values.all()}
    targets = [(t, values.get(t.pk), t.is_met_by(values.get(t.pk))) for t in report.task.targets.all()]
    user = request.user
    is_lead_reader = (
        has(user, "reports.read_led")
        and TaskUnit.objects.filter(task=report.task, unit_id=user.unit_id, role=TaskUnit.Role.LEAD).exists()
    )
    return render(
        request,
        "reports/report_detail.html",
        {
            "report": report,
            "targets": targets,
            "revisions": _revision_rows(report),
            "can_review": report_can_review(user=user),
            "can_edit": report_can_edit(user=user, report=report),
            "can_compare": has(user, "reports.read_all") or is_lead_reader,
            "reason_form": ReasonForm(),
        },
    )


REVIEW_ACTIONS = {"return": "退回", "accept": "审核通过", "reopen": "重新打开"}


@login_required
@require_POST
def report_review(request, pk, action):
    report = report_get_visible(user=request.user, pk=pk)  # 404 before 403
    if action not in REVIEW_ACTIONS:
        raise Http404
    _require_reviewer(request.user)
    version = (request.POST.get("version") or "").strip() or None
    reason = (request.POST.get("reason") or "").strip()
    try:
        if action == "return":
            report_return(report=report, reason=reason, actor=request.user, version=version)
        elif action == "accept":
            report_accept(report=report, actor=request.user, version=version)
        else:
            report_reopen(report=report, reason=reason, actor=request.user, version=version)
    except ApplicationError as e:
        messages.error(request, f"{REVIEW_ACTIONS[action]}失败：{e.message}")
        return redirect("reports:detail", pk=report.pk)
    done = f"{report.unit.name} · 任务 {report.task.path_key} 的报告已{REVIEW_ACTIONS[action]}"
    if request.POST.get("next") and action in ("accept", "return"):
        following = report_next_pending(user=request.user, period=report.period, exclude=report.pk)
        if following is not None:
            left = reports_pending_review(user=request.user, period=report.period).count()
            messages.success(request, f"{done}。下一份（还有 {left} 份待审核）：")
            return redirect("reports:detail", pk=following.pk)
        messages.success(request, f"{done}。{report.period.label}已没有待审核的报告。")
        return HttpResponseRedirect(f"{reverse('reports:review-queue')}?period={report.period_id}")
    messages.success(request, f"{done}。")
    return redirect("reports:detail", pk=report.pk)


# --------------------------------------------------------------------------------------------- lead unit view


@login_required
def task_compare(request, task_id):
    """All units' reports on one task for one period, side by side: for its lead units and the secretariat."""
    user = request.user
    task = get_object_or_404(
        tasks_visible_to(user=user).prefetch_related("targets", "task_units__unit"), pk=task_id
    )
    if not has(user, "reports.read_all"):
        if not (
            has(user, "reports.read_led")
            and TaskUnit.objects.filter(task=task, unit_id=user.unit_id, role=TaskUnit.Role.LEAD).exists()
        ):
            raise Http404
    period = _period_from(request)
    rows = task_period_reports(task=task, period=period, user=user) if period else []
    targets = list(task.targets.all())
    for row in rows:
        values = {tv.target_id: tv.value for tv in row["report"].target_values.all()} if row["report"] else {}
        row["values"] = [(t, values.get(t.pk)) for t in targets]
    return render(
        request,
        "reports/task_compare.html",
        {"task": task, "period": period, "periods": periods_all(), "rows": rows, "targets": targets},
    )


# --------------------------------------------------------------------------------------------- attachments


@login_required
def attachment_download(request, pk):
    attachment = get_object_or_404(attachments_visible_to(user=request.user), pk=pk)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.original_name, content_type=attachment.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
def attachment_delete(request, pk):
    attachment = get_object_or_404(attachments_visible_to(user=request.user), pk=pk)
    report = attachment.report
    if not report_can_edit(user=request.user, report=report):
        raise PermissionDenied("只能删除本单位报告的附件。")
    try:
        attachment_remove(attachment=attachment, actor=request.user)
    except ApplicationError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, f"已删除附件“{attachment.original_name}”。")
    return HttpResponseRedirect(
        f"{reverse('reports:my-form')}?period={report.period_id}#task-{report.task_id}"
    )


urlpatterns = [
    path("reports/my/", my_form, name="my-form"),
    path("reports/status/", period_status, name="period-status"),
    path("reports/review/", review_queue, name="review-queue"),
    path("reports/review/accept/", review_accept_selected, name="review-accept-selected"),
    path("reports/periods/open/", period_open_view, name="period-open"),
    path("reports/periods/<int:pk>/due/", period_due_view, name="period-due"),
    path("reports/periods/<int:pk>/close/", period_close_view, name="period-close"),
    path("reports/<int:pk>/", report_detail, name="detail"),
    path("reports/<int:pk>/<str:action>/", report_review, name="review"),
    path("reports/tasks/<int:task_id>/", task_compare, name="task-compare"),
    path("reports/attachments/<int:pk>/", attachment_download, name="attachment"),
    path("reports/attachments/<int:pk>/delete/", attachment_delete, name="attachment-delete"),
]
