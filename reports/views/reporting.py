"""reporting pages: the reporter's quarterly form, the secretariat's period status and review, the lead unit's
side-by-side view, and attachment downloads.

URL names (namespace ``reports``): my-form, period-status, period-open, period-due, period-close, detail,
review (return / accept / reopen), task-compare, attachment, attachment-delete.
"""

from __future__ import annotations

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
from reform_ledger.params import is_id
from tasks.models import Progress, Task, TaskUnit
from tasks.selectors import tasks_visible_to

from ..forms import DueDateForm, PeriodOpenForm, ReasonForm
from ..models import Period, Report, ReportStatus
from ..periods import period_resolve
from ..selectors import (
    FormRow,
    attachments_visible_to,
    form_rows_for,
    period_current,
    period_submission_status,
    period_totals,
    periods_all,
    report_can_edit,
    report_can_review,
    report_get_visible,
    reports_visible_to,
    task_period_reports,
)
from ..services import (
    attachment_add,
    attachment_check,
    attachment_remove,
    period_close,
    period_open,
    period_set_due_date,
    report_accept,
    report_clean_data,
    report_get_or_create_for,
    report_reopen,
    report_return,
    report_save_draft,
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


@dataclass
class RowView:
    """A form row as shown: the stored state plus what the user typed (kept when the page is re-shown)."""

    row: FormRow
    vals: dict
    error: str = ""
    error_field: str = ""
    files: list = field(default_factory=list)

    @property
    def task(self) -> Task:
        return self.row.task

    @property
    def prefix(self) -> str:
        return f"t{self.row.task.pk}"

    def targets(self):
        return [(t, self.vals["targets"].get(t.pk, "")) for t in self.row.task.targets.all()]


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
    }


def _posted_vals(request, row: FormRow) -> dict:
    p = f"t{row.task.pk}-"
    vals = {name: (request.POST.get(p + name) or "").strip() for name in CONTENT}
    vals["targets"] = {
        t.pk: (request.POST.get(f"{p}target-{t.pk}") or "").strip() for t in row.task.targets.all()
    }
    vals["version"] = (request.POST.get(p + "version") or "").strip()
    return vals


def _as_data(vals: dict) -> dict:
    data = {name: vals[name] for name in CONTENT}
    data["target_values"] = [{"target": tid, "value": v} for tid, v in vals["targets"].items()]
    return data


def _changed(stored: dict, posted: dict) -> bool:
    return any(stored[k] != posted[k] for k in CONTENT) or stored["targets"] != posted["targets"]


def _require_reporter(user):
    require(user, "reports.write")


@login_required
def my_form(request):
    """The reporter's landing page: one row per task of the unit in the open period."""
    _require_reporter(request.user)
    period = _period_from(request)
    unit = Unit.objects.get(pk=request.user.unit_id)
    rows = form_rows_for(unit=unit, period=period) if period else []
    views = [RowView(row=r, vals=_stored_vals(r)) for r in rows]
    status = 200
    if request.method == "POST" and period is not None:
        outcome = _handle_form_post(request, unit=unit, period=period, views=views)
        if outcome is None:
            return HttpResponseRedirect(f"{reverse('reports:my-form')}?period={period.pk}")
        status = 400
    can_start = bool(period and period.is_open)
    counts = {
        "total": len(rows),
        "submitted": sum(1 for r in rows if r.report and r.report.is_submitted),
        "returned": sum(1 for r in rows if r.report and r.report.status == ReportStatus.RETURNED),
    }
    return render(
        request,
        "reports/my_form.html",
        {
            "period": period,
            "periods": periods_all(),
            "unit": unit,
            "rows": views,
            "can_start": can_start,
            "progress_choices": Progress.choices,
            "counts": counts,
            "now": timezone.now(),
        },
        status=status,
    )


def _handle_form_post(request, *, unit: Unit, period: Period, views: list[RowView]) -> str | None:
    """Save every changed row as a draft and submit the ones asked for, all or nothing.

    Returns None on success (the caller redirects), or an error marker after filling row errors.
    """
    action = request.POST.get("action", "save")
    submit_ids: set[int] = set()
    if action == "submit_all":
        submit_ids = {v.task.pk for v in views if v.row.editable}
    elif action.startswith("submit:") and is_id(action[7:]):
        submit_ids = {int(action[7:])}
    work = []
    for v in views:
        if not v.row.editable:
            continue
        posted = _posted_vals(request, v.row)
        files = request.FILES.getlist(f"{v.prefix}-files")
        changed = _changed(v.vals, posted)
        v.vals = posted
        v.files = files
        submit = v.task.pk in submit_ids
        if not (changed or files or submit):
            continue
        if v.row.report is None and not period.is_open:
            v.error = f"{period.label}未开放填报。"
            continue
        try:
            report_clean_data(task=v.task, data=_as_data(posted))
            for f in files:
                attachment_check(name=f.name, head=f.read(8192), size=f.size, fileobj=f)
                f.seek(0)
            if submit and not posted["text"]:
                raise ApplicationError("提交前请填写本期进展情况。", field="text")
        except ApplicationError as e:
            v.error, v.error_field = e.message, e.field or ""
            continue
        work.append((v, changed, files, submit))
    if any(v.error for v in views):
        messages.error(request, "有填写错误，所有内容均未保存，请按提示修改后重新保存。")
        return "invalid"
    if not work:
        messages.info(request, "没有需要保存的修改。")
        return None
    current = None
    try:
        with transaction.atomic():
            for v, changed, files, submit in work:
                current = v
                report, created = report_get_or_create_for(
                    task=v.task, unit=unit, period=period, actor=request.user
                )
                version = None if created else (v.vals["version"] or None)
                if changed:
                    report = report_save_draft(
                        report=report, data=_as_data(v.vals), version=version, actor=request.user
                    )
                    version = None
                for f in files:
                    attachment_add(report=report, file=f, actor=request.user)
                if submit:
                    report_submit(report=report, actor=request.user, version=version)
    except ApplicationError as e:
        current.error, current.error_field = e.message, e.field or ""
        messages.error(request, "保存失败，所有内容均未保存：" + e.message)
        return "failed"
    submitted = sum(1 for w in work if w[3])
    saved = len(work) - submitted
    parts = []
    if saved:
        parts.append(f"已保存 {saved} 项草稿")
    if submitted:
        late = timezone.now() >= period.due_at
        parts.append(f"已提交 {submitted} 项" + ("（已过报送截止时间，记为逾期提交）" if late else ""))
    messages.success(request, "，".join(parts) + "。")
    return None


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
    awaiting = []
    if period:
        awaiting = list(
            reports_visible_to(user=request.user)
            .filter(period=period, status=ReportStatus.SUBMITTED)
            .order_by("submitted_at")[:200]
        )
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
            "awaiting": awaiting,
            "can_review": report_can_review(user=request.user),
            "open_form": PeriodOpenForm(initial=PeriodOpenForm.initial_for(timezone.localdate())),
            "due_form": DueDateForm(initial={"due_date": period.due_date} if period else None),
            "now": timezone.now(),
        },
    )


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
    else:
        messages.success(request, f"报告已{REVIEW_ACTIONS[action]}。")
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
    path("reports/periods/open/", period_open_view, name="period-open"),
    path("reports/periods/<int:pk>/due/", period_due_view, name="period-due"),
    path("reports/periods/<int:pk>/close/", period_close_view, name="period-close"),
    path("reports/<int:pk>/", report_detail, name="detail"),
    path("reports/<int:pk>/<str:action>/", report_review, name="review"),
    path("reports/tasks/<int:task_id>/", task_compare, name="task-compare"),
    path("reports/attachments/<int:pk>/", attachment_download, name="attachment"),
    path("reports/attachments/<int:pk>/delete/", attachment_delete, name="attachment-delete"),
]
