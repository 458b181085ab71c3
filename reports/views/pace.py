"""The task page's 序时进度 chart data: GET /reports/tasks/<id>/trajectory.json (the task as the ledger shows it
to this user; another unit's task answers 404)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.urls import path
from django.utils import timezone

from departments.permissions import has
from reports.trajectory import task_trajectory
from tasks.selectors import tasks_visible_to


@login_required
def trajectory_json(request, task_id: int):
    task = tasks_visible_to(user=request.user).filter(pk=task_id).first()
    if task is None:
        raise Http404("任务不存在，或您无权查看。")
    # the reported values are report content: not for the administrator (三员分立), who sees the expected line
    reported = any(has(request.user, c) for c in ("reports.read_all", "reports.read_led", "reports.write"))
    return JsonResponse(task_trajectory(task=task, today=timezone.localdate(), reported=reported))


urlpatterns = [path("reports/tasks/<int:task_id>/trajectory.json", trajectory_json, name="task-trajectory")]
