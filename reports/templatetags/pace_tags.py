"""``{% pace_rows counts as rows %}``: 序时进度 counts (class -> tasks) as rows with label, share and a link to the
ledger filtered by that class, for the dashboard's and the 通报 preview's summary partial."""

from django import template
from django.urls import reverse

from tasks.pace import Pace

register = template.Library()

CSS = {Pace.BEHIND: "hot", Pace.AHEAD: "good", Pace.COMPLETED: "done"}


@register.simple_tag
def pace_rows(counts) -> list[dict]:
    counts = counts or {}
    total = sum(counts.get(p, 0) for p in Pace.ALL)
    base = reverse("tasks:list")
    return [
        {
            "pace": p,
            "label": Pace.LABELS[p],
            "value": counts.get(p, 0),
            "share": f"{counts.get(p, 0) / total * 100:.1f}%" if total else "—",
            "url": f"{base}?pace={p}",
            "css": CSS.get(p, ""),
        }
        for p in Pace.ALL
    ]


@register.inclusion_tag("reports/snippets/task_pace_panel.html")
def task_pace_panel(task) -> dict:
    """The task page's 序时进度: class, reason, per target expected_now against latest, and the chart."""
    from django.utils import timezone

    from tasks.pace import task_pace

    info = task_pace(task, today=timezone.localdate())
    targets = [
        {"target": t, "expected": info.expected.get(t.pk)}
        for t in task.related_rows("targets")
        if t.due is not None
    ]
    return {
        "task": task,
        "pace": info,
        "targets": targets,
        "start": task.pace_start,
        "data_url": reverse("reports:task-trajectory", args=[task.pk]),
    }
