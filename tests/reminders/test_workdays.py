import datetime as dt
import logging

from reports import workdays

D = dt.date


def test_national_day_is_a_day_off_and_the_tiaoxiu_sunday_is_a_workday():
    assert not workdays.is_workday(D(2024, 10, 1))
    assert not workdays.is_workday(D(2024, 10, 7))
    assert workdays.is_workday(D(2024, 9, 29))  # Sunday, 调休 workday
    assert workdays.is_workday(D(2024, 10, 12))  # Saturday, 调休 workday


def test_a_day_inside_the_national_day_holiday_moves_to_september_30():
    assert workdays.previous_workday(D(2024, 10, 3)) == D(2024, 9, 30)
    assert workdays.previous_workday(D(2024, 9, 30)) == D(2024, 9, 30)


def test_overdue_reminder_never_moves_back_onto_the_due_date():
    # Due Fri 2024-09-20; overdue day Sun 09-22: the workday before is the due day itself, so it goes on Monday.
    assert workdays.send_day(D(2024, 9, 22), after=D(2024, 9, 20)) == D(2024, 9, 23)
    assert workdays.send_day(D(2024, 9, 22)) == D(2024, 9, 20)


def test_on_a_workday_the_sweep_also_sends_for_the_days_off_that_follow():
    assert workdays.nominal_days_sent_on(D(2024, 9, 30)) == [D(2024, 9, 30)] + [
        D(2024, 10, d) for d in range(1, 8)
    ]
    assert workdays.nominal_days_sent_on(D(2024, 10, 3)) == []


def test_extra_holidays_and_workdays_override_the_official_calendar(settings):
    settings.EXTRA_HOLIDAYS = ["2024-09-13"]
    settings.EXTRA_WORKDAYS = ["2024-10-05"]
    assert not workdays.is_workday(D(2024, 9, 13))
    assert workdays.is_workday(D(2024, 10, 5))
    assert workdays.previous_workday(D(2024, 9, 13)) == D(2024, 9, 12)


def test_a_year_the_calendar_does_not_know_falls_back_to_weekends_and_logs_once(caplog):
    workdays._warned_years.discard(2099)
    with caplog.at_level(logging.WARNING, logger="reports.workdays"):
        assert workdays.is_workday(D(2099, 10, 1))  # a Thursday
        assert not workdays.is_workday(D(2099, 10, 3))  # a Saturday
        workdays.is_workday(D(2099, 10, 5))
    assert len([r for r in caplog.records if "2099" in r.getMessage()]) == 1
