"""Everything that writes reporting periods: opening one (by hand, or from a plan's deadlines), closing it and
moving its due date, each audited. Reading them is reports.periods."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from departments.permissions import has
from departments.services import (
    ApplicationError,
    PermissionDeniedError,
    audit_log,
)
from reform_ledger.db import retry_transaction

from .models import (
    Period,
    default_due_date,
)

# ---------------------------------------------------------------------------------------------------------------
# Periods
# ---------------------------------------------------------------------------------------------------------------


def _parse_year_quarter(year, quarter) -> tuple[int, int]:
    try:
        year = int(str(year).strip())
    except (TypeError, ValueError):
        raise ApplicationError(f"年度“{year}”不是有效年份。", field="year") from None
    if not 2000 <= year <= 2100:
        raise ApplicationError(f"年度“{year}”超出范围（2000–2100）。", field="year")
    try:
        quarter = int(str(quarter).strip())
    except (TypeError, ValueError):
        raise ApplicationError(f"季度“{quarter}”无效，应为 1–4。", field="quarter") from None
    if quarter not in (1, 2, 3, 4):
        raise ApplicationError(f"季度“{quarter}”无效，应为 1–4。", field="quarter")
    return year, quarter


def _parse_due(value) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ApplicationError(
            f"报送截止日“{value}”不是有效日期（格式 YYYY-MM-DD）。", field="due_date"
        ) from None


def _require_period_manager(actor):
    if not has(actor, "periods.manage"):
        raise PermissionDeniedError("只有医改办工作人员可以管理填报期。")


@retry_transaction
def period_open(*, year, quarter, due_date=None, actor=None) -> tuple[Period, bool]:
    """Open the reporting period (year, quarter); due date defaults to the 20th of the quarter's last month.

    Opening a period that exists re-opens it (and sets the due date if one is given). Returns (period, created).
    """
    _require_period_manager(actor)
    year, quarter = _parse_year_quarter(year, quarter)
    due = _parse_due(due_date)
    period = Period.objects.select_for_update().filter(year=year, quarter=quarter).first()
    if period is None:
        try:
            with transaction.atomic():
                period = Period.objects.create(
                    year=year, quarter=quarter, due_date=due or default_due_date(year, quarter), is_open=True
                )
        except IntegrityError:
            period = Period.objects.select_for_update().get(year=year, quarter=quarter)
        else:
            audit_log(
                actor=actor,
                action="period_open",
                obj=period,
                changes={"is_open": [None, True], "due_date": [None, period.due_date.isoformat()]},
            )
            return period, True
    changes = {}
    if not period.is_open:
        changes["is_open"] = [False, True]
        period.is_open = True
    if due and due != period.due_date:
        changes["due_date"] = [period.due_date.isoformat(), due.isoformat()]
        period.due_date = due
    if changes:
        period.save()
        audit_log(actor=actor, action="period_open", obj=period, changes=changes)
    return period, False


def periods_from_plan(
    *, document, reporting_dates: list[dict], year: int, actor=None, request=None, **_signal
) -> None:
    """The reporting periods of a plan's report-back dates ("9月20日前报送…"), created once each (receiver of
    tasks.signals.plan_imported, inside the plan import's transaction)."""
    for rd in reporting_dates:
        month, day = int(rd.get("month") or 0), int(rd.get("day") or 0)
        if not (1 <= month <= 12 and 1 <= day <= 31):
            continue
        quarter = (month - 1) // 3 + 1
        due = dt.date(int(rd.get("year") or year), month, min(day, 28) if month == 2 else day)
        period, created = Period.objects.get_or_create(
            year=due.year,
            quarter=quarter,
            defaults={"due_date": due or default_due_date(due.year, quarter), "document": document},
        )
        if created:
            audit_log(actor=actor, request=request, action="period_create", obj=period)


@retry_transaction
def period_close(*, period: Period, actor=None) -> Period:
    """Close a period: no new reports can be started in it (existing ones can still be finished and reviewed)."""
    _require_period_manager(actor)
    period = Period.objects.select_for_update().get(pk=period.pk)
    if period.is_open:
        period.is_open = False
        period.save(update_fields=["is_open"])
        audit_log(actor=actor, action="period_close", obj=period, changes={"is_open": [True, False]})
    return period


@retry_transaction
def period_set_due_date(*, period: Period, due_date, actor=None) -> Period:
    """Change a period's due date. Reports already submitted keep the timeliness they had when submitted."""
    _require_period_manager(actor)
    due = _parse_due(due_date)
    if due is None:
        raise ApplicationError("请填写报送截止日。", field="due_date")
    period = Period.objects.select_for_update().get(pk=period.pk)
    if due != period.due_date:
        old = period.due_date
        period.due_date = due
        period.save(update_fields=["due_date"])
        audit_log(
            actor=actor,
            action="period_due_date",
            obj=period,
            changes={"due_date": [old.isoformat(), due.isoformat()]},
        )
    return period
