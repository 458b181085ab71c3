"""Reads of the ledger. Every lookup by id goes through `tasks_visible_to`."""

import datetime as dt

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from departments.models import AuditEntry, Unit, UnitKind
from departments.permissions import can_edit_ledger, has
from departments.selectors import unit_resolve
from reform_ledger.params import is_id

from .lights import annotate_light, light_q
from .models import Light, Progress, Task, TaskUnit
from .pace import Pace, pace_q


def unit_task_q(unit: Unit) -> Q:
    """Tasks a unit carries: as lead or responsible unit, or as a county involved in the task."""
    return Q(Exists(TaskUnit.objects.filter(task=OuterRef("pk"), unit=unit)))


def tasks_visible_to(*, user) -> QuerySet[Task]:
    """The one rule for who sees which task (pages, API, exports).

    Who holds ``ledger.read_all`` (secretariat, leaders, the administrator) reads the whole ledger; a reporter
    (``ledger.read``) reads the tasks its unit carries; anyone else (the auditor) reads none.
    """
    qs = Task.objects.alive().select_related("document")
    if has(user, "ledger.read_all"):
        return qs
    if has(user, "ledger.read") and user.unit_id:
        return qs.filter(unit_task_q(user.unit))
    return qs.none()


def task_list_prefetch(qs: QuerySet[Task]) -> QuerySet[Task]:
    # Units joined into the task-unit query (one query instead of two per page).
    units = Prefetch("task_units", queryset=TaskUnit.objects.select_related("unit"))
    return qs.prefetch_related(units, "milestones", "targets")


def task_rows_prefetch(qs: QuerySet[Task]) -> QuerySet[Task]:
    """The same rows as `task_list_prefetch`, kept as plain lists (`task_units_list`, `milestones_list`,
    `targets_list`, which Task's unit properties and tasks.lights.task_light read) for pages that only show
    them: Django then builds no queryset per task and relation (150 on a 50-task page, most of its time)."""
    units = TaskUnit.objects.select_related("unit")
    return qs.prefetch_related(
        Prefetch("task_units", queryset=units, to_attr="task_units_list"),
        Prefetch("milestones", to_attr="milestones_list"),
        Prefetch("targets", to_attr="targets_list"),
    )


def _unit_from_param(value) -> Unit | None:
    value = str(value or "").strip()
    if not value:
        return None
    if is_id(value):
        return Unit.objects.filter(pk=int(value)).first()
    return unit_resolve(name=value)


def _choice_from_param(value: str, choices) -> str | None:
    value = (value or "").strip()
    for c in choices:
        if value in (c.value, c.label):
            return c.value
    return None


class TaskFilterError(ValueError):
    def __init__(self, message, field):
        super().__init__(message)
        self.message, self.field = message, field


def tasks_filter(qs: QuerySet[Task], *, params, today: dt.date) -> QuerySet[Task]:
    """Apply the ledger filters shared by the page, the API and the Excel export.

    `params` is a QueryDict-like mapping: document, lead_unit, unit, county, status, light, overdue, search.
    Unknown values raise TaskFilterError with a message naming the filter.
    """
    document = (params.get("document") or "").strip()
    if document:
        from .models import Document

        match = Q(doc_number=document) | (Q(pk=int(document)) if is_id(document) else Q(pk__in=[]))
        doc_ids = list(Document.objects.filter(match).values_list("pk", flat=True))
        if not doc_ids:
            raise TaskFilterError(f"筛选条件“文件”的值“{document}”不是已知文号。", "document")
        qs = qs.filter(document_id__in=doc_ids)
    for name, role, label in (
        ("lead_unit", TaskUnit.Role.LEAD, "牵头单位"),
        ("unit", None, "单位"),
        ("county", TaskUnit.Role.COUNTY, "县(市、区)"),
    ):
        raw = params.get(name)
        if not raw:
            continue
        unit = _unit_from_param(raw)
        if unit is None:
            raise TaskFilterError(f"筛选条件“{label}”的值“{raw}”不是已知单位。", name)
        if name == "county" and unit.kind != UnitKind.COUNTY:
            raise TaskFilterError(f"筛选条件“{label}”的值“{raw}”不是县(市、区)政府。", name)
        sub = TaskUnit.objects.filter(task=OuterRef("pk"), unit=unit)
        if role is not None:
            sub = sub.filter(role=role)
        elif unit.kind != UnitKind.COUNTY:
            sub = sub.filter(role__in=[TaskUnit.Role.LEAD, TaskUnit.Role.RESPONSIBLE])
        qs = qs.filter(Exists(sub))
    status = params.get("status")
    if status:
        value = _choice_from_param(status, Progress)
        if value is None:
            raise TaskFilterError(f"筛选条件“进展状态”的值“{status}”无效。", "status")
        qs = qs.filter(status=value)
    pace = params.get("pace")
    if pace:
        if pace not in Pace.ALL:
            raise TaskFilterError(
                f"筛选条件“序时进度”的值“{pace}”无效，应为 {'、'.join(Pace.ALL)} 之一。", "pace"
            )
        qs = qs.filter(pace_q(pace, today=today))
    light = params.get("light")
    if light:
        value = _choice_from_param(light, Light)
        if value is None:
            raise TaskFilterError(f"筛选条件“亮灯”的值“{light}”无效。", "light")
        qs = qs.filter(light_q(value, today=today))
    overdue = (params.get("overdue") or "").strip().lower()
    if overdue in ("true", "1", "yes", "on"):
        qs = qs.filter(light_q(Light.OVERDUE, today=today))
    elif overdue in ("false", "0", "no"):
        qs = qs.exclude(light_q(Light.OVERDUE, today=today))
    elif overdue:
        raise TaskFilterError(
            f"筛选条件“超期”的值“{params.get('overdue')}”无效，应为 true 或 false。", "overdue"
        )
    search = (params.get("search") or params.get("q") or "").strip()
    if search:
        qs = qs.filter(Q(title__icontains=search) | Q(text__icontains=search) | Q(path_key__icontains=search))
    return qs


SORTS = {
    "path": ("document_id", "sort_key"),
    "-path": ("-document_id", "-sort_key"),
    "deadline": ("open_due", "document_id", "sort_key"),
    "-deadline": ("-open_due", "document_id", "sort_key"),
    "title": ("title",),
    "-title": ("-title",),
    "status": ("status", "document_id", "sort_key"),
    "-status": ("-status", "document_id", "sort_key"),
    "updated": ("-updated_at",),
}


LIGHT_RANK = {Light.OVERDUE: 0, Light.DUE_SOON: 1, Light.NORMAL: 2, Light.DONE: 3}


def tasks_sorted(qs: QuerySet[Task], *, sort: str | None, today: dt.date | None = None) -> QuerySet[Task]:
    """Order by one of SORTS, or by light ("light": red first; needs `today`)."""
    from django.db.models import Case, F, IntegerField, Value, When

    if sort in ("light", "-light") and today is not None:
        rank = Case(
            *(When(light_q(light, today=today), then=Value(r)) for light, r in LIGHT_RANK.items()),
            default=Value(2),
            output_field=IntegerField(),
        )
        qs = qs.annotate(light_rank=rank)
        first = "light_rank" if sort == "light" else "-light_rank"
        return qs.order_by(first, F("open_due").asc(nulls_last=True), "document_id", "sort_key", "id")
    if sort in ("status", "-status"):
        # In the order work moves (未启动, 推进中, 滞后, 已完成), not by the stored code's spelling.
        order = [Progress.NOT_STARTED, Progress.IN_PROGRESS, Progress.LAGGING, Progress.COMPLETED]
        rank = Case(
            *(When(status=v, then=Value(i)) for i, v in enumerate(order)),
            default=Value(9),
            output_field=IntegerField(),
        )
        first = "status_rank" if sort == "status" else "-status_rank"
        return qs.annotate(status_rank=rank).order_by(first, "document_id", "sort_key", "id")
    # "id" last: pages of a list ordered by a non-unique column must not repeat or skip rows.
    if sort == "deadline":
        return qs.order_by(F("open_due").asc(nulls_last=True), "document_id", "sort_key", "id")
    if sort == "-deadline":
        return qs.order_by(F("open_due").desc(nulls_last=True), "document_id", "sort_key", "id")
    return qs.order_by(*SORTS.get(sort or "path", SORTS["path"]), "id")


def tasks_with_light(qs: QuerySet[Task], *, today: dt.date) -> QuerySet[Task]:
    return annotate_light(qs, today=today)


def tasks_deleted_visible_to(*, user) -> QuerySet[Task]:
    """Soft-deleted tasks, which only those who may edit the ledger see (to restore them)."""
    qs = Task.objects.filter(deleted_at__isnull=False).select_related("document")
    return qs if can_edit_ledger(user) else qs.none()


def task_history(*, task: Task) -> QuerySet:
    """The audit trail of one task, newest first."""
    return AuditEntry.objects.filter(object_type="task", object_id=str(task.pk)).order_by("-at", "-id")


# --- names of ledger objects in the audit log (registered with departments.audit_display in apps.py) ----------


def _numeric(ids: list[str]) -> list[int]:
    return [int(i) for i in ids if is_id(i)]


def tasks_audit_labels(ids: list[str]) -> dict[str, str]:
    """任务 二.(一).1《推进医疗健康共同体建设》（平办〔2020〕7号）, deleted tasks included."""
    out = {}
    for pk, path, title, doc_number in Task.objects.filter(pk__in=_numeric(ids)).values_list(
        "pk", "path_key", "title", "document__doc_number"
    ):
        short = title if len(title) <= 30 else title[:29] + "…"
        out[str(pk)] = f"任务 {path}《{short}》" + (f"（{doc_number}）" if doc_number else "")
    return out


def documents_audit_labels(ids: list[str]) -> dict[str, str]:
    from .models import Document

    return {
        str(pk): f"文件 {number or ''}《{title}》".replace(" 《", "《")
        for pk, number, title in Document.objects.filter(pk__in=_numeric(ids)).values_list(
            "pk", "doc_number", "title"
        )
    }


def targets_audit_names(ids: list[str]) -> dict[str, str]:
    """The indicator named by a target id (a report's target values are stored as {target id: value})."""
    from .models import Target

    return {
        str(pk): indicator or f"指标{pk}"
        for pk, indicator in Target.objects.filter(pk__in=_numeric(ids)).values_list("pk", "indicator")
    }
