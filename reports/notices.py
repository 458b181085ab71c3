"""督办单 (supervision notices): who sees them, the workflow, and the reminders when a unit does not answer.

The workflow::

    issued ──sign (签收)──▶ signed ──reply (答复: 整改措施 + 预计完成时间)──▶ replied ──close (办结)──▶ closed
      │                      ▲                                              │                      │
      └──reply (signs too)───┼──────────────────────────────────────────────┘                      │
                             └────────────── reopen (退回, with a reason) ◀────────────────────────┘

- The secretariat and the leaders issue; only the unit's reporters sign and reply; only the secretariat closes
  and sends back. Everyone else (the administrator, the auditor) sees no notice at all.
- Numbers are 督办〔YYYY〕N号, N counting from 1 in each year; a clash of two issuers at once is retried.
- Each step is audited and kept in NoticeEvent (the refused replies of every send-back stay on record).
- No receipt or no reply by `reply_by`: the daily sweep reminds the unit (1 day before, on the day, then every
  REMINDER_OVERDUE_EVERY_DAYS), copying the secretariat and then the leaders as the rounds go on
  (`reports.notice_reminders`). Claims are keyed by the notice, its round of send-backs and the stage, so nothing
  is sent twice.
"""

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from departments.models import Role, Unit, UnitKind
from departments.permissions import has
from departments.services import ApplicationError, ConflictError, PermissionDeniedError, audit_log
from tasks.models import Task, TaskUnit

from .jobs import deliveries_enqueue
from .models import Notice, NoticeEvent, Reminder
from .notice_reminders import notice_link
from .reminders import PlannedReminder, local_date, reminders_claim, reminders_dispatch

TEXT_MAX = 5000
TASKS_MAX = 200

# --------------------------------------------------------------------------------------------------------------
# Who may do what (one rule each, used by pages, API and selectors)
# --------------------------------------------------------------------------------------------------------------


def notice_can_issue(*, user) -> bool:
    return has(user, "notices.issue")


def notice_can_decide(*, user) -> bool:
    """Close or send back: the secretariat only."""
    return has(user, "supervision.decide")


def notice_can_answer(*, user, notice: Notice) -> bool:
    """Sign and reply: a reporter of the notice's unit."""
    return has(user, "notices.answer") and user.unit_id == notice.unit_id


def notices_visible_to(*, user) -> QuerySet[Notice]:
    qs = Notice.objects.select_related("unit", "issued_by", "signed_by", "replied_by", "closed_by")
    if not has(user, "supervision.read"):
        return qs.none()
    if user.role in (Role.SECRETARIAT, Role.LEADER):
        return qs
    return qs.filter(unit_id=user.unit_id)  # a reporter (with a unit: has() says so): its own unit's


def notices_open_for(*, user, task: Task | None = None) -> QuerySet[Notice]:
    """Open notices the user sees (optionally about one task), the most urgent reply date first."""
    qs = notices_visible_to(user=user).exclude(status=Notice.Status.CLOSED)
    if task is not None:
        qs = qs.filter(tasks=task)
    return qs.order_by("reply_by", "id")


def notice_tasks(notice: Notice) -> list[Task]:
    return list(notice.tasks.order_by("document_id", "sort_key"))


# --------------------------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------------------------


def parse_date(value, *, field: str, label: str, required: bool = True) -> dt.date | None:
    if value in (None, ""):
        if required:
            raise ApplicationError(f"请填写{label}（格式 2026-06-30）。", field=field)
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ApplicationError(
            f"{label}“{value}”不是有效日期，应为 2026-06-30 的格式。", field=field
        ) from None


def _text(value, *, field: str, label: str, max_len: int = TEXT_MAX) -> str:
    text = str(value or "").strip()
    if not text:
        raise ApplicationError(f"请填写{label}。", field=field)
    if len(text) > max_len:
        raise ApplicationError(f"{label}不能超过 {max_len} 字（现有 {len(text)} 字）。", field=field)
    return text


def _when(moment: dt.datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def _task_names(tasks) -> str:
    names = [f"{t.path_key}《{t.title[:30]}{'…' if len(t.title) > 30 else ''}》" for t in tasks[:5]]
    return "、".join(names) + (f"等 {len(tasks)} 项任务" if len(tasks) > 5 else "")


def _tell_unit(notice: Notice, *, stage: str, message: str, now: dt.datetime, escalation: int = 0) -> None:
    """One message to the unit (inbox now, e-mail and robots after commit), claimed once per notice and stage."""
    planned = PlannedReminder(
        unit_id=notice.unit_id,
        kind=Reminder.Kind.NOTICE,
        subject_key=f"notice:{notice.pk}",
        stage=stage,
        escalation=escalation,
        send_on=local_date(now),
        link=notice_link(notice),
        message=message,
    )
    reminders_dispatch(
        reminder_ids=reminders_claim(planned=[planned], now=now), now=now, deliver=deliveries_enqueue
    )


def _event(notice: Notice, *, action: str, actor, now, text: str = "", expected_date=None) -> None:
    NoticeEvent.objects.create(
        notice=notice, action=action, actor=actor, at=now, text=text, expected_date=expected_date
    )


def _snapshot(notice: Notice) -> dict:
    return {
        "status": notice.get_status_display(),
        "reply_by": f"{notice.reply_by:%Y-%m-%d}" if notice.reply_by else None,
        "reply": notice.reply or None,
        "expected_date": f"{notice.expected_date:%Y-%m-%d}" if notice.expected_date else None,
    }


def _diff(before: dict, after: dict) -> dict:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def _lock(notice: Notice) -> Notice:
    return Notice.objects.select_for_update().select_related("unit").get(pk=notice.pk)


# --------------------------------------------------------------------------------------------------------------
# Services
# --------------------------------------------------------------------------------------------------------------


def _next_number(year: int) -> int:
    return (Notice.objects.filter(year=year).aggregate(m=Max("seq"))["m"] or 0) + 1


def _issue_tasks(*, unit: Unit, task_ids) -> list[Task]:
    if isinstance(task_ids, (str, int)):
        task_ids = [task_ids]
    ids = []
    for raw in task_ids or []:
        value = getattr(raw, "pk", raw)
        if not str(value).isascii() or not str(value).isdigit():
            raise ApplicationError(f"任务编号“{value}”无效，应为数字编号。", field="tasks")
        ids.append(int(value))
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise ApplicationError("请至少选择一项督办的任务。", field="tasks")
    if len(ids) > TASKS_MAX:
        raise ApplicationError(f"一份督办单最多 {TASKS_MAX} 项任务。", field="tasks")
    tasks = {t.pk: t for t in Task.objects.alive().filter(pk__in=ids)}
    missing = [str(i) for i in ids if i not in tasks]
    if missing:
        raise ApplicationError(f"任务 {'、'.join(missing)} 不存在或已删除。", field="tasks")
    carried = set(TaskUnit.objects.filter(task_id__in=ids, unit=unit).values_list("task_id", flat=True))
    foreign = [tasks[i].path_key for i in ids if i not in carried]
    if foreign:
        raise ApplicationError(
            f"任务 {'、'.join(foreign)} 不是{unit.name}承担的任务，不能向其督办。", field="tasks"
        )
    return [tasks[i] for i in ids]


def notice_issue(
    *, unit: Unit | None, tasks, text: str, reply_by, actor, now: dt.datetime | None = None, request=None
) -> Notice:
    """Issue a numbered notice to one unit about some of its tasks; the unit is told at once."""
    now = now or timezone.now()
    if not notice_can_issue(user=actor):
        raise PermissionDeniedError("只有医改办工作人员和领导可以下发督办单。")
    if unit is None or unit.deleted_at is not None or not unit.is_active:
        raise ApplicationError("请选择一个有效的承办单位。", field="unit")
    if unit.kind == UnitKind.SECRETARIAT:
        raise ApplicationError("督办单应下发给市直部门或县(市、区)，不能下发给医改办自身。", field="unit")
    text = _text(text, field="text", label="督办事项")
    reply_by = parse_date(reply_by, field="reply_by", label="答复期限")
    today = local_date(now)
    if reply_by < today:
        raise ApplicationError(
            f"答复期限 {reply_by:%Y-%m-%d} 早于今天（{today:%Y-%m-%d}），请重新选择。", field="reply_by"
        )
    task_rows = _issue_tasks(unit=unit, task_ids=tasks)
    year = today.year
    for _attempt in range(5):
        try:
            with transaction.atomic():
                seq = _next_number(year)
                notice = Notice(
                    year=year,
                    seq=seq,
                    number=f"督办〔{year}〕{seq}号",
                    unit=unit,
                    text=text,
                    reply_by=reply_by,
                    issued_by=actor,
                    issued_at=now,
                )
                notice.full_clean(exclude=["tasks"], validate_unique=False, validate_constraints=False)
                notice.save()
                notice.tasks.set(task_rows)
                _event(notice, action="issue", actor=actor, now=now, text=text)
                audit_log(
                    actor=actor,
                    request=request,
                    action="notice_issue",
                    obj=notice,
                    changes={
                        "unit": [None, unit.name],
                        "tasks": [None, "、".join(t.path_key for t in task_rows)],
                        "reply_by": [None, f"{reply_by:%Y-%m-%d}"],
                        "text": [None, text],
                    },
                )
                _tell_unit(
                    notice,
                    stage="issued",
                    now=now,
                    message=(
                        f"医改办下发{notice.number}：请{unit.display_name}就{_task_names(task_rows)}抓紧整改，"
                        f"于 {reply_by:%Y-%m-%d} 前签收并答复整改措施。督办事项：{text[:200]}"
                    ),
                )
                return notice
        except IntegrityError:
            continue  # another issuer took this number at the same moment: take the next one
    raise ConflictError("督办单编号分配冲突，请稍后重试。")


def _require_answerer(actor, notice: Notice) -> None:
    if not notice_can_answer(user=actor, notice=notice):
        raise PermissionDeniedError(f"只有{notice.unit.name}的填报员可以签收和答复此督办单。")


def _refuse_closed(notice: Notice, verb: str) -> None:
    if notice.status == Notice.Status.CLOSED:
        raise ConflictError(
            f"{notice.number}已于 {_when(notice.closed_at)} 办结，不能再{verb}。", field="status"
        )


@transaction.atomic
def notice_sign(*, notice: Notice, actor, now: dt.datetime | None = None, request=None) -> Notice:
    """签收: the unit confirms receipt (who and when)."""
    now = now or timezone.now()
    _require_answerer(actor, notice)
    locked = _lock(notice)
    _refuse_closed(locked, "签收")
    if locked.signed_at is not None:
        raise ConflictError(
            f"{locked.number}已由 {locked.signed_by or '—'} 于 {_when(locked.signed_at)} 签收，无需重复签收。",
            field="status",
        )
    before = _snapshot(locked)
    locked.status = Notice.Status.SIGNED
    locked.signed_at, locked.signed_by = now, actor
    locked.version += 1
    locked.save(update_fields=["status", "signed_at", "signed_by", "version"])
    _event(locked, action="sign", actor=actor, now=now)
    audit_log(
        actor=actor,
        request=request,
        action="notice_sign",
        obj=locked,
        changes=_diff(before, _snapshot(locked)),
    )
    return locked


@transaction.atomic
def notice_reply(
    *, notice: Notice, text: str, expected_date, actor, now: dt.datetime | None = None, request=None
) -> Notice:
    """答复: measures taken (整改措施) and the date the unit expects to finish. Replying also signs."""
    now = now or timezone.now()
    _require_answerer(actor, notice)
    locked = _lock(notice)
    _refuse_closed(locked, "答复")
    if locked.status == Notice.Status.REPLIED:
        raise ConflictError(
            f"{locked.number}已于 {_when(locked.replied_at)} 答复，正等待医改办审核；如需补充请等医改办退回后再答复。",
            field="status",
        )
    text = _text(text, field="text", label="整改措施")
    expected = parse_date(expected_date, field="expected_date", label="预计完成时间")
    if expected < local_date(now):
        raise ApplicationError(
            f"预计完成时间 {expected:%Y-%m-%d} 早于今天，请填写今后的日期。", field="expected_date"
        )
    before = _snapshot(locked)
    if locked.signed_at is None:
        locked.signed_at, locked.signed_by = now, actor
        _event(locked, action="sign", actor=actor, now=now)
    locked.status = Notice.Status.REPLIED
    locked.reply, locked.expected_date = text, expected
    locked.replied_at, locked.replied_by = now, actor
    locked.version += 1
    locked.save()
    _event(locked, action="reply", actor=actor, now=now, text=text, expected_date=expected)
    audit_log(
        actor=actor,
        request=request,
        action="notice_reply",
        obj=locked,
        changes=_diff(before, _snapshot(locked)),
    )
    return locked


@transaction.atomic
def notice_close(*, notice: Notice, actor, now: dt.datetime | None = None, request=None) -> Notice:
    """办结: the secretariat is satisfied (or the matter is moot); the notice leaves every open list."""
    now = now or timezone.now()
    if not notice_can_decide(user=actor):
        raise PermissionDeniedError("只有医改办工作人员可以办结督办单。")
    locked = _lock(notice)
    if locked.status == Notice.Status.CLOSED:
        raise ConflictError(
            f"{locked.number}已由 {locked.closed_by or '—'} 于 {_when(locked.closed_at)} 办结。",
            field="status",
        )
    before = _snapshot(locked)
    locked.status = Notice.Status.CLOSED
    locked.closed_at, locked.closed_by = now, actor
    locked.version += 1
    locked.save(update_fields=["status", "closed_at", "closed_by", "version"])
    _event(locked, action="close", actor=actor, now=now)
    audit_log(
        actor=actor,
        request=request,
        action="notice_close",
        obj=locked,
        changes=_diff(before, _snapshot(locked)),
    )
    _tell_unit(locked, stage=f"closed:v{locked.version}", now=now, message=f"{locked.number}已由医改办办结。")
    return locked


@transaction.atomic
def notice_reopen(
    *, notice: Notice, reason: str, actor, reply_by=None, now: dt.datetime | None = None, request=None
) -> Notice:
    """退回: the secretariat sends a reply (or a closed notice) back for a better answer, with a reason and,
    optionally, a new reply date. The refused reply stays in the history."""
    now = now or timezone.now()
    if not notice_can_decide(user=actor):
        raise PermissionDeniedError("只有医改办工作人员可以退回督办单。")
    reason = _text(reason, field="reason", label="退回原因", max_len=2000)
    new_reply_by = parse_date(reply_by, field="reply_by", label="新的答复期限", required=False)
    if new_reply_by is not None and new_reply_by < local_date(now):
        raise ApplicationError(
            f"新的答复期限 {new_reply_by:%Y-%m-%d} 早于今天，请重新选择。", field="reply_by"
        )
    locked = _lock(notice)
    if locked.status not in (Notice.Status.REPLIED, Notice.Status.CLOSED):
        raise ConflictError(
            f"{locked.number}尚未答复（当前状态：{locked.get_status_display()}），没有可退回的答复。",
            field="status",
        )
    before = _snapshot(locked)
    locked.status = Notice.Status.SIGNED
    locked.reply, locked.expected_date, locked.replied_at, locked.replied_by = "", None, None, None
    locked.closed_at, locked.closed_by = None, None
    if new_reply_by is not None:
        locked.reply_by = new_reply_by
    locked.version += 1
    locked.save()
    _event(locked, action="reopen", actor=actor, now=now, text=reason)
    audit_log(
        actor=actor,
        request=request,
        action="notice_reopen",
        obj=locked,
        changes=_diff(before, _snapshot(locked)),
        message=reason,
    )
    _tell_unit(
        locked,
        stage=f"reopen:v{locked.version}",
        now=now,
        message=(
            f"{locked.number}的答复已被医改办退回，原因：{reason}。"
            f"请于 {locked.reply_by:%Y-%m-%d} 前重新答复整改措施。"
        ),
    )
    return locked
