"""延期申请 (extension requests): a lead unit asks to move one milestone of its task; the secretariat decides.

- Only a reporter of one of the task's lead units asks (another unit's request answers 404 everywhere); only the
  secretariat approves or rejects; leaders read everything; the administrator and the auditor see none of it.
- One pending request per milestone (a partial unique index backs the check against two requests at once).
- Deciding is a conditional update (`status = pending`), so of two secretaries deciding at the same moment
  one wins and the other gets 409 with who decided and how; nothing of the loser's decision is written.
- Approval moves the milestone, keeps the plan's date in `Milestone.original_date`, refreshes the task's
  denormalised schedule (lights, 序时进度, dashboard and 通报 then use the approved date), bumps the task
  version (a form opened before the move cannot silently put the old date back) and is audited on the request
  and on the task.
"""

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import timezone

from departments.models import Role
from departments.permissions import has
from departments.services import ApplicationError, ConflictError, PermissionDeniedError, audit_log
from tasks.models import ExtensionRequest, Milestone, Progress, Task, TaskUnit
from tasks.services import task_refresh_schedule

from .jobs import deliveries_enqueue
from .models import Reminder
from .notices import _text, _when, parse_date
from .reminders import PlannedReminder, local_date, reminders_claim, reminders_dispatch

Status = ExtensionRequest.Status


def extension_can_decide(*, user) -> bool:
    return has(user, "supervision.decide")


def extension_can_request(*, user, task: Task) -> bool:
    """A reporter whose unit leads the task (牵头单位)."""
    return has(user, "extensions.request") and (
        TaskUnit.objects.filter(task=task, unit_id=user.unit_id, role=TaskUnit.Role.LEAD).exists()
    )


def extensions_visible_to(*, user) -> QuerySet[ExtensionRequest]:
    qs = ExtensionRequest.objects.select_related("task", "unit", "requested_by", "decided_by")
    if not has(user, "supervision.read"):
        return qs.none()
    if user.role in (Role.SECRETARIAT, Role.LEADER):
        return qs
    return qs.filter(unit_id=user.unit_id)


def extensions_approved(
    *, since: dt.date | None = None, until: dt.date | None = None
) -> QuerySet[ExtensionRequest]:
    """Approved extensions (for the 通报), optionally those decided within [since, until] (local dates)."""
    qs = ExtensionRequest.objects.filter(status=Status.APPROVED).select_related(
        "task", "unit", "task__document"
    )
    if since is not None:
        qs = qs.filter(decided_at__date__gte=since)
    if until is not None:
        qs = qs.filter(decided_at__date__lte=until)
    return qs.order_by("decided_at", "id")


def extension_milestones(*, task: Task) -> list[Milestone]:
    """The milestones a request may be about: dated and not done."""
    return [m for m in task.milestones.all() if m.date and not m.done]


def _link() -> str:
    return reverse("reports:extension-list")


def _tell(req: ExtensionRequest, *, stage: str, message: str, now: dt.datetime, escalation: int = 0) -> None:
    planned = PlannedReminder(
        unit_id=req.unit_id,
        kind=Reminder.Kind.EXTENSION,
        subject_key=f"extension:{req.pk}",
        stage=stage,
        escalation=escalation,
        send_on=local_date(now),
        link=_link(),
        message=message,
    )
    reminders_dispatch(
        reminder_ids=reminders_claim(planned=[planned], now=now), now=now, deliver=deliveries_enqueue
    )


def _label(task: Task) -> str:
    return f"{task.path_key}《{task.title[:30]}{'…' if len(task.title) > 30 else ''}》"


@transaction.atomic
def extension_request(
    *, task: Task, milestone_date, new_date, reason: str, actor, now: dt.datetime | None = None, request=None
) -> ExtensionRequest:
    """Ask to move the milestone dated `milestone_date` to `new_date`. After that date it is a 逾期申请."""
    now = now or timezone.now()
    if not extension_can_request(user=actor, task=task):
        raise PermissionDeniedError("只有该任务牵头单位的填报员可以申请延期。")
    if task.deleted_at is not None:
        raise ApplicationError("任务已删除，不能申请延期。", field="task")
    if task.status == Progress.COMPLETED:
        raise ApplicationError(f"任务 {task.path_key} 已完成，不能申请延期。", field="task")
    old = parse_date(milestone_date, field="milestone_date", label="要延期的时间节点")
    new = parse_date(new_date, field="new_date", label="申请延期至")
    reason = _text(reason, field="reason", label="延期理由", max_len=2000)
    milestones = [m for m in task.milestones.all() if m.date == old]
    if not milestones:
        dates = "、".join(f"{m.date:%Y-%m-%d}" for m in extension_milestones(task=task)) or "无"
        raise ApplicationError(
            f"任务 {task.path_key} 没有日期为 {old:%Y-%m-%d} 的时间节点（可申请延期的节点：{dates}）。",
            field="milestone_date",
        )
    milestone = next((m for m in milestones if not m.done), None)
    if milestone is None:
        raise ApplicationError(f"{old:%Y-%m-%d} 的时间节点已完成，无需延期。", field="milestone_date")
    if new <= old:
        raise ApplicationError(
            f"申请延期至的日期 {new:%Y-%m-%d} 必须晚于原时限 {old:%Y-%m-%d}。", field="new_date"
        )
    pending = ExtensionRequest.objects.filter(task=task, milestone_date=old, status=Status.PENDING).first()
    if pending is not None:
        raise ConflictError(
            f"{old:%Y-%m-%d} 的时间节点已有一份待审批的延期申请（第 {pending.pk} 号，{_when(pending.created_at)} 提交），"
            "请等待医改办审批后再申请。",
            field="milestone_date",
            extra={"id": pending.pk},
        )
    today = local_date(now)
    req = ExtensionRequest(
        task=task,
        milestone=milestone,
        unit_id=actor.unit_id,
        milestone_date=old,
        new_date=new,
        reason=reason,
        is_late=old < today,
        requested_by=actor,
    )
    req.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            req.save()
    except IntegrityError:
        # Two requests for the same milestone at the same moment: the partial unique index let one through.
        raise ConflictError(
            f"{old:%Y-%m-%d} 的时间节点已有一份待审批的延期申请，请刷新后查看。", field="milestone_date"
        ) from None
    late = "（逾期申请：原时限已过）" if req.is_late else ""
    audit_log(
        actor=actor,
        request=request,
        action="extension_request",
        obj=req,
        changes={
            "task": [None, task.path_key],
            "milestone_date": [None, f"{old:%Y-%m-%d}"],
            "new_date": [None, f"{new:%Y-%m-%d}"],
            "reason": [None, reason],
        },
        message=late,
    )
    _tell(
        req,
        stage="requested",
        escalation=1,  # the secretariat decides: it is told at once, the unit gets the acknowledgement
        now=now,
        message=(
            f"{req.unit.display_name}申请将任务 {_label(task)} 的节点 {old:%Y-%m-%d} 延期至 {new:%Y-%m-%d}{late}，"
            f"理由：{reason[:200]}。待医改办审批。"
        ),
    )
    return req


def _claim_decision(req: ExtensionRequest, *, status: str, actor, reason: str, now) -> ExtensionRequest:
    """The conditional update that makes deciding happen once. The loser learns who decided and how (409)."""
    won = ExtensionRequest.objects.filter(pk=req.pk, status=Status.PENDING).update(
        status=status, decided_by=actor, decided_at=now, decision_reason=reason
    )
    fresh = ExtensionRequest.objects.select_related("task", "unit", "decided_by", "milestone").get(pk=req.pk)
    if not won:
        who = fresh.decided_by or "—"
        when = _when(fresh.decided_at) if fresh.decided_at else "—"
        raise ConflictError(
            f"该延期申请已由 {who} 于 {when} 审批（{fresh.get_status_display()}），不能重复审批。",
            field="status",
            extra={"status": fresh.status},
        )
    return fresh


@transaction.atomic
def extension_approve(
    *, extension: ExtensionRequest, actor, reason: str = "", now: dt.datetime | None = None, request=None
) -> ExtensionRequest:
    now = now or timezone.now()
    if not extension_can_decide(user=actor):
        raise PermissionDeniedError("只有医改办工作人员可以审批延期申请。")
    reason = str(reason or "").strip()
    if len(reason) > 2000:
        raise ApplicationError("审批意见不能超过 2000 字。", field="reason")
    req = _claim_decision(extension, status=Status.APPROVED, actor=actor, reason=reason or "同意", now=now)
    task = Task.objects.select_for_update().get(pk=req.task_id)
    milestone = req.milestone
    if milestone is None or milestone.date != req.milestone_date:
        # The task was edited since the request (its milestones rewritten): find the node by its date again.
        milestone = task.milestones.filter(date=req.milestone_date).order_by("done", "id").first()
    if milestone is None:
        raise ApplicationError(
            f"任务 {task.path_key} 已没有 {req.milestone_date:%Y-%m-%d} 的时间节点（任务已被修改），无法批准此申请；"
            "请驳回并请单位重新申请。",
            field="milestone_date",
        )
    if task.status == Progress.COMPLETED:
        raise ApplicationError(f"任务 {task.path_key} 已完成，无需再延期；请驳回此申请。", field="task")
    old_schedule = _schedule_text(task)
    Milestone.objects.filter(pk=milestone.pk).update(
        date=req.new_date, original_date=milestone.original_date or milestone.date
    )
    ExtensionRequest.objects.filter(pk=req.pk).update(milestone=milestone)
    Task.objects.filter(pk=task.pk).update(version=F("version") + 1, updated_at=now)
    task_refresh_schedule(task=task)
    note = (
        f"原定 {(milestone.original_date or milestone.date):%Y-%m-%d}，经批准延期至 {req.new_date:%Y-%m-%d}"
    )
    audit_log(
        actor=actor,
        request=request,
        action="extension_approve",
        obj=req,
        changes={"status": ["待审批", "已批准"], "decision_reason": [None, req.decision_reason]},
        message=note,
    )
    # Also on the task, as the edit it is: the task history shows it and the version count stays consistent.
    audit_log(
        actor=actor,
        request=request,
        action="task_update",
        obj=task,
        changes={"milestones": [old_schedule, _schedule_text(task)]},
        message=f"延期申请第 {req.pk} 号获批：{note}",
    )
    _tell(
        req,
        stage="decided",
        now=now,
        message=f"任务 {_label(task)} 的延期申请已批准：{note}。审批意见：{req.decision_reason}",
    )
    return ExtensionRequest.objects.select_related("task", "unit", "decided_by", "requested_by").get(
        pk=req.pk
    )


def _schedule_text(task: Task) -> str:
    return "；".join(
        f"{m.date:%Y-%m-%d}" + (f"（{m.text}）" if m.text else "") if m.date else m.text
        for m in Milestone.objects.filter(task=task).order_by(F("date").asc(nulls_last=True), "id")
    )


@transaction.atomic
def extension_reject(
    *, extension: ExtensionRequest, actor, reason: str, now: dt.datetime | None = None, request=None
) -> ExtensionRequest:
    now = now or timezone.now()
    if not extension_can_decide(user=actor):
        raise PermissionDeniedError("只有医改办工作人员可以审批延期申请。")
    reason = _text(reason, field="reason", label="不予批准的理由", max_len=2000)
    req = _claim_decision(extension, status=Status.REJECTED, actor=actor, reason=reason, now=now)
    audit_log(
        actor=actor,
        request=request,
        action="extension_reject",
        obj=req,
        changes={"status": ["待审批", "未批准"], "decision_reason": [None, reason]},
    )
    _tell(
        req,
        stage="decided",
        now=now,
        message=(
            f"任务 {_label(req.task)} 将节点 {req.milestone_date:%Y-%m-%d} 延期至 {req.new_date:%Y-%m-%d} 的申请"
            f"未获批准，理由：{reason}。请按原时限推进。"
        ),
    )
    return ExtensionRequest.objects.select_related("task", "unit", "decided_by", "requested_by").get(
        pk=req.pk
    )
