"""reporting pages: the reporter's quarterly form (reports.views.form), the secretariat's period status and review, the lead unit's
side-by-side view, and attachment downloads.

URL names (namespace ``reports``): my-form, period-status, period-open, period-due, period-close, detail,
review (return / accept / reopen), task-compare, attachment, attachment-delete.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from departments.models import Unit
from departments.permissions import has, require
from departments.services import ApplicationError
from reform_ledger.params import is_id
from tasks.models import Progress, TaskUnit
from tasks.selectors import tasks_visible_to

from ..forms import DueDateForm, PeriodOpenForm, ReasonForm
from ..models import Period, Report
from ..period_services import period_close, period_open, period_set_due_date
from ..selectors import (
    attachments_visible_to,
    period_submission_status,
    period_totals,
    periods_all,
    periods_open,
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
    attachment_remove,
    report_accept,
    report_accept_many,
    report_reopen,
    report_return,
)
from .form import _period_from, my_form

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
