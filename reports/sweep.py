"""The daily sweep as the scheduler runs it: reminders (reports, task deadlines, 督办单), digests, catch-up.

`sweep_run` is what the beat's daily job and `send_reminders` call:

1. finish what an interrupted run left (reports.reminders.reminders_resume);
2. plan today's reminders (reports.reminders.reminders_plan plus the notices' own, reports.notices), and — with
   `catch_up` — those of workdays whose sweep never ran (server down over a reminder day), oldest first; a unit
   gets one message for all of it, the newest stage of each subject winning, the caught-up lines saying so;
3. claim, dispatch one message per unit, send (reports.reminders);
4. one digest per person who chose 每日汇总 (reports.digests);
5. mark the day (and every caught-up day) as swept in SweepRun.

Every step claims before it sends, so a rerun, a second beat or a catch-up that overlaps a late sweep never
sends anything twice. At worker start (`sweep_on_start`) missed days are caught up, and today's sweep too
if its hour has passed without it — when the last sweep is recent (CATCH_UP_HORIZON_DAYS): a copy started after a
long pause is not an outage to make up for.
"""

import datetime as dt
import logging
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import workdays
from .digests import digests_send
from .models import Reminder, SweepRun
from .notice_reminders import plan_notice_reminders
from .reminders import (
    Deliver,
    PlannedReminder,
    form_link,
    local_date,
    reminders_claim,
    reminders_dispatch,
    reminders_plan,
    reminders_resume,
)

logger = logging.getLogger(__name__)

CATCH_UP_DAYS = 7  # a sweep missed longer ago than this is stale news: not caught up
# A worker starting when no sweep ran for longer than this is a new start (a restored backup, a test or training
# copy), not a server coming back from an outage: it sends nothing of the past and waits for the beat.
CATCH_UP_HORIZON_DAYS = 30
_TASK_KINDS = {Reminder.Kind.TASK_BEFORE, Reminder.Kind.TASK_OVERDUE}


@dataclass
class SweepOutcome:
    created: int = 0
    dispatched: int = 0
    messages: int = 0
    resumed: int = 0
    digests: int = 0
    caught_up: list[dt.date] = field(default_factory=list)


def sweep_time() -> dt.time:
    return dt.time(
        int(getattr(settings, "REMINDER_SWEEP_HOUR", 8)), int(getattr(settings, "REMINDER_SWEEP_MINUTE", 30))
    )


def sweep_moment(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, sweep_time(), tzinfo=ZoneInfo(settings.TIME_ZONE))


def plan_day(*, day: dt.date, now: dt.datetime) -> list[PlannedReminder]:
    """Everything the sweep of `day` sends: reminders_plan (reports, task deadlines) and notices."""
    planned = reminders_plan(now=now)
    if workdays.is_workday(day):
        planned += plan_notice_reminders(today=day, link=form_link())
    return planned


def missed_days(*, today: dt.date) -> list[dt.date]:
    """Workdays before today, within CATCH_UP_DAYS, whose sweep did not finish. Nothing before the first sweep
    this installation ever ran: a new installation does not send the past."""
    first = SweepRun.objects.order_by("day").values_list("day", flat=True).first()
    if first is None:
        return []
    start = max(first + dt.timedelta(days=1), today - dt.timedelta(days=CATCH_UP_DAYS))
    done = set(
        SweepRun.objects.filter(day__gte=start, day__lt=today, finished_at__isnull=False).values_list(
            "day", flat=True
        )
    )
    days, day = [], start
    while day < today:
        if day not in done and workdays.is_workday(day):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def _mark(day: dt.date, *, now: dt.datetime, finished: bool, caught_up: bool = False) -> None:
    try:
        with transaction.atomic():
            SweepRun.objects.get_or_create(day=day, defaults={"started_at": now, "caught_up": caught_up})
    except IntegrityError:
        pass  # another process marked it at the same moment
    if finished:
        SweepRun.objects.filter(day=day, finished_at__isnull=True).update(finished_at=now)


def _subject(p: PlannedReminder) -> tuple:
    # A task reminder is about one deadline (the stage starts with its date); the others about the subject.
    return (p.unit_id, p.kind, p.subject_key, p.stage.split(":")[0] if p.kind in _TASK_KINDS else "")


def sweep_run(
    *,
    now: dt.datetime | None = None,
    deliver: Deliver = "none",
    catch_up: bool = True,
    include_today: bool = True,
) -> SweepOutcome:
    now = now or timezone.now()
    today = local_date(now)
    outcome = SweepOutcome()
    if include_today:
        _mark(today, now=now, finished=False)
    outcome.resumed, _ = reminders_resume(now=now, deliver=deliver, include_failed=False)
    planned: dict[tuple, PlannedReminder] = {}
    caught = missed_days(today=today) if catch_up else []
    for day in caught:
        _mark(day, now=now, finished=False, caught_up=True)
        for p in plan_day(day=day, now=sweep_moment(day)):
            p.message = f"（补发：{day:%m月%d日}因系统未运行未能发出的提醒）{p.message}"
            p.send_on = today
            planned[_subject(p)] = p
    if include_today:
        for p in plan_day(day=today, now=now):
            planned[_subject(p)] = p  # today's stage supersedes a missed one about the same subject
    claimed = reminders_claim(planned=list(planned.values()), now=now)
    outcome.created = len(claimed)
    dispatched = reminders_dispatch(reminder_ids=claimed, now=now, deliver=deliver)
    outcome.dispatched, outcome.messages = dispatched.reminders, dispatched.messages
    if include_today and workdays.is_workday(today) or caught:
        outcome.digests = digests_send(now=now, deliver=deliver)
    for day in caught:
        _mark(day, now=now, finished=True)
    if include_today:
        _mark(today, now=now, finished=True)
    outcome.caught_up = caught
    logger.info(
        "每日扫描 %s：新建 %s 条催报，合并为 %s 条消息，续发 %s 条，汇总 %s 份，补发 %s",
        today, outcome.created, outcome.messages, outcome.resumed, outcome.digests,
        "、".join(f"{d:%m-%d}" for d in caught) or "无",
    )  # fmt: skip
    return outcome


def sweep_on_start(*, now: dt.datetime | None = None, deliver: Deliver = "none") -> SweepOutcome:
    """At worker start: catch up missed sweeps; today's as well when its hour has passed and it did not run."""
    now = now or timezone.now()
    today = local_date(now)
    last = SweepRun.objects.filter(day__lte=today).order_by("-day").values_list("day", flat=True).first()
    if last is None or (today - last).days > CATCH_UP_HORIZON_DAYS:
        logger.info("启动时不补发：最近一次每日扫描为 %s", last or "无")
        return SweepOutcome()
    due_today = (
        timezone.localtime(now).time() >= sweep_time()
        and not SweepRun.objects.filter(day=today, finished_at__isnull=False).exists()
    )
    return sweep_run(now=now, deliver=deliver, catch_up=True, include_today=due_today)
