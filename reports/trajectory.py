"""序时进度 over time for one task (the task page's chart): per quarter, what was reported against the expected
line. The class itself is tasks.pace's; the report history lives here, in reports, which may read tasks."""

from __future__ import annotations

import datetime as dt

from tasks.models import Task, TaskUnit
from tasks.pace import expected_percent, expected_values

from .models import Period, Report, ReportStatus, TargetValue, default_due_date

SUBMITTED = [ReportStatus.SUBMITTED, ReportStatus.ACCEPTED]


def _number(v):
    if v is None:
        return None
    return int(v) if v == v.to_integral_value() else float(v)


def task_trajectory(*, task: Task, today: dt.date, reported: bool = True) -> dict:
    """{"periods": [labels], "percent": {"expected", "reported"}, "targets": [{label, unit, expected, reported}]}
    over the quarters from the task's 序时 start (Task.pace_start) to the later of today and its deadline that
    have a reporting period. Reported values are the submitted or accepted ones of that quarter, the lead unit's
    first (as Target.latest_value takes them); a quarter without one is null, so the line shows the gap.
    `reported=False` leaves them all null (a reader who may not read report content)."""
    start = task.pace_start
    by_key = {(p.year, p.quarter): p for p in Period.objects.all()}
    if start is not None:
        # every quarter from the start to the later of today and the deadline (at most ten years), so the expected
        # line runs to the end even where no reporting period was opened yet
        until = max(today, task.deadline or today)
        keys, (y, q) = [], (start.year, (start.month - 1) // 3 + 1)
        while (y, q) <= (until.year, (until.month - 1) // 3 + 1) and len(keys) < 40:
            keys.append((y, q))
            y, q = (y + 1, 1) if q == 4 else (y, q + 1)
    else:
        keys = sorted(by_key)
    quarters = [by_key.get(k) or Period(year=k[0], quarter=k[1], due_date=default_due_date(*k)) for k in keys]
    periods = [p for p in quarters if p.pk]
    leads = list(
        TaskUnit.objects.filter(task=task, role=TaskUnit.Role.LEAD)
        .order_by("position")
        .values_list("unit_id", flat=True)
    )

    def rank(unit_id: int) -> int:
        return leads.index(unit_id) if unit_id in leads else len(leads)

    percent: dict[int, tuple] = {}
    if not reported:
        periods = []
    for r in Report.objects.filter(task=task, status__in=SUBMITTED, period__in=periods).only(
        "period_id", "unit_id", "percent", "submitted_at"
    ):
        if r.percent is None:
            continue
        key = (rank(r.unit_id), -(r.submitted_at.timestamp() if r.submitted_at else 0))
        if r.period_id not in percent or key < percent[r.period_id][0]:
            percent[r.period_id] = (key, r.percent)
    targets = list(task.targets.all())
    values: dict[tuple[int, int], tuple] = {}
    for tv in TargetValue.objects.filter(
        target__task=task, report__status__in=SUBMITTED, report__period__in=periods
    ).select_related("report"):
        r = tv.report
        key = (rank(r.unit_id), -(r.submitted_at.timestamp() if r.submitted_at else 0))
        k = (tv.target_id, r.period_id)
        if k not in values or key < values[k][0]:
            values[k] = (key, tv.value)
    expected_by_quarter = {
        (p.year, p.quarter): expected_values(targets=targets, start=start, day=p.end_date) if start else {}
        for p in quarters
    }
    return {
        "periods": [p.label for p in quarters],
        "percent": {
            "expected": [
                _number(expected_percent(start=start, deadline=task.deadline, day=p.end_date))
                if start and task.deadline
                else None
                for p in quarters
            ],
            "reported": [percent[p.pk][1] if p.pk in percent else None for p in quarters],
        },
        "targets": [
            {
                "label": t.label,
                "unit": t.unit,
                "expected": [_number(expected_by_quarter[(p.year, p.quarter)].get(t.pk)) for p in quarters],
                "reported": [
                    _number(values[(t.pk, p.pk)][1]) if (t.pk, p.pk) in values else None for p in quarters
                ],
            }
            for t in targets
        ],
    }
