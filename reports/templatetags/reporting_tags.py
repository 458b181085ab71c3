"""Template tags of the reporting pages. ``{% task_reports task %}`` renders a task's report history for the user
viewing the page (used by templates/tasks/snippets/task_reports.html on the task page)."""

from django import template

from ..selectors import task_report_history

register = template.Library()


@register.inclusion_tag("reports/snippets/task_reports_panel.html", takes_context=True)
def task_reports(context, task):
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    history = (
        task_report_history(task=task, user=user) if user is not None else {"periods": [], "targets": []}
    )
    return {"task": task, "history": history, "request": request}
