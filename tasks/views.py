"""The secretariat's ledger pages: the list with filters, a task's detail and history, create / edit / delete."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.views import View

from departments.permissions import SecretariatRequiredMixin, can_edit_ledger
from departments.selectors import counties as county_units
from departments.services import ApplicationError, ConflictError

from . import forms as task_forms
from .lights import task_light
from .models import Document, Light, Progress
from .pace import Pace
from .selectors import (
    TaskFilterError,
    task_history,
    task_list_prefetch,
    task_rows_prefetch,
    tasks_deleted_visible_to,
    tasks_filter,
    tasks_sorted,
    tasks_visible_to,
)
from .services import ACTION_LABELS, FIELD_LABELS, task_create, task_delete, task_restore, task_update

PAGE_SIZE = 50


class FirstPagePaginator(Paginator):
    """Reads the first page with one row more than fits, and counts in SQL only when that row is there: a
    filtered ledger usually fits on one page, and then its row count is known without a COUNT query."""

    def __init__(self, object_list, per_page, *, first: bool):
        super().__init__(object_list, per_page)
        self._head = list(object_list[: per_page + 1]) if first else None

    @cached_property
    def count(self) -> int:
        if self._head is not None and len(self._head) <= self.per_page:
            return len(self._head)
        return self.object_list.count()

    def page(self, number):
        number = self.validate_number(number)
        if number == 1 and self._head is not None:
            return self._get_page(self._head[: self.per_page], 1, self)
        return super().page(number)


FILTER_NAMES = ("document", "lead_unit", "unit", "county", "status", "light", "pace", "overdue", "search")
# (sort key, column label); None for columns that are not sortable.
COLUMNS = [
    ("document", "文号", None),
    ("path", "编号", "path"),
    ("title", "任务", "title"),
    ("lead", "牵头单位", None),
    ("responsible", "责任单位", None),
    ("counties", "县(市、区)", None),
    ("deadline", "下一时限", "deadline"),
    ("status", "进展状态", "status"),
    ("light", "亮灯", "light"),
]
SORT_KEYS = {key for _, _, key in COLUMNS if key}


def _query(params: dict) -> str:
    from urllib.parse import urlencode

    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return ("?" + urlencode(clean)) if clean else "?"


def _sort_headers(filters: dict, sort: str) -> list[dict]:
    headers = []
    for _, label, key in COLUMNS:
        if key is None:
            headers.append({"label": label})
            continue
        descending = sort == f"-{key}"
        active = sort in (key, f"-{key}")
        next_sort = key if (not active or descending) else f"-{key}"
        headers.append(
            {
                "label": label,
                "url": _query({**filters, "sort": next_sort}),
                "arrow": ("↓" if descending else "↑") if active else "",
                "key": key,
            }
        )
    return headers


def _counties_summary(task, total: int) -> tuple[str, str]:
    """Compact text for the list and the full names for its tooltip."""
    names = [u.display_name for u in task.counties]
    if not names:
        return "", ""
    full = "、".join(names)
    if total and len(names) == total:
        return "全部县区", full
    if len(names) <= 2:
        return full, full
    return f"{len(names)} 个县区", full


@login_required
def task_list(request):
    today = timezone.localdate()
    filters = {name: (request.GET.get(name) or "").strip() for name in FILTER_NAMES}
    if not filters["search"] and request.GET.get("q"):
        filters["search"] = request.GET["q"].strip()
    sort = request.GET.get("sort") or "path"
    if sort.lstrip("-") not in SORT_KEYS:
        sort = "path"
    error = error_field = None
    qs = tasks_visible_to(user=request.user)
    try:
        qs = tasks_filter(qs, params=filters, today=today)
    except TaskFilterError as e:
        error, error_field, qs = e.message, e.field, qs.none()
    qs = task_rows_prefetch(tasks_sorted(qs, sort=sort, today=today))
    number = request.GET.get("page")
    page = FirstPagePaginator(qs, PAGE_SIZE, first=(number or "1") == "1").get_page(number)
    counties = list(county_units())  # the filter's choices, and how many there are in all
    total_counties = len(counties)
    rows = []
    for task in page:
        compact, full = _counties_summary(task, total_counties)
        rows.append(
            {"task": task, "light": task_light(task, today=today), "counties": compact, "counties_full": full}
        )
    base = {**filters, "sort": sort if sort != "path" else ""}
    context = {
        "page": page,
        "rows": rows,
        "error": error,
        "error_field": error_field,
        "filters": filters,
        "headers": _sort_headers(filters, sort),
        "page_query": _query(base) + ("&" if _query(base) != "?" else ""),  # the page links add page=N
        "sort": sort,
        "documents": Document.objects.order_by("-issued_on", "id"),
        "counties": counties,
        "statuses": Progress.choices,
        "lights": Light.choices,
        "paces": Pace.choices,
        "can_edit": can_edit_ledger(request.user),
        "today": today,
    }
    # 200 even for a refused filter: the page explains it, and a 4xx document shows as a console error.
    return render(request, "tasks/task_list.html", context)


def _history_rows(task) -> list[dict]:
    rows = []
    for entry in task_history(task=task):
        changes = []
        if entry.action != "task_create":
            for field, pair in (entry.changes or {}).items():
                old, new = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)
                changes.append({"field": FIELD_LABELS.get(field, field), "old": old, "new": new})
        rows.append(
            {
                "at": entry.at,
                "by": entry.actor_name,
                "action": ACTION_LABELS.get(entry.action, entry.action),
                "changes": changes,
                "message": entry.message,
            }
        )
    return rows


def _visible_task(request, pk, *, include_deleted=False):
    """Every lookup by id goes through the visibility selector: a task the user cannot see is a 404."""
    task = task_list_prefetch(tasks_visible_to(user=request.user)).filter(pk=pk).first()
    if task is None and include_deleted:
        task = task_list_prefetch(tasks_deleted_visible_to(user=request.user)).filter(pk=pk).first()
    if task is None:
        raise Http404("未找到该任务，或您无权查看。")
    return task


@login_required
def task_detail(request, pk):
    task = _visible_task(request, pk, include_deleted=True)
    today = timezone.localdate()
    context = {
        "task": task,
        "light": task_light(task, today=today),
        "milestones": list(task.milestones.all()),
        "targets": list(task.targets.all()),
        "history": _history_rows(task),
        "can_edit": can_edit_ledger(request.user),
        # Other apps add sections below the targets (e.g. the reports engineer's quarterly reports).
        "extra_sections": [],
    }
    return render(request, "tasks/task_detail.html", context)


def _conflict_row(change: dict) -> dict:
    import datetime as dt

    try:
        at = dt.datetime.fromisoformat(change.get("at", ""))
    except ValueError:
        at = None
    return {**change, "at": at}


def _plan_year(task, form) -> int | None:
    """The year deadline phrases without one (年底前) are read against: the plan's, from its 文号 or title."""
    from .deadlines import year_of_plan

    document = task.document if task is not None else (form.cleaned_data or {}).get("document")
    return year_of_plan(document.doc_number, document.title) if document is not None else None


class TaskFormView(SecretariatRequiredMixin, View):
    """Create (no pk) or edit (pk) a task. Input is kept on every refusal; nothing is saved unless all is valid."""

    def get_task(self):
        pk = self.kwargs.get("pk")
        return _visible_task(self.request, pk) if pk else None

    def get(self, request, pk=None):
        task = self.get_task()
        if task is None:
            initial = {"status": Progress.NOT_STARTED}
            if request.GET.get("document"):
                initial["document"] = request.GET["document"]
            form = task_forms.TaskForm(initial=initial, creating=True)
        else:
            form = task_forms.TaskForm(initial=task_forms.TaskForm.initial_for(task), creating=False)
        return self.render(
            form,
            task=task,
            milestone_rows=task_forms.milestone_rows_for(task),
            target_rows=task_forms.target_rows_for(task),
        )

    def post(self, request, pk=None):
        task = self.get_task()
        form = task_forms.TaskForm(request.POST, creating=task is None)
        m_rows = task_forms.milestone_rows_from_post(request.POST)
        t_rows = task_forms.target_rows_from_post(request.POST)
        keep = {"task": task, "milestone_rows": m_rows, "target_rows": t_rows}
        if not form.is_valid():
            name, errors = next(iter(form.errors.items()))
            label = form.fields[name].label if name in form.fields else ""
            # Django's own messages ("确保该值不超过 500 个字符。") do not say which field they are about.
            first = errors[0] if not label or label in errors[0] else f"{label}：{errors[0]}"
            return self.render(form, error=first, **keep)
        try:
            data = form.to_task_data(
                milestones=task_forms.milestones_from_rows(m_rows, year=_plan_year(task, form)),
                targets=task_forms.targets_from_rows(t_rows),
            )
            if task is None:
                saved = task_create(
                    document=form.cleaned_data["document"], data=data, actor=request.user, request=request
                )
                messages.success(request, f"已新建任务 {saved.path_key}。")
            else:
                # "version_override" is the explicit "save mine over theirs" button shown after a conflict.
                version = request.POST.get("version_override") or form.cleaned_data.get("version")
                saved = task_update(
                    task=task, data=data, version=version, actor=request.user, request=request
                )
                messages.success(request, f"已保存任务 {saved.path_key}（版本 {saved.version}）。")
        except ConflictError as e:
            conflict = {**e.extra, "changes": [_conflict_row(c) for c in e.extra.get("changes", [])]}
            return self.render(form, error=e.message, conflict=conflict, **keep)
        except ApplicationError as e:
            return self.render(form, error=e.message, error_field=e.field, **keep)
        return redirect("tasks:detail", pk=saved.pk)

    def render(
        self,
        form,
        *,
        task,
        milestone_rows,
        target_rows,
        error=None,
        error_field=None,
        conflict=None,
    ):
        # A refused save answers 200 with the form and the message, as Django's FormView does: a 4xx document
        # would show in the browser console as an error although the page is working as intended.
        if error_field is None and form.errors:
            error_field = next(iter(form.errors))
        context = {
            "form": form,
            "task": task,
            "error": error,
            "error_field": error_field,
            "conflict": conflict,
            "milestone_rows": task_forms.with_blank_rows(
                milestone_rows, task_forms.MILESTONE_COLUMNS, task_forms.EXTRA_MILESTONE_ROWS
            ),
            "target_rows": task_forms.with_blank_rows(
                target_rows, task_forms.TARGET_COLUMNS, task_forms.EXTRA_TARGET_ROWS
            ),
            "op_choices": task_forms.OP_CHOICES,
        }
        return render(self.request, "tasks/task_form.html", context)


class TaskDeleteView(SecretariatRequiredMixin, View):
    def post(self, request, pk):
        task = _visible_task(request, pk)
        task_delete(task=task, actor=request.user, request=request)
        messages.success(request, f"已删除任务 {task.path_key}，可在“已删除的任务”中恢复。")
        return redirect("tasks:list")


class TaskRestoreView(SecretariatRequiredMixin, View):
    def post(self, request, pk):
        task = get_object_or_404(tasks_deleted_visible_to(user=request.user), pk=pk)
        try:
            task_restore(task=task, actor=request.user, request=request)
        except ApplicationError as e:
            messages.error(request, e.message)
            return redirect(reverse("tasks:deleted"))
        messages.success(request, f"已恢复任务 {task.path_key}。")
        return redirect("tasks:detail", pk=task.pk)


class DeletedTaskList(SecretariatRequiredMixin, View):
    def get(self, request):
        qs = tasks_deleted_visible_to(user=request.user).order_by("-deleted_at", "id")
        page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "tasks/task_deleted.html", {"page": page})
