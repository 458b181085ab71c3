"""督办 partials for pages other engineers own: one line each to include them.

{% load supervision_tags %}{% open_notices %}            dashboard, a unit's landing page
{% load supervision_tags %}{% task_supervision task %}   the task page
"""

from django import template
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.utils import timezone

from departments.permissions import roles_of

from ..extensions import extension_can_request, extensions_visible_to
from ..models import Notice
from ..notices import notice_can_issue, notices_open_for

register = template.Library()

SHOWN = 10
OPEN_NOTICE_FIELDS = ("id", "number", "reply_by", "status", "unit__name", "unit__short_name")

# The open-notices statement compiled per audience: (roles, role, unit) -> (sql, params). Who sees which notices
# is reports.notices' rule; building its queryset through the ORM took longer than the query itself, on every
# dashboard and landing page. Bounded: a few roles times the units.
_STATEMENTS: dict[tuple, tuple[str, tuple]] = {}


def _open_rows(user) -> list[dict]:
    key = (connection.alias, roles_of(user), user.role, user.unit_id)
    entry = _STATEMENTS.get(key)
    if entry is None:
        query = notices_open_for(user=user).values(*OPEN_NOTICE_FIELDS)[: SHOWN + 1].query
        try:
            sql, params = query.sql_with_params()
        except EmptyResultSet:  # nobody's notices (the administrator, the auditor)
            return []
        if len(_STATEMENTS) > 1024:
            _STATEMENTS.clear()
        entry = _STATEMENTS[key] = (sql, tuple(params))
    with connection.cursor() as cursor:
        cursor.execute(*entry)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@register.inclusion_tag("reports/snippets/open_notices.html", takes_context=True)
def open_notices(context):
    user = context["request"].user
    rows = _open_rows(user)
    if not rows:
        return {"notices": [], "total": 0}
    shown = rows[:SHOWN]
    paths: dict[int, list[str]] = {}
    for notice_id, path_key in (
        Notice.tasks.through.objects.filter(notice_id__in=[r["id"] for r in shown])
        .order_by("notice_id", "task__document_id", "task__sort_key")
        .values_list("notice_id", "task__path_key")
    ):
        paths.setdefault(notice_id, []).append(path_key)
    today = timezone.localdate()
    notices = [
        {
            "id": r["id"],
            "number": r["number"],
            "unit": r["unit__short_name"] or r["unit__name"],
            "tasks": "、".join(paths.get(r["id"], [])),
            "reply_by": r["reply_by"],
            "late": r["status"] != Notice.Status.REPLIED and r["reply_by"] < today,
            "status": Notice.Status(r["status"]).label,
        }
        for r in shown
    ]
    total = notices_open_for(user=user).count() if len(rows) > SHOWN else len(notices)
    return {"notices": notices, "total": total}


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
