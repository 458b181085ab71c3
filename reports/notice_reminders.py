"""The daily sweep's part of the 督办单: notices not signed or not answered by their reply date.

Apart from reports.notices (the services) so that the sweep, which the Celery jobs run, does not import the
services, which queue their messages through those jobs."""

import datetime as dt

from django.db.models import Count, Q
from django.urls import reverse

from .models import Notice, Reminder
from .reminders import PlannedReminder, period_stage_on


def notice_link(notice: Notice) -> str:
    return reverse("reports:notice-detail", args=[notice.pk])


def plan_notice_reminders(*, today: dt.date, link: str = "") -> list[PlannedReminder]:
    """Reminders due today for open notices still waiting for a receipt or a reply.

    The same stages as a period's due date (before, on the day, every few days after, escalating); the stage
    key carries the round of send-backs and the reply date, so a notice sent back or given a new date is
    reminded afresh, while a rerun on the same day finds every claim taken."""
    planned = []
    rows = (
        Notice.objects.filter(status__in=[Notice.Status.ISSUED, Notice.Status.SIGNED])
        .annotate(rounds=Count("events", filter=Q(events__action="reopen")))
        .select_related("unit")
    )
    for notice in rows:
        stage = period_stage_on(due=notice.reply_by, today=today)
        if stage is None:
            continue
        waiting = "签收和答复" if notice.status == Notice.Status.ISSUED else "答复整改措施"
        if stage.kind == Reminder.Kind.PERIOD_OVERDUE:
            head = f"{notice.number}的答复期限 {notice.reply_by:%Y-%m-%d} 已过 {(today - notice.reply_by).days} 天"
            head += f"，{notice.unit.display_name}尚未{waiting}（第 {stage.overdue_round} 次催办）。"
        elif stage.kind == Reminder.Kind.PERIOD_DUE:
            head = f"{notice.number}的答复期限为 {notice.reply_by:%Y-%m-%d}，请今天完成{waiting}。"
        else:
            days = (notice.reply_by - today).days
            head = (
                f"{notice.number}的答复期限为 {notice.reply_by:%Y-%m-%d}（还有 {days} 天），尚未{waiting}。"
            )
        planned.append(
            PlannedReminder(
                unit_id=notice.unit_id,
                kind=Reminder.Kind.NOTICE_DUE,
                subject_key=f"notice:{notice.pk}",
                stage=f"r{notice.rounds}:{notice.reply_by:%Y-%m-%d}:{stage.stage}",
                escalation=stage.escalation,
                send_on=today,
                link=notice_link(notice),
                message=head,
            )
        )
    return planned
