"""督办 pages: notices (督办单: issue, list, detail with 签收 / 答复 / 办结 / 退回, print, Word) and extension
requests (延期申请: ask from the task, the secretariat's queue with 批准 / 不予批准), and the notification
preferences page.

URL names (namespace ``reports``): notice-list, notice-new, notice-detail, notice-action, notice-print,
notice-docx, extension-list, extension-new, extension-decide, notification-preferences.
"""

import datetime as dt
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from departments.models import Unit, UnitKind
from departments.permissions import require
from departments.services import ApplicationError, PermissionDeniedError
from reform_ledger.params import is_id
from tasks.lights import task_light
from tasks.models import ExtensionRequest, Progress
from tasks.selectors import task_rows_prefetch, tasks_visible_to, unit_task_q

from ..extensions import (
    extension_approve,
    extension_can_decide,
    extension_can_request,
    extension_milestones,
    extension_reject,
    extension_request,
    extensions_visible_to,
)
from ..models import Notice
from ..notice_docx import notice_docx
from ..notices import (
    notice_can_answer,
    notice_can_decide,
    notice_can_issue,
    notice_close,
    notice_issue,
    notice_reopen,
    notice_reply,
    notice_sign,
    notice_tasks,
    notices_visible_to,
)
from ..notify import NotificationPreference, preference_for, preference_update

PAGE_SIZE = 50


def _page(request, qs):
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _require_supervision_role(request):
    """The administrator and the auditor have no 督办 pages at all."""
    require(request.user, "supervision.read")


# --------------------------------------------------------------------------------------------------- notices


@login_required
def notice_list(request):
    _require_supervision_role(request)
    qs = notices_visible_to(user=request.user).prefetch_related("tasks")
    status = request.GET.get("status") or ""
    if status == "open":
        qs = qs.exclude(status=Notice.Status.CLOSED)
    elif status in Notice.Status.values:
        qs = qs.filter(status=status)
    elif status:
        messages.error(request, f"筛选条件“状态”的值“{status}”无效。")
    return render(
        request,
        "reports/notice_list.html",
        {
            "page": _page(request, qs.order_by("-year", "-seq")),
            "status": status,
            "statuses": Notice.Status.choices,
            "can_issue": notice_can_issue(user=request.user),
            "today": timezone.localdate(),
        },
    )


def _unit_choices():
    return Unit.objects.filter(deleted_at__isnull=True, is_active=True).exclude(kind=UnitKind.SECRETARIAT)


@login_required
def notice_new(request):
    """Issue a notice: pick the unit, then tick its tasks (lagging and overdue ones listed first)."""
    if not notice_can_issue(user=request.user):
        raise PermissionDenied("只有医改办工作人员和领导可以下发督办单。")
    source = request.POST if request.method == "POST" else request.GET
    units = _unit_choices().order_by("kind", "sort_order", "name")
    unit_raw = (source.get("unit") or "").strip()
    unit = units.filter(pk=int(unit_raw)).first() if is_id(unit_raw) else None
    preset_task = source.get("task") or ""
    if unit is None and is_id(preset_task):
        # From a task page: the task's first lead unit.
        task = tasks_visible_to(user=request.user).filter(pk=int(preset_task)).first()
        unit = task.lead_units[0] if task is not None and task.lead_units else None
    chosen = {int(t) for t in source.getlist("tasks") if is_id(t)}
    if is_id(preset_task) and request.method == "GET":
        chosen.add(int(preset_task))
    today = timezone.localdate()
    rows = []
    if unit is not None:
        tasks = task_rows_prefetch(
            tasks_visible_to(user=request.user).filter(unit_task_q(unit)).exclude(status=Progress.COMPLETED)
        ).order_by("document_id", "sort_key")
        for task in tasks:
            light = task_light(task, today=today)
            rows.append({"task": task, "light": light, "checked": task.pk in chosen})
        order = {"overdue": 0, "due_soon": 1}
        rows.sort(key=lambda r: (order.get(r["light"].light, 2), r["task"].document_id, r["task"].sort_key))
    values = {
        "text": source.get("text") or "",
        "reply_by": source.get("reply_by") or f"{today + dt.timedelta(days=10):%Y-%m-%d}",
    }
    error, error_field = None, None
    if request.method == "POST" and request.POST.get("issue"):
        try:
            notice = notice_issue(
                unit=unit, tasks=sorted(chosen), text=values["text"], reply_by=values["reply_by"],
                actor=request.user, request=request,
            )  # fmt: skip
        except PermissionDeniedError as exc:
            raise PermissionDenied(exc.message) from None
        except ApplicationError as exc:
            error, error_field = exc.message, exc.field
        else:
            messages.success(request, f"已下发{notice.number}，{notice.unit.name}将收到通知。")
            return redirect("reports:notice-detail", notice.pk)
    return render(
        request,
        "reports/notice_form.html",
        {
            "units": units,
            "unit": unit,
            "rows": rows,
            "values": values,
            "error": error,
            "error_field": error_field,
        },
        status=400 if error else 200,
    )


def _notice_or_404(request, pk) -> Notice:
    return get_object_or_404(notices_visible_to(user=request.user), pk=pk)


@login_required
def notice_detail(request, pk: int):
    notice = _notice_or_404(request, pk)
    user = request.user
    answer = notice_can_answer(user=user, notice=notice) and notice.status != Notice.Status.CLOSED
    decide = notice_can_decide(user=user)
    return render(
        request,
        "reports/notice_detail.html",
        {
            "notice": notice,
            "tasks": notice_tasks(notice),
            "events": notice.events.select_related("actor"),
            "can_sign": answer and notice.signed_at is None,
            "can_reply": answer and notice.status != Notice.Status.REPLIED,
            "can_close": decide and notice.status != Notice.Status.CLOSED,
            "can_reopen": decide and notice.status in (Notice.Status.REPLIED, Notice.Status.CLOSED),
            "today": timezone.localdate(),
        },
    )


ACTIONS = {
    "sign": lambda n, p, r: notice_sign(notice=n, actor=r.user, request=r),
    "reply": lambda n, p, r: notice_reply(
        notice=n, text=p.get("text"), expected_date=p.get("expected_date"), actor=r.user, request=r
    ),
    "close": lambda n, p, r: notice_close(notice=n, actor=r.user, request=r),
    "reopen": lambda n, p, r: notice_reopen(
        notice=n, reason=p.get("reason"), reply_by=p.get("reply_by") or None, actor=r.user, request=r
    ),
}
DONE = {
    "sign": "已签收",
    "reply": "答复已提交，等待医改办审核",
    "close": "已办结",
    "reopen": "已退回单位重新答复",
}


@login_required
@require_POST
def notice_action(request, pk: int, action: str):
    notice = _notice_or_404(request, pk)
    if action not in ACTIONS:
        raise PermissionDenied("未知的操作。")
    try:
        ACTIONS[action](notice, request.POST, request)
    except PermissionDeniedError as exc:
        raise PermissionDenied(exc.message) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{notice.number}{DONE[action]}。")
    return redirect("reports:notice-detail", notice.pk)


@login_required
def notice_print(request, pk: int):
    notice = _notice_or_404(request, pk)
    return render(request, "reports/notice_print.html", {"notice": notice, "tasks": notice_tasks(notice)})


@login_required
def notice_word(request, pk: int):
    notice = _notice_or_404(request, pk)
    buffer = io.BytesIO()
    notice_docx(notice=notice, tasks=notice_tasks(notice)).save(buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    from urllib.parse import quote

    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(notice.number + '.docx')}"
    return response


# --------------------------------------------------------------------------------------------------- extensions


@login_required
def extension_list(request):
    _require_supervision_role(request)
    qs = extensions_visible_to(user=request.user)
    status = request.GET.get("status") or ""
    if status in ExtensionRequest.Status.values:
        qs = qs.filter(status=status)
    elif status:
        messages.error(request, f"筛选条件“状态”的值“{status}”无效。")
    return render(
        request,
        "reports/extension_list.html",
        {
            "page": _page(request, qs.order_by("status", "-created_at", "-id")),
            "status": status,
            "statuses": ExtensionRequest.Status.choices,
            "can_decide": extension_can_decide(user=request.user),
        },
    )


@login_required
def extension_new(request):
    raw = (request.POST.get("task") if request.method == "POST" else request.GET.get("task")) or ""
    if not is_id(raw):
        raise PermissionDenied("请从任务页面发起延期申请。")
    task = get_object_or_404(tasks_visible_to(user=request.user), pk=int(raw))
    if not extension_can_request(user=request.user, task=task):
        raise PermissionDenied("只有该任务牵头单位的填报员可以申请延期。")
    source = request.POST if request.method == "POST" else request.GET
    values = {k: (source.get(k) or "").strip() for k in ("milestone_date", "new_date", "reason")}
    error, error_field = None, None
    if request.method == "POST":
        try:
            extension_request(
                task=task, milestone_date=values["milestone_date"], new_date=values["new_date"],
                reason=values["reason"], actor=request.user, request=request,
            )  # fmt: skip
        except PermissionDeniedError as exc:
            raise PermissionDenied(exc.message) from None
        except ApplicationError as exc:
            error, error_field = exc.message, exc.field
        else:
            messages.success(request, "延期申请已提交，医改办审批后会通知本单位。")
            return redirect("tasks:detail", task.pk)
    return render(
        request,
        "reports/extension_form.html",
        {
            "task": task,
            "milestones": extension_milestones(task=task),
            "values": values,
            "error": error,
            "error_field": error_field,
            "today": timezone.localdate(),
        },
        status=400 if error else 200,
    )


@login_required
@require_POST
def extension_decide(request, pk: int, decision: str):
    extension = get_object_or_404(extensions_visible_to(user=request.user), pk=pk)
    service = {"approve": extension_approve, "reject": extension_reject}.get(decision)
    if service is None:
        raise PermissionDenied("未知的操作。")
    try:
        req = service(
            extension=extension, actor=request.user, reason=request.POST.get("reason") or "", request=request
        )
    except PermissionDeniedError as exc:
        raise PermissionDenied(exc.message) from None
    except ApplicationError as exc:
        messages.error(request, f"第 {extension.pk} 号申请：{exc.message}")
    else:
        messages.success(request, f"第 {req.pk} 号延期申请{req.get_status_display()}。")
    return redirect(reverse("reports:extension-list") + "?status=pending")


# --------------------------------------------------------------------------------------------------- preferences


@login_required
def notification_preferences(request):
    pref = preference_for(request.user)
    error, error_field = None, None
    if request.method == "POST":
        try:
            pref = preference_update(
                user=request.user,
                mode=request.POST.get("mode"),
                by_email=request.POST.get("by_email") == "on",
                email=request.POST.get("email"),
                dingtalk_webhook=request.POST.get("dingtalk_webhook"),
                dingtalk_secret=request.POST.get("dingtalk_secret"),
                request=request,
            )
        except ApplicationError as exc:
            error, error_field = exc.message, exc.field
        else:
            messages.success(request, "通知设置已保存。")
            return redirect("reports:notification-preferences")
    return render(
        request,
        "reports/notification_preferences.html",
        {
            "pref": pref,
            "modes": NotificationPreference.Mode.choices,
            "error": error,
            "error_field": error_field,
            "values": request.POST if request.method == "POST" else None,
        },
        status=400 if error else 200,
    )


urlpatterns = [
    path("notices/", notice_list, name="notice-list"),
    path("notices/new/", notice_new, name="notice-new"),
    path("notices/<int:pk>/", notice_detail, name="notice-detail"),
    path("notices/<int:pk>/print/", notice_print, name="notice-print"),
    path("notices/<int:pk>/word/", notice_word, name="notice-docx"),
    path("notices/<int:pk>/<str:action>/", notice_action, name="notice-action"),
    path("extensions/", extension_list, name="extension-list"),
    path("extensions/new/", extension_new, name="extension-new"),
    path("extensions/<int:pk>/<str:decision>/", extension_decide, name="extension-decide"),
    path("settings/notifications/", notification_preferences, name="notification-preferences"),
]
