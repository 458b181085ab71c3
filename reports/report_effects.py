"""What a submitted or accepted report changes in the ledger: its targets' latest values and, on acceptance of the
lead units' reports, the task's status (see reports.services for when)."""

from __future__ import annotations

import datetime as dt

from tasks.models import Progress, Target, Task, TaskUnit
from tasks.services import task_refresh_schedule, task_set_status

from .models import (
    Report,
    ReportStatus,
    TargetValue,
)

# ---------------------------------------------------------------------------------------------------------------
# Ledger side effects: latest target values and the task status
# ---------------------------------------------------------------------------------------------------------------


def targets_refresh_latest(*, task: Task) -> None:
    """Keep Target.latest_value / latest_value_at / latest_period_end and the task's reported percent
    (Task.reported_percent / reported_period_end, for 序时进度) on the newest submitted or accepted report, then
    the lights and the pace.

    Newest period first; within a period the lead unit's report wins, then the latest submission.
    """
    lead_ids = set(
        TaskUnit.objects.filter(task=task, role=TaskUnit.Role.LEAD).values_list("unit_id", flat=True)
    )

    def newest(report: Report):
        return (
            report.period.year,
            report.period.quarter,
            report.unit_id in lead_ids,
            report.submitted_at or dt.datetime.min.replace(tzinfo=dt.UTC),
        )

    changed = False
    for target in Target.objects.filter(task=task):
        candidates = list(
            TargetValue.objects.filter(
                target=target, report__status__in=[ReportStatus.SUBMITTED, ReportStatus.ACCEPTED]
            ).select_related("report__period")
        )
        best = max(candidates, key=lambda tv: newest(tv.report)) if candidates else None
        value = best.value if best else None
        at = best.report.submitted_at if best else None
        period_end = best.report.period.end_date if best else None
        if (target.latest_value, target.latest_value_at, target.latest_period_end) != (value, at, period_end):
            Target.objects.filter(pk=target.pk).update(
                latest_value=value, latest_value_at=at, latest_period_end=period_end
            )
            changed = True
    reports = list(
        Report.objects.filter(
            task=task, status__in=[ReportStatus.SUBMITTED, ReportStatus.ACCEPTED]
        ).select_related("period")
    )
    best_report = max(reports, key=newest) if reports else None
    percent = best_report.percent if best_report else None
    period_end = best_report.period.end_date if best_report else None
    current = Task.objects.filter(pk=task.pk).values_list("reported_percent", "reported_period_end").first()
    if current != (percent, period_end):
        Task.objects.filter(pk=task.pk).update(reported_percent=percent, reported_period_end=period_end)
        changed = True
    if changed:
        task_refresh_schedule(task=task)


def _task_status_from_lead_reports(*, task: Task, report: Report, actor) -> None:
    lead_ids = list(
        TaskUnit.objects.filter(task=task, role=TaskUnit.Role.LEAD).values_list("unit_id", flat=True)
    )
    if report.unit_id not in lead_ids:
        return
    newer = (
        Report.objects.filter(
            task=task, unit_id__in=lead_ids, status=ReportStatus.ACCEPTED, period__year__gt=report.period.year
        ).exists()
        or Report.objects.filter(
            task=task,
            unit_id__in=lead_ids,
            status=ReportStatus.ACCEPTED,
            period__year=report.period.year,
            period__quarter__gt=report.period.quarter,
        ).exists()
    )
    if newer:
        return  # an older quarter's acceptance never overrides a newer one
    accepted = dict(
        Report.objects.filter(
            task=task, period=report.period, unit_id__in=lead_ids, status=ReportStatus.ACCEPTED
        ).values_list("unit_id", "progress")
    )
    progresses = set(accepted.values())
    if progresses == {Progress.COMPLETED} and len(accepted) == len(set(lead_ids)):
        status = Progress.COMPLETED
    elif Progress.LAGGING in progresses:
        status = Progress.LAGGING
    elif progresses & {Progress.COMPLETED, Progress.IN_PROGRESS}:
        status = Progress.IN_PROGRESS
    else:
        status = Progress.NOT_STARTED
    fresh = Task.objects.get(pk=task.pk)
    if fresh.status != status:
        task_set_status(task=fresh, status=status, actor=actor)
