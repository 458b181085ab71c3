"""The leaders' dashboard's task lists and per-plan counts: the statements over the tasks a user sees (of some plans,
or all), compiled once per audience and day (`_statement_rows`), and the list items built from their rows.
reports.dashboard keeps them per plan and merges them (`_tasks_part_changed`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, IntegerField, Value, Window

from tasks.lights import light_of, light_q
from tasks.models import Light, Milestone, Progress, Target, TaskUnit
from tasks.pace import Pace, pace_of, pace_q
from tasks.selectors import tasks_visible_to

from .figures import _reused_statement, target_met_q
from .rollups import _sees_all, rollup_scope


@dataclass
class TaskItem:
    id: int
    document: str
    path_key: str
    title: str
    lead_units: list[str]
    lead_unit_ids: list[int]
    open_due: dt.date | None
    days: int  # days overdue (red) or days left (yellow)
    light: str
    light_reason: str
    shared_units: list[str] = field(
        default_factory=list
    )  # 配合 (responsible) units; older cached rows lack it
    # the task's plan and place in it (LIST_ORDER): the cached lists are merged per plan (`_tasks_part_changed`)
    document_id: int | None = None
    sort_key: str = ""


@dataclass
class TargetItem:
    id: int
    task_id: int
    task_path: str
    task_title: str
    label: str
    due: dt.date
    latest_value: Decimal | None
    unit: str
    days_left: int
    document_id: int | None = None  # the task's plan (`_tasks_part_changed`)


LIST_ORDER = ("open_due", "document_id", "sort_key")  # oldest deadline first, then in plan order
# open_due is null for a task lit yellow by 序时进度 (欠进度) without a dated open item: those come last
LIST_ORDER_SQL = (F("open_due").asc(nulls_last=True), "document_id", "sort_key")


def list_key(row: dict) -> tuple:
    """LIST_ORDER for value rows in Python, nulls last like LIST_ORDER_SQL."""
    return (row["open_due"] is None, row["open_due"] or dt.date.min, row["document_id"], row["sort_key"])


def _urgent_lists(tasks, *, today: dt.date, limit: int) -> list[list[dict]]:
    """The first `limit` overdue and the first `limit` due-soon tasks. Each list is an ordered, limited scan of
    the open_due index; where the database allows (PostgreSQL) both go out as one UNION ALL. SQL does not
    promise the order of a UNION's rows, so each list is put back in order here."""
    parts = _urgent_parts(tasks, today=today, limit=limit)
    if connection.features.supports_slicing_ordering_in_compound:
        rows = list(parts[0].union(parts[1], all=True))
    else:
        rows = [row for part in parts for row in part]
    return _urgent_split(rows)


URGENT_COLUMNS = ("id", "document__doc_number", "document__title", "path_key", "title", "status", "open_due")


def _urgent_parts(tasks, *, today: dt.date, limit: int) -> list:
    return [
        tasks.filter(light_q(light, today=today))
        .order_by(*LIST_ORDER_SQL)
        .values(*URGENT_COLUMNS, *PACE_COLUMNS, *LIST_ORDER[1:])
        .annotate(part=Value(i, output_field=IntegerField()))[:limit]
        for i, light in enumerate((Light.OVERDUE, Light.DUE_SOON))
    ]


def _urgent_split(rows) -> list[list[dict]]:
    lists: list[list[dict]] = [[], []]
    for row in sorted(rows, key=list_key):
        lists[row["part"]].append(row)
    return lists


def _task_items(lists: list[list[dict]], *, today: dt.date) -> list[list[TaskItem]]:
    """Task rows as list items, with the light's reason. The lead units, milestones and targets of all the
    lists are read in one query each (plain rows grouped by task, not prefetch_related, whose per-object
    managers cost more than the SQL here)."""
    ids = sorted({t["id"] for rows in lists for t in rows})
    leads: dict[int, list[tuple[int, str]]] = {}
    shared: dict[int, list[str]] = {}
    milestones: dict[int, list[Milestone]] = {}
    targets: dict[int, list[Target]] = {}
    if ids:
        for row in _rows_of_tasks("task-items-units", _item_units, ids):
            if row["role"] == TaskUnit.Role.LEAD:
                leads.setdefault(row["task_id"], []).append((row["unit_id"], row["unit__name"]))
            else:
                shared.setdefault(row["task_id"], []).append(row["unit__name"])
        for m in _instances(Milestone, _rows_of_tasks("task-items-milestones", _item_milestones, ids)):
            milestones.setdefault(m.task_id, []).append(m)
        for t in _instances(Target, _rows_of_tasks("task-items-targets", _item_targets, ids)):
            targets.setdefault(t.task_id, []).append(t)
    out = []
    for rows in lists:
        items = []
        for t in rows:
            ms, ts = milestones.get(t["id"], []), targets.get(t["id"], [])
            behind = None
            if t["status"] != Progress.COMPLETED and t["pace_behind_on"] and t["pace_behind_on"] <= today:
                behind = _pace_from_row(t, milestones=ms, targets=ts, today=today).reason
            info = light_of(status=t["status"], milestones=ms, targets=ts, today=today, behind=behind)
            units = leads.get(t["id"], [])
            items.append(
                TaskItem(
                    id=t["id"],
                    document=t["document__doc_number"] or t["document__title"],
                    path_key=t["path_key"],
                    title=t["title"],
                    lead_units=[name for _, name in units],
                    lead_unit_ids=[pk for pk, _ in units],
                    open_due=t["open_due"],
                    days=abs((today - t["open_due"]).days) if t["open_due"] else 0,
                    light=info.light,
                    light_reason=info.reason,
                    shared_units=shared.get(t["id"], []),
                    document_id=t.get("document_id"),
                    sort_key=t.get("sort_key", ""),
                )
            )
        out.append(items)
    return out


def _item_units(ids):
    return (
        TaskUnit.objects.filter(task_id__in=ids, role__in=(TaskUnit.Role.LEAD, TaskUnit.Role.RESPONSIBLE))
        .order_by("task_id", "position", "id")
        .values("task_id", "unit_id", "unit__name", "role")
    )


def _item_milestones(ids):
    return Milestone.objects.filter(task_id__in=ids, date__isnull=False, done=False).values(
        *(f.attname for f in Milestone._meta.concrete_fields)
    )


def _item_targets(ids):
    return Target.objects.filter(task_id__in=ids, due__isnull=False).values(
        *(f.attname for f in Target._meta.concrete_fields)
    )


def _rows_of_tasks(name: str, build, ids: list[int]) -> list[dict]:
    """The rows of `build(ids)`: on PostgreSQL compiled once per number of tasks (`_reused_statement`; building
    these three reads through the ORM cost three times what PostgreSQL took to answer them), elsewhere through the
    ORM, whose converters SQLite needs for dates and decimals."""
    if connection.vendor != "postgresql":
        return list(build(ids))
    return _reused_statement((name,), build, ids=ids)


def _instances(model, rows: list[dict]) -> list:
    """Model instances from value rows of all its concrete fields (`Model.from_db`: no keyword __init__)."""
    names = [f.attname for f in model._meta.concrete_fields]
    return [model.from_db("default", names, [row[n] for n in names]) for row in rows]


PACE_COLUMNS = ("pace_start", "pace_behind_on", "deadline", "reported_percent", "reported_period_end")


def _pace_from_row(row: dict, *, milestones, targets, today: dt.date):
    """tasks.pace.pace_of for a task read as values(*PACE_COLUMNS) with its open milestones and dated targets."""
    return pace_of(
        status=row["status"], start=row["pace_start"], deadline=row["deadline"], milestones=milestones,
        targets=targets, reported_percent=row["reported_percent"], reported_period_end=row["reported_period_end"],
        today=today,
    )  # fmt: skip


# What is counted per plan (`Dashboard.plan_counts`): the lights, the 序时进度 classes and the targets at risk.
COUNT_NAMES = (*(light.value for light in Light), *(f"pace_{p}" for p in Pace.ALL), "at_risk")


def _at_risk_targets(user, tasks):
    """Targets not met on tasks not completed. Users who see the whole ledger filter by a plain join on the task;
    others through their visible tasks."""
    at_risk = Target.objects.filter(due__isnull=False, task__deleted_at__isnull=True).exclude(
        task__status=Progress.COMPLETED
    )
    if not _sees_all(user):
        at_risk = at_risk.filter(task__in=tasks.values("pk"))
    return at_risk.exclude(target_met_q())


def _visible(user, documents):
    tasks = tasks_visible_to(user=user)
    return tasks if documents is None else tasks.filter(document_id__in=documents)


def _at_risk_of(user, documents):
    at_risk = _at_risk_targets(user, _visible(user, documents))
    return at_risk if documents is None else at_risk.filter(task__document_id__in=documents)


def _statement_rows(name: str, build, *, user, today: dt.date, documents, extra: tuple = ()) -> list[dict]:
    """The rows of `build(documents)` (a queryset over the tasks of these plans the user sees, or all of them when
    None), compiled once per audience, day and number of plans (`_reused_statement`): after a task changed, the
    dashboard runs the same five statements for its plan, and building them through the ORM cost more than the
    database took to answer them. The rows are psycopg2's values: dates and decimals as such."""
    if connection.vendor != "postgresql":
        # raw rows skip Django's converters, which SQLite needs for dates and decimals (small ledgers there)
        return list(build(documents))
    key = (name, rollup_scope(user), today, settings.LIGHT_DUE_SOON_DAYS, *extra)
    if documents is None:
        return _reused_statement((*key, "whole"), lambda: build(None))
    return _reused_statement(key, build, documents=sorted(documents))


def _plan_counts(*, user, today: dt.date, documents=None, at_risk: bool = True) -> dict[int, dict[str, int]]:
    """{plan id: COUNT_NAMES} of the tasks the user sees (of these plans) and their targets at risk: one grouped
    query each (`at_risk=False`: the tasks' query only, "at_risk" left at 0)."""

    def tasks(documents):
        return (
            _visible(user, documents)
            .order_by()
            .values("document_id")
            .annotate(
                **{light.value: Count("id", filter=light_q(light, today=today)) for light in Light},
                **{f"pace_{p}": Count("id", filter=pace_q(p, today=today)) for p in Pace.ALL},
            )
        )

    out: dict[int, dict[str, int]] = {}
    for row in _statement_rows("plan-counts", tasks, user=user, today=today, documents=documents):
        out[row["document_id"]] = {name: row.get(name, 0) for name in COUNT_NAMES}
    if at_risk:
        for document_id, n in _at_risk_counts(user=user, today=today, documents=documents).items():
            out.setdefault(document_id, dict.fromkeys(COUNT_NAMES, 0))["at_risk"] = n
    return out


def _at_risk_counts(*, user, today: dt.date, documents=None) -> dict[int, int]:
    def targets(documents):
        return _at_risk_of(user, documents).order_by().values("task__document_id").annotate(n=Count("id"))

    rows = _statement_rows("plan-at-risk", targets, user=user, today=today, documents=documents)
    return {row["task__document_id"]: row["n"] for row in rows}


AT_RISK_COLUMNS = (
    "id", "task_id", "task__path_key", "task__title", "task__document_id", "indicator", "op", "value",
    "value_high", "unit", "due", "latest_value",
)  # fmt: skip


def _at_risk_items(*, user, today: dt.date, limit: int, documents=None) -> list[TargetItem]:
    """The first `limit` targets at risk (of these plans), earliest due first."""
    return [
        _target_item(t, today=today)
        for t in _at_risk_rows(user=user, today=today, limit=limit, documents=documents)
    ]


def _at_risk_part(
    *, user, today: dt.date, limit: int, documents: set[int]
) -> tuple[list[TargetItem], dict[int, int]]:
    """`_at_risk_items` of these plans and each plan's number of targets at risk, in one statement (a window count
    per plan rides along with the first rows); only a plan none of whose targets made the first `limit`, when
    they are all taken, is counted by a second statement."""
    rows = _at_risk_rows(user=user, today=today, limit=limit, documents=documents, counted=True)
    counts = {t["task__document_id"]: t["plan_n"] for t in rows}
    missing = [d for d in documents if d not in counts]
    if missing and len(rows) >= limit:
        counts.update(_at_risk_counts(user=user, today=today, documents=missing))
    return [_target_item(t, today=today) for t in rows], counts


def _at_risk_rows(*, user, today: dt.date, limit: int, documents=None, counted: bool = False) -> list[dict]:
    def build(documents):
        at_risk = _at_risk_of(user, documents)
        columns = AT_RISK_COLUMNS
        if counted:
            at_risk = at_risk.annotate(plan_n=Window(Count("id"), partition_by=[F("task__document_id")]))
            columns = (*columns, "plan_n")
        return at_risk.values(*columns).order_by("due", "id")[:limit]

    return _statement_rows(
        "at-risk", build, user=user, today=today, documents=documents, extra=(limit, counted)
    )


def _target_item(t: dict, *, today: dt.date) -> TargetItem:
    target = Target(
        indicator=t["indicator"], op=t["op"], value=t["value"], value_high=t["value_high"], unit=t["unit"]
    )
    return TargetItem(
        id=t["id"],
        task_id=t["task_id"],
        task_path=t["task__path_key"],
        task_title=t["task__title"],
        label=target.label,
        due=t["due"],
        latest_value=t["latest_value"],
        unit=t["unit"],
        days_left=(t["due"] - today).days,
        document_id=t["task__document_id"],
    )


def _urgent_lists_of(*, user, today: dt.date, limit: int, documents=None) -> list[list[dict]]:
    """`_urgent_lists` of the tasks the user sees (of these plans), compiled once (`_statement_rows`)."""
    if not connection.features.supports_slicing_ordering_in_compound:
        return _urgent_lists(_visible(user, documents), today=today, limit=limit)

    def build(documents):
        first, second = _urgent_parts(_visible(user, documents), today=today, limit=limit)
        return first.union(second, all=True)

    rows = _statement_rows("urgent", build, user=user, today=today, documents=documents, extra=(limit,))
    return _urgent_split(rows)


def _task_key(item: TaskItem) -> tuple:
    """LIST_ORDER of a list item, as `list_key` gives it for a value row."""
    return (item.open_due is None, item.open_due or dt.date.min, item.document_id, item.sort_key)


def _target_key(item: TargetItem) -> tuple:
    return (item.due, item.id)
