"""The deadline light (超期 / 临期 / 正常 / 已完成) and its one-line reason, computed in one place.

临期 (yellow) also covers a task that is 欠进度 (tasks.pace) before its deadline passes; the reason says why.

Filtering and sorting use the denormalised `Task.open_due` (see `light_q`); the reason is worked out in Python
for the rows on screen from the task's prefetched milestones and targets.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, CharField, Q, Value, When

from .models import Light, Progress, Task


@dataclass(frozen=True)
class LightInfo:
    light: str
    reason: str

    @property
    def label(self) -> str:
        return Light(self.light).label


def _soon(today: dt.date) -> dt.date:
    return today + dt.timedelta(days=settings.LIGHT_DUE_SOON_DAYS)


def open_items(task: Task):
    """(date, kind, object) for every dated milestone not done and every dated target not met, earliest first."""
    return _open_items(task.milestones.all(), task.targets.all())


def _open_items(milestones, targets):
    items = [(m.date, "milestone", m) for m in milestones if m.date and not m.done]
    items += [(t.due, "target", t) for t in targets if t.due and not t.is_met]
    return sorted(items, key=lambda i: (i[0], i[1]))


def schedule_dates(milestones, targets) -> tuple[dt.date | None, dt.date | None]:
    """(open_due, deadline) from plain values: milestones as (date, done), targets as (due, met). The one rule
    behind Task.open_due (the earliest open date, what the light filters use) and Task.deadline (the last date),
    for a form edit and for the bulk import alike."""
    open_dates = [d for d, done in milestones if d and not done] + [d for d, met in targets if d and not met]
    dates = [d for d, _ in milestones if d] + [d for d, _ in targets if d]
    return (min(open_dates) if open_dates else None), (max(dates) if dates else None)


def _task_schedule(task: Task) -> tuple[dt.date | None, dt.date | None]:
    return schedule_dates(
        [(m.date, m.done) for m in task.milestones.all()], [(t.due, t.is_met) for t in task.targets.all()]
    )


def compute_open_due(task: Task) -> dt.date | None:
    return _task_schedule(task)[0]


def compute_deadline(task: Task) -> dt.date | None:
    return _task_schedule(task)[1]


def _describe(kind: str, obj) -> tuple[str, str]:
    if kind == "target":
        latest = (
            f"最新值 {obj.latest_value.normalize():f}{obj.unit}"
            if obj.latest_value is not None
            else "尚无填报值"
        )
        return f"的目标“{obj.label}”", latest
    text = obj.text or "时间节点"
    context = (obj.context or "").strip()
    if context and len(context) > 30:
        context = context[:30] + "…"
    moved = obj.extension_note  # the approved date is the one that counts, and the reason says so
    return f"的节点“{context or text}”" + (f"（{moved}）" if moved else ""), "任务未完成"


def _is_behind(task, today: dt.date) -> bool:
    behind_on = getattr(task, "pace_behind_on", None)
    return behind_on is not None and behind_on <= today


def task_light(task: Task, *, today: dt.date) -> LightInfo:
    behind = None
    if task.status != Progress.COMPLETED and _is_behind(task, today):
        from .pace import task_pace

        behind = task_pace(task, today=today).reason
    return light_of(
        status=task.status,
        milestones=task.related_rows("milestones"),
        targets=task.related_rows("targets"),
        today=today,
        behind=behind,
    )


def light_of(*, status: str, milestones, targets, today: dt.date, behind: str | None = None) -> LightInfo:
    """`task_light` from a task's status and its milestones and targets, for callers that fetched those in bulk
    (the dashboard) rather than through prefetch_related. `behind`: the 序时进度 reason when the task is 欠进度
    (Task.pace_behind_on reached): such a task lights yellow before its deadline passes."""
    if status == Progress.COMPLETED:
        return LightInfo(Light.DONE, "任务已完成")
    items = _open_items(milestones, targets)
    if not items:
        if behind:
            return LightInfo(Light.DUE_SOON, f"欠进度：{behind}")
        return LightInfo(Light.NORMAL, "没有带日期的未完成节点")
    date, kind, obj = items[0]
    what, state = _describe(kind, obj)
    if date < today:
        days = (today - date).days
        return LightInfo(Light.OVERDUE, f"{date:%Y-%m-%d} {what}已过期 {days} 天，{state}")
    if behind:
        return LightInfo(Light.DUE_SOON, f"欠进度：{behind}（下一节点 {date:%Y-%m-%d}）")
    if date <= _soon(today):
        days = (date - today).days
        when = "今天到期" if days == 0 else f"还有 {days} 天到期"
        return LightInfo(Light.DUE_SOON, f"{date:%Y-%m-%d} {what}{when}，{state}")
    return LightInfo(Light.NORMAL, f"下一节点 {date:%Y-%m-%d} {what[1:]}")


def light_q(light: str, *, today: dt.date) -> Q:
    """A filter selecting the tasks with this light, for querysets of Task."""
    not_done = ~Q(status=Progress.COMPLETED)
    not_overdue = Q(open_due__isnull=True) | Q(open_due__gte=today)
    behind = Q(pace_behind_on__lte=today)  # 欠进度 (tasks.pace) lights yellow before the deadline passes
    match light:
        case Light.DONE:
            return Q(status=Progress.COMPLETED)
        case Light.OVERDUE:
            return not_done & Q(open_due__lt=today)
        case Light.DUE_SOON:
            return not_done & not_overdue & (Q(open_due__lte=_soon(today)) | behind)
        case Light.NORMAL:
            return (
                not_done
                & (Q(open_due__isnull=True) | Q(open_due__gt=_soon(today)))
                & (Q(pace_behind_on__isnull=True) | Q(pace_behind_on__gt=today))
            )
    raise ValueError(light)


def annotate_light(queryset, *, today: dt.date):
    return queryset.annotate(
        light=Case(
            When(light_q(Light.DONE, today=today), then=Value(Light.DONE.value)),
            When(light_q(Light.OVERDUE, today=today), then=Value(Light.OVERDUE.value)),
            When(light_q(Light.DUE_SOON, today=today), then=Value(Light.DUE_SOON.value)),
            default=Value(Light.NORMAL.value),
            output_field=CharField(),
        )
    )
