"""Reminders (催报): what is due today, claiming it exactly once, and sending it over inbox, email and webhook.

How a sweep works (`reminders_send_due`):

1. `reminders_plan` works out, from the database and the workday calendar, every reminder whose send day is
   today: period reminders (N days before the due date, on it, overdue every M days with escalation) for units
   that still owe reports, and task deadline reminders for lead units. A constant number of queries per open
   period: nothing is looked up per task.
2. Each planned reminder is *claimed* with `INSERT … ON CONFLICT DO NOTHING RETURNING id` against the unique
   key (unit, kind, subject_key, stage). Only the ids returned to this run are its own: a second sweep, a
   second beat or a retried job gets nothing back for rows that already exist.
3. Dispatch: per unit, the reminders claimed in this run become ONE message (the carrier reminder's message is
   the combined text). Under a row lock and a conditional `dispatched_at IS NULL`, inbox notifications and
   the Delivery rows are written in the same transaction that marks the reminders dispatched. Email and
   webhook deliveries are sent afterwards, one job each, queued on commit.
4. Sending (`delivery_send`) locks the delivery row, sends, and marks it sent with a conditional update; a
   failure is recorded with its reason and retried with backoff by the job, up to
   REMINDER_DELIVERY_MAX_ATTEMPTS. One failing channel or recipient never stops the others.

A worker killed in the middle: claimed-but-undispatched reminders and pending deliveries are picked up again
by the next run (`reminders_resume`, called at the start of every sweep and by `deliveries_retry`).
"""

import datetime as dt
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from departments.models import Role, Unit, User
from departments.services import ApplicationError, audit_log
from tasks.models import Progress, Target, TaskUnit

from . import notify, workdays
from .delivery import DeliveryError, delivery_send, failure_reason, max_attempts, webhook_payload  # noqa: F401
from .models import Delivery, Notification, Period, Reminder, Report
from .obligations import missing_counts_by_unit, missing_rows

# How deliveries are sent: "sync" (here and now: the send_reminders command, tests), "none" (left pending for
# the next sweep), or a function given the delivery ids that queues them (reports.jobs.deliveries_enqueue).
# The jobs module passes its queue in, so this module never imports the jobs that import it.
Deliver = Literal["sync", "none"] | Callable[[list[int]], None]

logger = logging.getLogger(__name__)

Kind = Reminder.Kind
SAMPLE_TASKS = 10  # tasks named in a period reminder; the rest is "等 N 项"
CLAIM_BATCH = 500
DISPATCH_BATCH = 500
RESUME_WINDOW_DAYS = 3  # undispatched claims older than this are stale news and are not sent any more
ESCALATION_LABELS = {0: "填报员", 1: "填报员、医改办", 2: "填报员、医改办、领导"}


def _setting(name: str, default):
    return getattr(settings, name, default)


def form_link() -> str:
    """Where a reminder points: the unit's reporting form if that page exists, else the ledger."""
    for name in ("reports:my-form", "tasks:list"):
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return "/"


def local_date(now: dt.datetime) -> dt.date:
    return timezone.localtime(now).date()


# --------------------------------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------------------------------


@dataclass
class PlannedReminder:
    unit_id: int
    kind: str
    subject_key: str
    stage: str
    message: str
    send_on: dt.date
    period_id: int | None = None
    escalation: int = 0
    link: str = ""

    @property
    def key(self) -> tuple:
        return (self.unit_id, self.kind, self.subject_key, self.stage)


@dataclass(frozen=True)
class PeriodStage:
    kind: str
    stage: str
    escalation: int
    days: int  # days before the due date (>0), 0 on it, or days overdue (<0 means late by -days)
    overdue_round: int = 0


def escalation_for_round(overdue_round: int) -> int:
    """0: the unit's reporters; 1: also the secretariat; 2: also the leaders."""
    if overdue_round >= _setting("REMINDER_ESCALATE_LEADERS_FROM", 3):
        return 2
    if overdue_round >= _setting("REMINDER_ESCALATE_SECRETARIAT_FROM", 2):
        return 1
    return 0


def period_stage_on(*, due: dt.date, today: dt.date) -> PeriodStage | None:
    """The period reminder sent today for a period due on `due`, if any.

    When a holiday makes several stages land on the same workday (e.g. d3, d1 and the due day during 国庆),
    only the most urgent one is sent: the unit gets one reminder, not three.
    """
    hits: list[tuple[int, PeriodStage]] = []
    for n in sorted({int(n) for n in _setting("REMINDER_DAYS_BEFORE", [7, 3, 1]) if int(n) > 0}):
        if workdays.send_day(due - dt.timedelta(days=n)) == today:
            hits.append((100 - n, PeriodStage(Kind.PERIOD_BEFORE, f"d{n}", 0, n)))
    if workdays.send_day(due) == today:
        hits.append((100, PeriodStage(Kind.PERIOD_DUE, "d0", 0, 0)))
    every = max(1, int(_setting("REMINDER_OVERDUE_EVERY_DAYS", 2)))
    if today > due:
        # A nominal overdue day moves at most ~2 weeks either way; look at the rounds around today only.
        first = max(1, ((today - due).days - 40) // every)
        last = (today - due).days // every + 40 // every + 2
        for k in range(first, last + 1):
            nominal = due + dt.timedelta(days=k * every)
            if workdays.send_day(nominal, after=due) == today:
                hits.append(
                    (
                        1000 + k,
                        PeriodStage(
                            Kind.PERIOD_OVERDUE,
                            f"overdue{k}",
                            escalation_for_round(k),
                            -(today - due).days,
                            k,
                        ),
                    )
                )
    if not hits:
        return None
    return max(hits, key=lambda h: h[0])[1]


def _task_label(path_key: str, title: str) -> str:
    title = title if len(title) <= 30 else title[:30] + "…"
    return f"{path_key}《{title}》"


def _period_message(
    *, period: Period, stage: PeriodStage, missing: int, samples: list[str], today: dt.date
) -> str:
    due = f"{period.due_date:%Y年%m月%d日}".replace("年0", "年").replace("月0", "月")
    if stage.kind == Kind.PERIOD_BEFORE:
        days = (period.due_date - today).days
        head = f"{period.label}进展报送截止日为{due}，还有 {days} 天。"
    elif stage.kind == Kind.PERIOD_DUE:
        days = (period.due_date - today).days
        head = (
            f"今天是{period.label}进展报送截止日（{due}）。"
            if days == 0
            else f"{period.label}进展报送截止日{due}为休息日，请在今天完成报送（还有 {days} 天）。"
        )
    else:
        head = f"{period.label}进展报送已于{due}截止，贵单位已逾期 {(today - period.due_date).days} 天（第 {stage.overdue_round} 次催报）。"
    listed = "、".join(samples)
    more = f"等 {missing} 项" if missing > len(samples) else f"共 {missing} 项"
    return f"{head}尚未提交的任务：{listed}{more}。"


def plan_period_reminders(*, today: dt.date, link: str) -> list[PlannedReminder]:
    planned = []
    for period in Period.objects.filter(is_open=True).order_by("year", "quarter"):
        stage = period_stage_on(due=period.due_date, today=today)
        if stage is None:
            continue
        counts = {row["unit_id"]: row["reports_missing"] for row in missing_counts_by_unit(period=period)}
        if not counts:
            continue
        samples: dict[int, list[str]] = defaultdict(list)
        sample_rows = (
            missing_rows(period=period)
            .annotate(
                rn=Window(
                    RowNumber(),
                    partition_by=[F("unit_id")],
                    order_by=[F("task__sort_key").asc(), F("task_id").asc()],
                )
            )
            .filter(rn__lte=SAMPLE_TASKS + 2)  # a pair listed under two roles shows twice: keep a spare
            .values_list("unit_id", "task__path_key", "task__title")
        )
        for unit_id, path_key, title in sample_rows:
            label = _task_label(path_key, title)
            if label not in samples[unit_id] and len(samples[unit_id]) < SAMPLE_TASKS:
                samples[unit_id].append(label)
        for unit_id, missing in counts.items():
            planned.append(
                PlannedReminder(
                    unit_id=unit_id,
                    kind=stage.kind,
                    subject_key=f"period:{period.pk}",
                    stage=stage.stage,
                    period_id=period.pk,
                    escalation=stage.escalation,
                    send_on=today,
                    link=f"{link}?period={period.pk}",  # an older open period opens as itself
                    message=_period_message(
                        period=period,
                        stage=stage,
                        missing=missing,
                        samples=samples.get(unit_id, []),
                        today=today,
                    ),
                )
            )
    return planned


def task_deadline_dates(*, today: dt.date) -> dict[dt.date, list[tuple[str, str]]]:
    """deadline date -> [(kind, stage suffix)] of task reminders sent today for deadlines on that date."""
    result: dict[dt.date, list[tuple[str, str]]] = defaultdict(list)
    nominal_days = workdays.nominal_days_sent_on(today)
    for n in sorted({int(n) for n in _setting("REMINDER_TASK_DAYS_BEFORE", [30, 7]) if int(n) > 0}):
        for day in nominal_days:
            result[day + dt.timedelta(days=n)].append((Kind.TASK_BEFORE, f"d{n}"))
    # "Passed": the day after the deadline, moved to the next workday if the workday before is not yet late.
    for back in range(1, 45):
        deadline = today - dt.timedelta(days=back)
        if workdays.send_day(deadline + dt.timedelta(days=1), after=deadline) == today:
            result[deadline].append((Kind.TASK_OVERDUE, "passed"))
    return result


def plan_task_reminders(*, today: dt.date, link: str) -> list[PlannedReminder]:
    """Deadlines (milestones and targets' due dates) of unfinished tasks, for their lead units."""
    stages_by_date = task_deadline_dates(today=today)
    if not stages_by_date:
        return []
    dates = list(stages_by_date)
    base = TaskUnit.objects.filter(
        role=TaskUnit.Role.LEAD,
        task__deleted_at__isnull=True,
        unit__deleted_at__isnull=True,
        unit__is_active=True,
    ).exclude(task__status=Progress.COMPLETED)
    # (unit, task, date) -> what falls due that day
    items: dict[tuple[int, int, dt.date], dict] = {}
    milestones = base.filter(task__milestones__date__in=dates, task__milestones__done=False).values_list(
        "unit_id",
        "task_id",
        "task__path_key",
        "task__title",
        "task__milestones__date",
        "task__milestones__text",
    )
    for unit_id, task_id, path_key, title, date, text in milestones:
        entry = items.setdefault(
            (unit_id, task_id, date), {"label": _task_label(path_key, title), "what": []}
        )
        what = f"节点“{text}”" if text else "时间节点"
        if what not in entry["what"]:
            entry["what"].append(what)
    targets = base.filter(task__targets__due__in=dates).values_list(
        "unit_id",
        "task_id",
        "task__path_key",
        "task__title",
        "task__targets__due",
        "task__targets__indicator",
        "task__targets__op",
        "task__targets__value",
        "task__targets__value_high",
        "task__targets__unit",
    )
    for unit_id, task_id, path_key, title, due, indicator, op, value, value_high, tunit in targets:
        entry = items.setdefault((unit_id, task_id, due), {"label": _task_label(path_key, title), "what": []})
        label = Target(
            indicator=indicator, op=op, value=Decimal(value), value_high=value_high, unit=tunit
        ).label
        what = f"目标“{label}”"
        if what not in entry["what"]:
            entry["what"].append(what)
    planned = []
    for (unit_id, task_id, date), entry in items.items():
        for kind, suffix in stages_by_date[date]:
            what = "、".join(entry["what"])
            if kind == Kind.TASK_BEFORE:
                days = (date - today).days
                message = f"任务 {entry['label']} 的{what}将于 {date:%Y-%m-%d} 到期，还有 {days} 天。"
            else:
                message = f"任务 {entry['label']} 的{what}已于 {date:%Y-%m-%d} 到期，任务尚未完成。"
            planned.append(
                PlannedReminder(
                    unit_id=unit_id,
                    kind=kind,
                    subject_key=f"task:{task_id}",
                    stage=f"{date:%Y-%m-%d}:{suffix}",
                    send_on=today,
                    link=f"{link}#task-{task_id}",  # the form opens at the task
                    message=message,
                )
            )
    return planned


def reminders_plan(*, now: dt.datetime | None = None) -> list[PlannedReminder]:
    """Every reminder whose send day is today (local date of `now`), before claiming. Reads only."""
    now = now or timezone.now()
    today = local_date(now)
    if not workdays.is_workday(today):
        # Reminders of a day off went out on the workday before.
        return []
    link = form_link()
    return plan_period_reminders(today=today, link=link) + plan_task_reminders(today=today, link=link)


# --------------------------------------------------------------------------------------------------------------
# Claiming
# --------------------------------------------------------------------------------------------------------------


def reminders_claim(*, planned: list[PlannedReminder], now: dt.datetime, created_by=None) -> list[int]:
    """Insert the planned reminders, skipping any that exist; return the ids this call inserted (its claims)."""
    if not planned:
        return []
    ops = connection.ops
    table = ops.quote_name(Reminder._meta.db_table)
    columns = [
        "unit_id", "kind", "subject_key", "stage", "period_id", "escalation", "send_on", "message", "link",
        "created_by_id", "created_at",
    ]  # fmt: skip
    column_sql = ", ".join(ops.quote_name(c) for c in columns)
    created_at = ops.adapt_datetimefield_value(now)
    created_by_id = created_by.pk if created_by is not None else None
    claimed: list[int] = []
    seen = set()
    rows = []
    for p in planned:
        if p.key in seen:
            continue
        seen.add(p.key)
        rows.append(
            [
                p.unit_id,
                p.kind,
                p.subject_key,
                p.stage,
                p.period_id,
                p.escalation,
                ops.adapt_datefield_value(p.send_on),
                p.message,
                p.link,
                created_by_id,
                created_at,
            ]  # fmt: skip
        )
    placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CLAIM_BATCH):
            batch = rows[start : start + CLAIM_BATCH]
            sql = (
                f"INSERT INTO {table} ({column_sql}) VALUES {', '.join([placeholder] * len(batch))} "
                f"ON CONFLICT DO NOTHING RETURNING {ops.quote_name('id')}"
            )
            cursor.execute(sql, [v for row in batch for v in row])
            claimed.extend(r[0] for r in cursor.fetchall())
    return claimed


# --------------------------------------------------------------------------------------------------------------
# Dispatching: one message per unit, inbox rows and Delivery rows written with the dispatch mark
# --------------------------------------------------------------------------------------------------------------

_CARRIER_ORDER = {
    Kind.RETURNED: 0,
    Kind.MANUAL: 1,
    Kind.PERIOD_OVERDUE: 2,
    Kind.PERIOD_DUE: 3,
    Kind.PERIOD_BEFORE: 4,
    Kind.TASK_OVERDUE: 5,
    Kind.TASK_BEFORE: 6,
}


def combined_message(reminders: list[Reminder]) -> str:
    """The text of one unit's message for everything it was reminded of in one run."""
    ordered = sorted(
        reminders, key=lambda r: (_CARRIER_ORDER.get(r.kind, 9), r.subject_key, r.stage, r.pk or 0)
    )
    if len(ordered) == 1:
        return ordered[0].message
    lines = [f"{i}. {r.message}" for i, r in enumerate(ordered, 1)]
    return f"贵单位有 {len(ordered)} 项事项需要处理：\n" + "\n".join(lines)


@dataclass
class DispatchResult:
    reminders: int = 0
    messages: int = 0
    pending_delivery_ids: list[int] = field(default_factory=list)


def _recipients(
    unit_ids: set[int], max_escalation: int
) -> tuple[dict[int, list[dict]], list[dict], list[dict]]:
    reporters: dict[int, list[dict]] = defaultdict(list)
    for row in User.objects.filter(unit_id__in=unit_ids, role=Role.REPORTER, is_active=True).values(
        "id", "unit_id", "email", "role"
    ):
        reporters[row["unit_id"]].append(row)
    secretariat = (
        list(User.objects.filter(role=Role.SECRETARIAT, is_active=True).values("id", "email", "role"))
        if max_escalation >= 1
        else []
    )
    leaders = (
        list(User.objects.filter(role=Role.LEADER, is_active=True).values("id", "email", "role"))
        if max_escalation >= 2
        else []
    )
    return reporters, secretariat, leaders


def _dispatch_batch(ids: list[int], *, now: dt.datetime) -> DispatchResult:
    result = DispatchResult()
    with transaction.atomic():
        rows = list(
            Reminder.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("unit")
            .filter(pk__in=ids, dispatched_at__isnull=True)
            .order_by("unit_id", "id")
        )
        if not rows:
            return result
        by_unit: dict[int, list[Reminder]] = defaultdict(list)
        for r in rows:
            by_unit[r.unit_id].append(r)
        Reminder.objects.filter(pk__in=[r.pk for r in rows]).update(dispatched_at=now)
        carriers: list[Reminder] = []
        changed: list[Reminder] = []
        for unit_rows in by_unit.values():
            carrier = min(unit_rows, key=lambda r: (_CARRIER_ORDER.get(r.kind, 9), r.pk))
            message = combined_message(unit_rows)
            escalation = max(r.escalation for r in unit_rows)
            if message != carrier.message or escalation != carrier.escalation:
                carrier.message, carrier.escalation = message, escalation
                changed.append(carrier)
            carriers.append(carrier)
        if changed:
            Reminder.objects.bulk_update(changed, ["message", "escalation"])
        reporters, secretariat, leaders = _recipients(set(by_unit), max(c.escalation for c in carriers))
        # Who gets e-mail / a personal robot message now; the others get it in their digest (reports.digests).
        prefs = notify.preferences_for(
            [u for rows in reporters.values() for u in rows] + secretariat + leaders
        )
        notifications, deliveries = [], []
        for carrier in carriers:
            users = list(reporters.get(carrier.unit_id, []))
            if carrier.escalation >= 1:
                users += secretariat
            if carrier.escalation >= 2:
                users += leaders
            seen_users, emails = set(), []
            if carrier.unit.email:
                emails.append(carrier.unit.email.strip())
            for u in users:
                if u["id"] in seen_users:
                    continue
                seen_users.add(u["id"])
                notifications.append(
                    Notification(
                        user_id=u["id"],
                        reminder=carrier,
                        kind=carrier.kind,
                        message=carrier.message,
                        link=carrier.link,
                    )
                )
                deliveries.append(
                    Delivery(
                        reminder=carrier,
                        channel=Delivery.Channel.INBOX,
                        recipient=f"user:{u['id']}",
                        status=Delivery.Status.SENT,
                        attempts=1,
                        sent_at=now,
                    )
                )
                pref = prefs[u["id"]]
                if pref.mode != notify.Mode.IMMEDIATE:
                    continue
                if u["email"] and pref.by_email:
                    emails.append(u["email"].strip())
                if pref.dingtalk_webhook:
                    deliveries.append(
                        Delivery(
                            reminder=carrier, channel=Delivery.Channel.DINGTALK, recipient=f"user:{u['id']}"
                        )
                    )
            for address in dict.fromkeys(e.lower() for e in emails if e):
                deliveries.append(
                    Delivery(reminder=carrier, channel=Delivery.Channel.EMAIL, recipient=address)
                )
            if carrier.unit.webhook_url:
                deliveries.append(
                    Delivery(
                        reminder=carrier, channel=Delivery.Channel.WEBHOOK, recipient=carrier.unit.webhook_url
                    )
                )
        Notification.objects.bulk_create(notifications, ignore_conflicts=True)
        Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
        result.reminders = len(rows)
        result.messages = len(carriers)
        result.pending_delivery_ids = list(
            Delivery.objects.filter(reminder__in=carriers, status=Delivery.Status.PENDING)
            .order_by("id")
            .values_list("id", flat=True)
        )
    return result


def reminders_dispatch(*, reminder_ids: list[int], now: dt.datetime, deliver: Deliver) -> DispatchResult:
    """Turn claimed reminders into messages and deliveries, then send them (`deliver`: queue, sync or none).

    Safe to call with ids another run is dispatching: rows locked or already dispatched are skipped.
    All reminders of one unit must be in the same batch to become one message, so batches split by unit.
    """
    total = DispatchResult()
    if not reminder_ids:
        return total
    unit_of = dict(Reminder.objects.filter(pk__in=reminder_ids).values_list("id", "unit_id"))
    by_unit: dict[int, list[int]] = defaultdict(list)
    for rid in sorted(unit_of):
        by_unit[unit_of[rid]].append(rid)
    batch: list[int] = []
    batches = []
    for ids in by_unit.values():
        if batch and len(batch) + len(ids) > DISPATCH_BATCH:
            batches.append(batch)
            batch = []
        batch.extend(ids)
    if batch:
        batches.append(batch)
    for ids in batches:
        res = _dispatch_batch(ids, now=now)
        total.reminders += res.reminders
        total.messages += res.messages
        total.pending_delivery_ids += res.pending_delivery_ids
        _deliver(res.pending_delivery_ids, deliver=deliver, now=now)
    return total


def _deliver(delivery_ids: list[int], *, deliver: Deliver, now: dt.datetime) -> None:
    if not delivery_ids or deliver == "none":
        return
    if deliver == "sync":
        for delivery_id in delivery_ids:
            delivery_send(delivery_id=delivery_id, now=now)
        return
    deliver(delivery_ids)  # the caller's queue, e.g. reports.jobs.deliveries_enqueue


# --------------------------------------------------------------------------------------------------------------
# Sweep, resume, returned reports, manual reminders
# --------------------------------------------------------------------------------------------------------------


@dataclass
class SweepResult:
    created: int = 0
    dispatched: int = 0
    messages: int = 0
    resumed: int = 0
    pending_deliveries: int = 0


STRANDED_AFTER = dt.timedelta(minutes=10)


def reminders_resume(
    *, now: dt.datetime, deliver: Deliver, include_failed: bool = True
) -> tuple[int, list[int]]:
    """Finish what an interrupted run left: claimed-but-undispatched reminders and unsent deliveries.

    A pending delivery counts as stranded once its reminder was dispatched more than STRANDED_AFTER ago (its
    job is probably lost); younger ones are most likely still waiting in the queue. Returns (reminders
    dispatched, delivery ids handed to `deliver`).
    """
    since = local_date(now) - dt.timedelta(days=RESUME_WINDOW_DAYS)
    stale_ids = list(
        Reminder.objects.filter(dispatched_at__isnull=True, send_on__gte=since).values_list("id", flat=True)
    )
    result = reminders_dispatch(reminder_ids=stale_ids, now=now, deliver=deliver)
    stranded = Q(reminder__dispatched_at__lt=now - STRANDED_AFTER) | Q(
        digest__created_at__lt=now - STRANDED_AFTER
    )
    wanted = Q(status=Delivery.Status.PENDING) & stranded
    if include_failed:
        wanted |= Q(status=Delivery.Status.FAILED)
    recent = Q(reminder__send_on__gte=since) | Q(digest__sweep_on__gte=since)
    retry_ids = list(
        Delivery.objects.filter(wanted, recent, attempts__lt=max_attempts())
        .exclude(pk__in=result.pending_delivery_ids)
        .order_by("id")
        .values_list("id", flat=True)
    )
    _deliver(retry_ids, deliver=deliver, now=now)
    return result.reminders, retry_ids


def reminders_send_due(*, now: dt.datetime | None = None, deliver: Deliver) -> SweepResult:
    """The daily sweep: plan what is due today, claim it, dispatch one message per unit, send.

    `deliver`: "queue" (Celery jobs after commit; the beat), "sync" (send here; the command), "none" (leave
    the deliveries pending; benchmarks).
    """
    now = now or timezone.now()
    result = SweepResult()
    result.resumed, _ = reminders_resume(now=now, deliver=deliver, include_failed=False)
    planned = reminders_plan(now=now)
    claimed = reminders_claim(planned=planned, now=now)
    result.created = len(claimed)
    dispatched = reminders_dispatch(reminder_ids=claimed, now=now, deliver=deliver)
    result.dispatched = dispatched.reminders
    result.messages = dispatched.messages
    result.pending_deliveries = len(dispatched.pending_delivery_ids)
    logger.info(
        "催报扫描 %s：新建 %s 条，合并为 %s 条消息，续发 %s 条",
        local_date(now), result.created, result.messages, result.resumed,
    )  # fmt: skip
    return result


def report_returned_notify(*, report_id: int, now: dt.datetime | None = None, deliver: Deliver) -> int | None:
    """Tell the unit at once that a report was returned. One reminder per return (keyed by the report version)."""
    now = now or timezone.now()
    report = Report.objects.select_related("task", "period", "unit").filter(pk=report_id).first()
    if report is None or report.status != "returned":
        return None
    # The reason usually ends with its own full stop; the notice adds one, never two.
    reason = (report.return_reason or "").strip().rstrip("。．.;；，,") or "未注明原因"
    message = (
        f"贵单位报送的{report.period.label}任务 {_task_label(report.task.path_key, report.task.title)} "
        f"进展报告已被退回，原因：{reason}。请修改后重新提交。"
    )
    planned = PlannedReminder(
        unit_id=report.unit_id,
        kind=Kind.RETURNED,
        subject_key=f"report:{report.pk}:v{report.version}",
        stage="returned",
        period_id=report.period_id,
        send_on=local_date(now),
        link=f"{form_link()}?period={report.period_id}#task-{report.task_id}",  # lands on the returned task
        message=message,
    )
    claimed = reminders_claim(planned=[planned], now=now)
    reminders_dispatch(reminder_ids=claimed, now=now, deliver=deliver)
    return claimed[0] if claimed else None


def manual_reminder_message(*, unit: Unit, period: Period | None) -> str:
    if period is None:
        return f"医改办提醒：请{unit.display_name}及时登录医改台账，报送任务进展。"
    rows = list(missing_counts_by_unit(period=period).filter(unit_id=unit.pk))
    n = rows[0]["reports_missing"] if rows else 0
    if not n:
        return f"医改办提醒：请{unit.display_name}关注{period.label}任务进展报送。"
    return f"医改办催报：{unit.display_name}{period.label}尚有 {n} 项任务进展未提交，截止日 {period.due_date:%Y-%m-%d}，请尽快报送。"


def reminder_send_manual(
    *,
    unit: Unit,
    actor: User,
    message: str = "",
    period: Period | None = None,
    escalation: int = 0,
    now: dt.datetime | None = None,
    deliver: Deliver,
    request=None,
) -> Reminder:
    """催报 by hand: the secretariat reminds one unit now, over every channel the unit has."""
    now = now or timezone.now()
    if unit is None or unit.deleted_at is not None or not unit.is_active:
        raise ApplicationError("请选择一个有效的单位。", field="unit")
    message = (message or "").strip()
    if len(message) > 2000:
        raise ApplicationError("催报内容不能超过 2000 字。", field="message")
    if escalation not in (0, 1, 2):
        raise ApplicationError("抄送范围无效。", field="escalation")
    message = message or manual_reminder_message(unit=unit, period=period)
    planned = PlannedReminder(
        unit_id=unit.pk,
        kind=Kind.MANUAL,
        subject_key=f"manual:{uuid.uuid4().hex}",
        stage="manual",
        period_id=period.pk if period else None,
        escalation=escalation,
        send_on=local_date(now),
        link=form_link(),
        message=message,
    )
    with transaction.atomic():
        (reminder_id,) = reminders_claim(planned=[planned], now=now, created_by=actor)
        reminder = Reminder.objects.get(pk=reminder_id)
        audit_log(
            actor=actor,
            action="reminder_manual",
            obj=reminder,
            message=f"向{unit.name}发送催报：{message}",
            request=request,
        )
        reminders_dispatch(reminder_ids=[reminder_id], now=now, deliver=deliver)
    reminder.refresh_from_db()
    return reminder


# --------------------------------------------------------------------------------------------------------------
# The inbox
# --------------------------------------------------------------------------------------------------------------


def notifications_visible_to(*, user):
    """A user's own inbox; nobody reads anyone else's notifications (other ids answer 404)."""
    if not user or not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")


def notification_mark_read(*, notification: Notification, now: dt.datetime | None = None) -> bool:
    """Mark one notification read; True if it was unread. Conditional, so a double click is harmless."""
    now = now or timezone.now()
    updated = Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
    notification.read_at = notification.read_at or now
    return bool(updated)


def notification_mark_all_read(*, user, now: dt.datetime | None = None) -> int:
    return (
        notifications_visible_to(user=user).filter(read_at__isnull=True).update(read_at=now or timezone.now())
    )


__all__ = [
    "PlannedReminder",
    "delivery_send",
    "escalation_for_round",
    "notification_mark_all_read",
    "notification_mark_read",
    "notifications_visible_to",
    "period_stage_on",
    "reminder_send_manual",
    "reminders_claim",
    "reminders_dispatch",
    "reminders_plan",
    "reminders_resume",
    "reminders_send_due",
    "report_returned_notify",
    "webhook_payload",
]
