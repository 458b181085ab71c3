"""The one resolver of reporting periods: which period "now" means, and which one a request asks for.

The current period is the open one (the latest if several are open); when none is open, the latest period that
has started (its quarter is today's or earlier), so a quarter opened ahead of time is not "current" before it
begins; when none has started, the latest. Every page, API call, export and job that needs "the period" asks
`period_current` or `period_resolve`; nothing else orders periods to pick one.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from reform_ledger.errors import ApplicationError
from reform_ledger.params import is_id

from .models import Period

NO_PERIOD = "尚未设置任何填报期，请先由医改办开放填报期。"


def _key(p: Period) -> tuple[int, int]:
    return (p.year, p.quarter)


def _quarter_of(day: dt.date) -> tuple[int, int]:
    return (day.year, (day.month + 2) // 3)


def periods_all() -> QuerySet[Period]:
    """Newest first."""
    return Period.objects.order_by("-year", "-quarter")


def periods_open() -> QuerySet[Period]:
    return periods_all().filter(is_open=True)


def period_current(*, today: dt.date | None = None, periods: list[Period] | None = None) -> Period | None:
    """The current period (module docstring). With `periods` (every period, as a page already read them for
    its selector) no query is made."""
    today = today or timezone.localdate()
    if periods is not None:
        ordered = sorted(periods, key=_key, reverse=True)
        started = [p for p in ordered if _key(p) <= _quarter_of(today)]
        return next((p for p in ordered if p.is_open), None) or next(iter(started + ordered), None)
    year, quarter = _quarter_of(today)
    return (
        periods_open().first()
        or periods_all().filter(Q(year__lt=year) | Q(year=year, quarter__lte=quarter)).first()
        or periods_all().first()
    )


def period_resolve(*, value, today: dt.date | None = None, periods: list[Period] | None = None) -> Period:
    """The period a page or API call asks for (`?period=ID`); the current period when none is given.
    A malformed or unknown id, or no period at all, raises ApplicationError(field="period")."""
    raw = str(value if value is not None else "").strip()
    if not raw:
        period = period_current(today=today, periods=periods)
        if period is None:
            raise ApplicationError(NO_PERIOD, field="period")
        return period
    if not is_id(raw):
        raise ApplicationError(f"参数“period”（填报期）的值“{raw}”无效，应为填报期编号。", field="period")
    if periods is not None:
        period = next((p for p in periods if p.pk == int(raw)), None)
    else:
        period = Period.objects.filter(pk=int(raw)).first()
    if period is None:
        raise ApplicationError(f"填报期“{raw}”不存在。", field="period")
    return period


def period_previous(period: Period, *, periods: list[Period] | None = None) -> Period | None:
    if periods is not None:
        return max((p for p in periods if _key(p) < _key(period)), key=_key, default=None)
    return (
        periods_all().filter(Q(year__lt=period.year) | Q(year=period.year, quarter__lt=period.quarter)).first()
    )
