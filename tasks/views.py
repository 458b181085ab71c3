from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from .lights import task_light
from .selectors import TaskFilterError, task_list_prefetch, tasks_filter, tasks_sorted, tasks_visible_to


@login_required
def task_list(request):
    today = timezone.localdate()
    error = None
    qs = tasks_visible_to(user=request.user)
    try:
        qs = tasks_filter(qs, params=request.GET, today=today)
    except TaskFilterError as e:
        error, qs = e.message, qs.none()
    qs = task_list_prefetch(tasks_sorted(qs, sort=request.GET.get("sort")))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    rows = [(t, task_light(t, today=today)) for t in page]
    return render(request, "tasks/task_list.html", {"page": page, "rows": rows, "error": error})
