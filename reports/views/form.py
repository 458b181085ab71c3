"""The reporter's quarterly form: one card per task the unit carries, saved together (every valid card kept, the
faulty ones listed), quick answers, reuse of last quarter's text, 全部提交. URL name ``reports:my-form``
(reports.views.reporting)."""

from __future__ import annotations

import re
from contextlib import nullcontext
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from departments.models import Unit
from departments.permissions import require
from departments.services import ApplicationError
from reform_ledger.db import retry_transaction
from reform_ledger.params import is_id
from tasks.models import Progress, Task

from ..attachments import attachment_check
from ..models import Period, Report, ReportStatus
from ..periods import period_resolve
from ..selectors import (
    FORM_STATES,
    FormRow,
    form_rows_for,
    open_periods_owed,
    period_current,
    periods_all,
    previous_reports_for,
)
from ..services import (
    DraftRow,
    attachment_add,
    report_clean_data,
    report_get_or_create_for,
    report_lock_tasks,
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
