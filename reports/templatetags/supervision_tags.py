"""督办 partials for pages other engineers own: one line each to include them.

{% load supervision_tags %}{% open_notices %}            dashboard, a unit's landing page
{% load supervision_tags %}{% task_supervision task %}   the task page
"""

from django import template
from django.db.models import Prefetch
from django.utils import timezone

from tasks.models import Task

from ..extensions import extension_can_request, extensions_visible_to
from ..notices import notice_can_issue, notices_open_for

register = template.Library()

SHOWN = 10
OPEN_NOTICE_FIELDS = ("id", "number", "reply_by", "status", "unit__name", "unit__short_name")


@register.inclusion_tag("reports/snippets/open_notices.html", takes_context=True)
def open_notices(context):
    user = context["request"].user
    # Only what the snippet shows: the five joins of the full notice (who issued, signed, replied, closed) took the
    # planner longer than the dashboard's own cached read, on every dashboard and landing page.
    qs = (
        notices_open_for(user=user)
        .select_related(None)
        .select_related("unit")
        .only(*OPEN_NOTICE_FIELDS)
        .prefetch_related(Prefetch("tasks", queryset=Task.objects.only("id", "path_key")))
    )
    notices = list(qs[:SHOWN])
    total = qs.count() if len(notices) == SHOWN else len(notices)  # fewer than a page: they are all there
    return {"notices": notices, "total": total, "today": timezone.localdate(), "user": user}


@register.inclusion_tag("reports/snippets/task_supervision.html", takes_context=True)
def task_supervision(context, task):
    user = context["request"].user
    milestones = task.related_rows("milestones")
    return {
        "task": task,
        "notices": list(notices_open_for(user=user, task=task)),
        "extensions": list(
            extensions_visible_to(user=user).filter(task=task).order_by("-created_at", "-id")[:20]
        ),
        "moved": [m for m in milestones if m.extension_note],
        "can_request": task.deleted_at is None and extension_can_request(user=user, task=task),
        "can_issue": task.deleted_at is None and notice_can_issue(user=user),
        "today": timezone.localdate(),
    }
