"""What each unit owes in a reporting period: the one definition shared by reminders and roll-ups.

The rule (DOMAIN.md, "Who works with the ledger"): for every live task (not deleted), each of its lead units
(牵头单位) and responsible units (责任单位) owes one report, and each county government attached to the task
(TaskUnit role county) owes one report for its own part. A unit listed twice on one task (e.g. lead and
responsible by a data-entry slip) still owes one report: the report is unique per (task, unit, period).
Deleted or deactivated units owe nothing.

An obligation is met when a Report for that (task, unit, period) has status submitted or accepted; draft and
returned reports are still owed.

Everything here is a queryset evaluated in SQL: no per-task Python loops, so callers can aggregate over a
province-size ledger in a constant number of queries.

    from reports.obligations import obligations_for_period, missing_for_period, units_with_missing_reports
    from reports.obligations import obligation_rows  # row level, for aggregates (roll-ups)
"""

from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery

from departments.models import Unit
from tasks.models import TaskUnit

from .models import Report, ReportStatus

#: Report statuses that count as "reported" for the unit.
SUBMITTED_STATUSES = (ReportStatus.SUBMITTED, ReportStatus.ACCEPTED)


def obligation_rows(*, period) -> QuerySet[TaskUnit]:
    """TaskUnit rows that owe a report in `period`, unordered. Rows, not distinct pairs: a unit listed twice on one
    task gives two rows, so callers that count pairs must allow for it (roll-ups subtract the rare duplicates);
    rows are what lets a caller aggregate per unit in one pass without COUNT(DISTINCT)."""
    # `period` is part of the signature on purpose: today every live task is owed in every period, but the
    # rule lives here so that a change (e.g. tasks issued after the quarter) is made once for everyone.
    return TaskUnit.objects.filter(
        task__deleted_at__isnull=True, unit__deleted_at__isnull=True, unit__is_active=True
    ).order_by()


_obligation_rows = obligation_rows  # the earlier private name


def obligations_for_period(*, period) -> QuerySet:
    """Distinct `{"task_id", "unit_id"}` pairs: one report owed by that unit on that task in `period`."""
    return _obligation_rows(period=period).values("task_id", "unit_id").distinct().order_by()


def _submitted_report(*, period):
    return Report.objects.filter(
        period=period, task_id=OuterRef("task_id"), unit_id=OuterRef("unit_id"), status__in=SUBMITTED_STATUSES
    )


def missing_rows(*, period) -> QuerySet[TaskUnit]:
    """TaskUnit rows of obligations with no submitted/accepted report (may repeat a pair; see `missing_for_period`)."""
    return _obligation_rows(period=period).filter(~Exists(_submitted_report(period=period)))


def missing_for_period(*, period) -> QuerySet:
    """Distinct `{"task_id", "unit_id"}` pairs still owed in `period` (no submitted or accepted report)."""
    return missing_rows(period=period).values("task_id", "unit_id").distinct().order_by()


def missing_counts_by_unit(*, period) -> QuerySet:
    """`{"unit_id", "reports_missing"}` per unit that still owes at least one report in `period` (one query)."""
    return (
        missing_rows(period=period)
        .order_by()
        .values("unit_id")
        .annotate(reports_missing=Count("task_id", distinct=True))
        .filter(reports_missing__gt=0)
    )


def units_with_missing_reports(*, period) -> QuerySet[Unit]:
    """Units that have not yet submitted all their reports for `period`, annotated `reports_missing`.

    A unit that has submitted (or had accepted) every report it owes is not in the result.
    """
    counts = (
        missing_rows(period=period)
        .filter(unit_id=OuterRef("pk"))
        .order_by()
        .values("unit_id")
        .annotate(n=Count("task_id", distinct=True))
        .values("n")
    )
    return Unit.objects.filter(pk__in=missing_rows(period=period).values("unit_id")).annotate(
        reports_missing=Subquery(counts)
    )
