"""Workdays: the official Chinese calendar (holidays and 调休 workdays) plus local overrides.

`chinese_calendar` ships the State Council's holiday arrangements, a year at a time. For a year it does not
know yet it raises NotImplementedError; we then treat Saturday and Sunday as the days off and log that once
per year, so reminders keep going out instead of failing. `EXTRA_HOLIDAYS` / `EXTRA_WORKDAYS` (ISO dates in
the environment) override the calendar either way, e.g. for a local holiday or a newly published 调休.
"""

import datetime as dt
import logging
from functools import lru_cache

from django.conf import settings

logger = logging.getLogger(__name__)

_warned_years: set[int] = set()
# A shift never needs to look further: the longest run of days off (Spring Festival + weekends) is < 15 days.
_MAX_SHIFT_DAYS = 40


@lru_cache(maxsize=8)
def _overrides(holidays: tuple[str, ...], workdays: tuple[str, ...]) -> tuple[frozenset, frozenset]:
    def parse(values, name):
        days = set()
        for value in values:
            value = str(value).strip()
            if not value:
                continue
            try:
                days.add(dt.date.fromisoformat(value))
            except ValueError:
                logger.error("设置 %s 中的日期“%s”无法识别（应为 YYYY-MM-DD），已忽略。", name, value)
        return frozenset(days)

    return parse(holidays, "EXTRA_HOLIDAYS"), parse(workdays, "EXTRA_WORKDAYS")


def _settings_overrides() -> tuple[frozenset, frozenset]:
    return _overrides(
        tuple(getattr(settings, "EXTRA_HOLIDAYS", []) or []),
        tuple(getattr(settings, "EXTRA_WORKDAYS", []) or []),
    )


def _official_is_workday(day: dt.date) -> bool:
    import chinese_calendar

    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            logger.warning(
                "节假日日历（chinesecalendar）尚无 %s 年的安排，该年只按周末计算休息日；请升级 chinesecalendar "
                "或用 EXTRA_HOLIDAYS / EXTRA_WORKDAYS 补充。",
                day.year,
            )
        return day.weekday() < 5


def is_workday(day: dt.date) -> bool:
    """Whether offices work on this day: official calendar with 调休, then the local overrides."""
    extra_holidays, extra_workdays = _settings_overrides()
    if day in extra_workdays:
        return True
    if day in extra_holidays:
        return False
    return _official_is_workday(day)


def previous_workday(day: dt.date) -> dt.date:
    """The day itself if it is a workday, else the last workday before it."""
    for _ in range(_MAX_SHIFT_DAYS):
        if is_workday(day):
            return day
        day -= dt.timedelta(days=1)
    return day


def next_workday(day: dt.date) -> dt.date:
    """The day itself if it is a workday, else the first workday after it."""
    for _ in range(_MAX_SHIFT_DAYS):
        if is_workday(day):
            return day
        day += dt.timedelta(days=1)
    return day


def send_day(nominal: dt.date, *, after: dt.date | None = None) -> dt.date:
    """The day a reminder meant for `nominal` is sent: that day, or the workday before if it is a day off.

    `after` is for reminders that only make sense once a date has passed (overdue): moving back onto or before
    that date would warn about something not yet late, so such a reminder moves to the next workday instead.
    """
    day = previous_workday(nominal)
    if after is not None and day <= after:
        day = next_workday(nominal)
    return day


def nominal_days_sent_on(today: dt.date) -> list[dt.date]:
    """The nominal days whose reminders are sent today (without `after`): today and the days off right after it.

    On a day off nothing is sent: its reminders went out on the workday before.
    """
    if not is_workday(today):
        return []
    days = [today]
    day = today + dt.timedelta(days=1)
    while not is_workday(day) and len(days) < _MAX_SHIFT_DAYS:
        days.append(day)
        day += dt.timedelta(days=1)
    return days
