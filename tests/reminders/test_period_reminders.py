import datetime as dt

import pytest
from django.core import mail

from reports.models import Delivery, Notification, Reminder, ReportStatus
from reports.reminders import reminders_plan, reminders_send_due
from tests.factories import PeriodFactory

from .conftest import at, submit

pytestmark = pytest.mark.django_db


def sweep(day, **kw):
    return reminders_send_due(now=at(day, **kw), deliver="sync")


def stages(unit):
    return list(Reminder.objects.filter(unit=unit).order_by("id").values_list("kind", "stage"))


@pytest.mark.parametrize(
    ("day", "kind", "stage"),
    [
        ("2024-09-13", "period_before", "d7"),
        ("2024-09-19", "period_before", "d1"),
        ("2024-09-20", "period_due", "d0"),
        ("2024-09-23", "period_overdue", "overdue1"),  # nominal Sun 09-22; Friday is the due day, so Monday
        ("2024-09-24", "period_overdue", "overdue2"),
        ("2024-09-26", "period_overdue", "overdue3"),
        ("2024-09-27", "period_overdue", "overdue4"),  # nominal Sat 09-28 moves to Friday
    ],
)
def test_units_that_owe_reports_get_the_stage_of_the_day(ledger, unit_a, unit_b, county, day, kind, stage):
    result = sweep(day)
    assert result.created == 3
    for unit in (unit_a, unit_b, county):
        assert stages(unit) == [(kind, stage)]


def test_the_three_day_reminder_moves_from_the_mid_autumn_holiday_to_the_saturday_workday(ledger, unit_a):
    # Due Fri 2024-09-20; three days before is Tue 09-17, inside 中秋 (09-15..17); Sat 09-14 is a 调休 workday.
    assert sweep("2024-09-14").created == 3
    assert stages(unit_a) == [("period_before", "d3")]
    assert sweep("2024-09-17").created == 0  # a day off sends nothing
    assert sweep("2024-09-16").created == 0


@pytest.mark.parametrize("day", ["2024-09-12", "2024-09-18", "2024-09-25", "2024-09-21"])
def test_days_without_a_stage_send_nothing(ledger, day):
    assert sweep(day).created == 0
    assert not Reminder.objects.exists()


def test_a_due_date_inside_the_national_day_holiday_is_reminded_on_september_30(db, unit_a, reporter):
    from tests.factories import TaskFactory

    period = PeriodFactory(year=2024, quarter=4, due_date=dt.date(2024, 10, 3), is_open=True)
    TaskFactory(lead=[unit_a])
    # d3 (09-30), d1 (10-02) and the due day (10-03) all move to Mon 09-30: one reminder, the most urgent.
    assert sweep("2024-09-30").created == 1
    reminder = Reminder.objects.get()
    assert (reminder.kind, reminder.stage, reminder.period) == ("period_due", "d0", period)
    assert "休息日" in reminder.message and "2024年10月3日" in reminder.message
    assert sweep("2024-10-03").created == 0
    # The week before: d7 is Thu 09-26.
    assert sweep("2024-09-26").created == 1


def test_a_unit_that_has_submitted_everything_gets_nothing(ledger, unit_a, unit_b, county, period):
    submit(ledger["t1"], unit_b, period)
    submit(ledger["t2"], county, period, status=ReportStatus.ACCEPTED)
    sweep("2024-09-13")
    assert list(Reminder.objects.values_list("unit__name", flat=True)) == [unit_a.name]


def test_draft_and_returned_reports_are_still_owed_and_only_missing_tasks_are_listed(ledger, unit_a, period):
    submit(ledger["t1"], unit_a, period)
    submit(ledger["t2"], unit_a, period, status=ReportStatus.RETURNED)
    sweep("2024-09-13")
    message = Reminder.objects.get(unit=unit_a).message
    assert "医保支付方式改革" in message and "推进分级诊疗" not in message
    assert "共 1 项" in message


def test_a_closed_period_and_a_deleted_task_are_not_reminded(ledger, period, unit_a):
    from django.utils import timezone

    ledger["t1"].deleted_at = timezone.now()
    ledger["t1"].save()
    sweep("2024-09-13")
    assert "推进分级诊疗" not in Reminder.objects.get(unit=unit_a).message
    period.is_open = False
    period.save()
    assert sweep("2024-09-19").created == 0


def test_running_the_sweep_twice_creates_nothing_the_second_time(ledger):
    first = sweep("2024-09-13")
    outbox = len(mail.outbox)
    notes = Notification.objects.count()
    second = sweep("2024-09-13", hour=15)
    assert first.created == 3 and second.created == 0
    assert len(mail.outbox) == outbox and Notification.objects.count() == notes
    assert Reminder.objects.count() == 3


def test_the_plan_is_one_reminder_per_unit_however_many_tasks_it_owes(ledger, unit_a):
    from tests.factories import TaskFactory

    for _ in range(5):
        TaskFactory(lead=[unit_a])
    planned = [p for p in reminders_plan(now=at("2024-09-13")) if p.unit_id == unit_a.pk]
    assert len(planned) == 1
    assert "共 7 项" in planned[0].message


def test_a_long_list_names_ten_tasks_and_says_how_many_in_all(db, unit_a, period):
    from tests.factories import TaskFactory

    for i in range(12):
        TaskFactory(path=["二", str(i + 1)], title=f"任务{i + 1:02d}", lead=[unit_a])
    sweep("2024-09-13")
    message = Reminder.objects.get().message
    assert "等 12 项" in message
    assert "任务10" in message and "任务11" not in message


@pytest.mark.parametrize(
    ("day", "who"),
    [
        ("2024-09-23", {"rep_a"}),
        ("2024-09-24", {"rep_a", "sec"}),
        ("2024-09-26", {"rep_a", "sec", "leader"}),
    ],
)
def test_overdue_reminders_escalate_to_the_secretariat_then_the_leaders(ledger, unit_a, day, who):
    sweep(day)
    reminder = Reminder.objects.get(unit=unit_a)
    got = set(Notification.objects.filter(reminder=reminder).values_list("user__username", flat=True))
    assert got == who
    assert reminder.escalation == len(who) - 1


def test_the_escalation_ladder_follows_the_settings(ledger, unit_a, settings):
    settings.REMINDER_ESCALATE_SECRETARIAT_FROM = 1
    settings.REMINDER_ESCALATE_LEADERS_FROM = 2
    settings.REMINDER_OVERDUE_EVERY_DAYS = 1
    sweep("2024-09-24")  # every day overdue: 09-24 is round 4, past both thresholds
    reminder = Reminder.objects.get(unit=unit_a)
    assert reminder.kind == "period_overdue"
    assert set(Notification.objects.filter(reminder=reminder).values_list("user__username", flat=True)) >= {
        "sec",
        "leader",
    }


def test_days_before_are_configurable(ledger, settings):
    settings.REMINDER_DAYS_BEFORE = [10]
    assert sweep("2024-09-13").created == 0
    assert sweep("2024-09-10").created == 3
    assert Reminder.objects.filter(stage="d10").count() == 3


def test_every_recipient_gets_one_inbox_message_and_one_email(ledger, unit_a, second_reporter):
    sweep("2024-09-13")
    reminder = Reminder.objects.get(unit=unit_a)
    assert Notification.objects.filter(reminder=reminder).count() == 2
    emails = sorted(
        Delivery.objects.filter(reminder=reminder, channel="email").values_list("recipient", flat=True)
    )
    assert emails == ["rep_a2@example.gov.cn", "rep_a@example.gov.cn", "yibaoju@example.gov.cn"]
    assert all(d.status == "sent" for d in Delivery.objects.filter(reminder=reminder))
    to = sorted(m.to[0] for m in mail.outbox if "市医保局" in m.subject)
    assert to == emails
    body = next(m for m in mail.outbox if m.to == ["rep_a@example.gov.cn"]).body
    assert "2024年第三季度" in body and "推进分级诊疗" in body


def _sweep_queries(day):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        reminders_send_due(now=at(day), deliver="none")
    return len(ctx.captured_queries)


def test_the_number_of_queries_does_not_grow_with_the_number_of_tasks(ledger, unit_a, unit_b, county):
    import datetime as dt

    from tests.factories import MilestoneFactory, TaskFactory

    def add_tasks(n):
        for _ in range(n):
            t = TaskFactory(lead=[unit_a], responsible=[unit_b], counties=[county])
            MilestoneFactory(task=t, date=dt.date(2024, 10, 13))  # its d30 falls on 09-13 too

    add_tasks(2)
    few = _sweep_queries("2024-09-13")
    Reminder.objects.all().delete()
    add_tasks(30)
    many = _sweep_queries("2024-09-13")
    assert Reminder.objects.filter(kind="task_before").count() == 32
    assert many == few
