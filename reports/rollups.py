"""Roll-ups by department, county, plan and quarter, and the leaders' overdue dashboard.

Every selector here issues a small, fixed number of aggregate queries (conditional aggregation in SQL); none
loops over tasks or reports in Python, so the figures cost the same number of queries at 10 tasks and at 20,000.

Definitions (one place; pages, API and Excel all read them from here):

Per unit, a unit "carries" a live task (not deleted) when it is attached to it: departments as 牵头单位 (lead) or
责任单位 (responsible), county governments as 各县(市、区)政府 (role county). A task attached to a unit in two roles
counts once.

- ``tasks``       live tasks the unit carries; ``led`` of them as lead, ``shared`` as responsible unit.
- ``completed``   carried tasks whose status is 已完成.
- ``overdue``     carried tasks with light 超期: not completed and the earliest open deadline before ``today``.
- ``on_track``    carried tasks not completed and with light 正常 or 临期; so tasks = completed + on_track + overdue.
- ``reports_due`` the (task, unit) pairs that owe a report in the period: one per carried task (the reporting
  obligation, ``reports.obligations``).
- ``reports_on_time`` of those, the ones with a report in the period that is submitted or accepted and not late.
- ``reports_late``    submitted or accepted, flagged late (``Report.is_late``).
- ``reports_missing`` the rest: no report at all, or a draft or returned one. due = on_time + late + missing.
- ``on_time_rate``    reports_on_time / reports_due (None when nothing is due).
- ``targets_total``   targets of the carried tasks whose due date is on or before the period's last day;
  ``targets_met`` of them, those the latest reported value meets (``Target.is_met_by(latest_value)``; a target
  with no value is not met).

The county roll-up is the same for county governments on the tasks that involve counties. By plan and by area
(an area is the plan's top-level section, ``task.path[0]``): tasks, completed, on track, overdue, due soon and
targets met / due by the period's end. The trend gives, for each quarter, the reporting figures of that quarter
and the tasks and targets due by its end. Task status and lights are not historised, so the trend takes
completion from the reports themselves (tasks reported 已完成 in that quarter) and measures each quarter's reports
against today's obligations (who carries which live task now).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, connections, transaction
from django.db.models import (
    Count,
    F,
    FilteredRelation,
    IntegerField,
    Min,
    OuterRef,
    Q,
    Subquery,
    Value,
    Window,
)
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KT
from django.db.models.functions import Abs, Coalesce
from django.db.models.lookups import Exact, GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual

from departments.models import Role, Unit, UnitKind, User
from departments.permissions import has
from tasks.lights import light_of, light_q
from tasks.models import Light, Milestone, Progress, Target, TaskUnit
from tasks.pace import Pace, pace_of, pace_q
from tasks.selectors import tasks_visible_to

from .models import DashboardCache, Period, ReportStatus, UnitFigures, UnitRevision
from .obligations import obligation_rows as _obligation_rows
from .periods import period_current, period_previous, period_resolve  # noqa: F401 - re-exported

SUBMITTED = [ReportStatus.SUBMITTED, ReportStatus.ACCEPTED]
# 序时进度 classes counted per unit besides 已完成 (= `completed`): UnitFigures.pace_<class>
PACE_CLASSES = (Pace.AHEAD, Pace.ON_PACE, Pace.BEHIND, Pace.NOT_STARTED, Pace.UNKNOWN)
DASHBOARD_LIMIT = 50  # rows per list in the API
DASHBOARD_PAGE_LIMIT = 20  # rows per list on the page: one A4 sheet each


# --- who sees what -------------------------------------------------------------------------------------------


def can_view_rollups(user) -> bool:
    """Leaders, the secretariat and the administrator read every unit's row; a reporter reads its own unit's."""
    return has(user, "figures.read")


def _sees_all(user) -> bool:
    return has(user, "figures.read_all")


def rollup_units_visible_to(*, user):
    """The units whose rows a user may see in roll-ups and the dashboard ranking."""
    qs = Unit.objects.filter(deleted_at__isnull=True)
    if not can_view_rollups(user):
        return qs.none()
    return qs if _sees_all(user) else qs.filter(pk=user.unit_id)


# --- periods -------------------------------------------------------------------------------------------------


# One resolver for every page, API call and job: reports.periods. The roll-ups' names stay for their callers.
period_default = period_current


# --- SQL building blocks -------------------------------------------------------------------------------------


def _prefixed(q: Q, prefix: str) -> Q:
    """light_q() written for Task, moved onto a relation (e.g. "task__") so the definition stays in one place."""
    out = Q()
    out.connector, out.negated = q.connector, q.negated
    for child in q.children:
        if isinstance(child, Q):
            out.children.append(_prefixed(child, prefix))
        else:
            out.children.append((prefix + child[0], child[1]))
    return out


@functools.lru_cache(maxsize=8)
def target_met_q(prefix: str = "") -> Q:
    """SQL twin of Target.is_met_by(latest_value); a target without a value is not met. Cached per prefix: a Q is
    never changed by the querysets it is given to (combining makes a new one), and it is built on every page."""
    f = lambda name: F(prefix + name)  # noqa: E731
    latest, value = f("latest_value"), f("value")
    op = prefix + "op"
    return Q(**{prefix + "latest_value__isnull": False}) & (
        (Q(**{op: ">="}) & Q(GreaterThanOrEqual(latest, value)))
        | (Q(**{op: ">"}) & Q(GreaterThan(latest, value)))
        | (Q(**{op: "<="}) & Q(LessThanOrEqual(latest, value)))
        | (Q(**{op: "<"}) & Q(LessThan(latest, value)))
        | (Q(**{op: "="}) & Q(Exact(latest, value)))
        | (Q(**{op: "~"}) & Q(LessThanOrEqual(Abs(latest - value), Abs(value) * Value(Decimal("0.05")))))
        | (
            Q(**{op: "between"})
            & Q(GreaterThanOrEqual(latest, value))
            & Q(LessThanOrEqual(latest, Coalesce(f("value_high"), value)))
        )
        | (
            Q(**{op: "+="})
            & Q(GreaterThanOrEqual(latest - Coalesce(f("baseline"), Value(Decimal(0))), value))
        )
    )


def obligation_rows(*, period: Period):
    """TaskUnit rows that owe a report in `period` (reports.obligations: every active unit attached to a live
    task as lead, responsible or county). Rows, not distinct pairs, so they can be aggregated per unit in one
    pass; `_signed_parts` takes care of a unit listed twice on one task."""
    return _obligation_rows(period=period).order_by()


# --- per-unit roll-up ----------------------------------------------------------------------------------------


@dataclass
class UnitRow:
    unit_id: int
    unit: str
    short_name: str
    kind: str
    tasks: int = 0
    led: int = 0
    shared: int = 0
    completed: int = 0
    on_track: int = 0
    due_soon: int = 0  # of on_track, those with light 临期
    overdue: int = 0
    reports_due: int = 0
    reports_on_time: int = 0
    reports_late: int = 0
    reports_missing: int = 0
    targets_met: int = 0
    targets_total: int = 0
    # 序时进度 of the carried tasks (已完成 is `completed`)
    pace_ahead: int = 0
    pace_on_pace: int = 0
    pace_behind: int = 0
    pace_not_started: int = 0
    pace_unknown: int = 0
    reports_on_time_previous: int = 0  # filled only when asked for (the dashboard)

    @property
    def normal(self) -> int:  # of on_track, those with light 正常
        return self.on_track - self.due_soon

    @property
    def on_time_rate(self) -> float | None:
        return self.reports_on_time / self.reports_due if self.reports_due else None

    @property
    def targets_rate(self) -> float | None:
        return self.targets_met / self.targets_total if self.targets_total else None

    def as_dict(self) -> dict:
        d = asdict(self)
        del d["reports_on_time_previous"]  # a dashboard-only figure, not part of the roll-up row
        d["on_time_rate"] = self.on_time_rate
        return d


@dataclass
class Rollup:
    period: Period
    rows: list[UnitRow]
    total: UnitRow = field(default=None)

    def __post_init__(self):
        total = UnitRow(unit_id=0, unit="合计", short_name="合计", kind="")
        for r in self.rows:
            for name in (
                "reports_due",
                "reports_on_time",
                "reports_late",
                "reports_missing",
                "targets_met",
                "targets_total",
            ):
                setattr(total, name, getattr(total, name) + getattr(r, name))
        self.total = total


def _report_join(period: Period) -> FilteredRelation:
    """LEFT JOIN the unit's own report on the task in this period (at most one: unique task, unit, period)."""
    return FilteredRelation(
        "task__reports", condition=Q(task__reports__period=period, task__reports__unit=F("unit"))
    )


REPORT_ON_TIME = Q(rep__status__in=SUBMITTED, rep__is_late=False)
REPORT_LATE = Q(rep__status__in=SUBMITTED, rep__is_late=True)


ROLE_RANK = {TaskUnit.Role.LEAD: 0, TaskUnit.Role.RESPONSIBLE: 1, TaskUnit.Role.COUNTY: 2}


def _duplicate_rows(*, units) -> list[int]:
    """Ids of the TaskUnit rows that repeat a (task, unit) pair in a weaker role: a unit both leading and sharing
    a task counts as leading it; a county also lead or responsible counts in that role. One query: the tasks
    with a repeated pair come from a GROUP BY (task, unit) over the TaskUnit rows of `units` (no join), and
    only their rows are read; at province scale that is usually none. A reporter's roll-up reads its own
    unit's rows only."""

    def build(units, units_again):
        repeated = (
            TaskUnit.objects.filter(unit__in=units)
            .order_by()
            .values("task_id", "unit_id")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .values("task_id")
        )
        return TaskUnit.objects.filter(task_id__in=repeated, unit__in=units_again).values(
            "id", "task_id", "unit_id", "role"
        )

    units = list(units)
    if not units:
        return []
    pairs: dict[tuple[int, int], list[tuple[int, int]]] = {}
    # compiled once per number of units (`_reused_statement`): after a report, one unit, every time
    for row in _reused_statement(("duplicates",), build, units=units, units_again=units):
        pairs.setdefault((row["task_id"], row["unit_id"]), []).append(
            (ROLE_RANK.get(row["role"], 3), row["id"])
        )
    return sorted(pk for rows in pairs.values() if len(rows) > 1 for _, pk in sorted(rows)[1:])


def _signed_parts(base, *, duplicates: list[int]) -> list[tuple[int, object]]:
    """Count each (task, unit) pair once without COUNT(DISTINCT …): count every row, then subtract the rare
    duplicate rows (`_duplicate_rows`, read once by the caller). COUNT(DISTINCT), a two-level GROUP BY and
    self-joins all measured 2-3x slower at province scale; so did finding the duplicates by semi-joins inside
    the aggregate (each a hash over 20,000-40,000 TaskUnit rows, for parts that return nothing)."""
    return [(1, base)] + ([(-1, base.filter(pk__in=duplicates))] if duplicates else [])


def _sum_parts(
    parts: list[tuple[int, object]], names: list[str], *, key: tuple, unit_ids, duplicates
) -> dict[int, dict]:
    """Run the signed per-unit grouped querysets as one UNION ALL statement and add them up per unit. `parts`
    is a function of (unit ids, duplicate rows) giving them; the statement is compiled once per `key` and
    list lengths (`_reused_statement`)."""

    def build(unit_ids, duplicates):
        tagged = [qs.annotate(sign=Value(sign)) for sign, qs in parts(unit_ids, duplicates)]
        first, *rest = tagged
        return first.union(*rest, all=True) if rest else first

    out: dict[int, dict] = {}
    for row in _reused_statement(key, build, unit_ids=unit_ids, duplicates=duplicates):
        acc = out.setdefault(row["unit_id"], dict.fromkeys(names, 0))
        for name in names:
            acc[name] += row["sign"] * (row[name] or 0)
    return out


# Compiled statements of `_reused_statement`: (alias, key, list lengths) -> (sql, params, {list: positions}).
_STATEMENTS: dict[tuple, tuple[str, list, dict[str, list[list[int]]]]] = {}
_SENTINEL = -(2**62)  # placeholder ids no row has


def _reused_statement(key: tuple, build, **lists: list[int]) -> list[dict]:
    """The rows of the queryset `build(**lists)`, compiled once per `key` and per length of each list, then run
    with the lists' values put in. One unit's figures after a report is saved are three small indexed queries;
    building their 19 filtered aggregates through the ORM cost three times what the database did (cProfile:
    ~6 ms of Python against ~2 ms of SQL per period). `key` must name everything else the statement depends on.

    The lists are compiled as distinct placeholder ids and found again among the parameters; a placeholder that
    cannot be found (the ORM folded a list into the SQL text) means the statement is compiled every time."""
    shape = (connection.alias, key, tuple((name, len(values)) for name, values in lists.items()))
    entry = _STATEMENTS.get(shape)
    if entry is None:
        marks, n = {}, 0
        for name, values in lists.items():
            marks[name] = [_SENTINEL - n - i for i in range(len(values))]
            n += len(values)
        sql, params = build(**marks).query.sql_with_params()
        params = list(params)
        slots = {
            name: [[i for i, p in enumerate(params) if type(p) is int and p == m] for m in ids]
            for name, ids in marks.items()
        }
        if any(not where for positions in slots.values() for where in positions):
            qs = build(**lists)
            return list(qs)
        if len(_STATEMENTS) > 512:  # a long-running worker sees one `today` after another
            _STATEMENTS.clear()
        entry = _STATEMENTS[shape] = (sql, params, slots)
    sql, params, slots = entry
    params = list(params)
    for name, positions in slots.items():
        for value, where in zip(lists[name], positions, strict=True):
            for i in where:
                params[i] = value
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _compute_figures(
    *, period: Period, today: dt.date, unit_ids: list[int], duplicates: list[int] | None = None
) -> dict[int, dict]:
    """The figures of these units in `period` from the ledger itself: {unit_id: {name: count for name in
    UnitFigures.FIGURES}} (`_compute_figures_many` for one period)."""
    many = _compute_figures_many(periods=[period], today=today, unit_ids=unit_ids, duplicates=duplicates)
    return {u: many[(u, period.pk)] for u in unit_ids}


FIGURES_PERIODS_PER_STATEMENT = 8  # the trend's quarters: one report join each


def _compute_figures_many(
    *, periods: list[Period], today: dt.date, unit_ids: list[int], duplicates: list[int] | None = None
) -> dict[tuple[int, int], dict]:
    """The figures of these units in each of `periods` from the ledger itself, in three queries whatever the
    number of periods (up to FIGURES_PERIODS_PER_STATEMENT; more are done in groups): repeated unit rows, task and
    report figures, target figures. {(unit_id, period_id): {name: count for name in UnitFigures.FIGURES}}.

    What is read from the tasks (lights, 序时进度, roles) is the same in every period and counted once; each period
    adds one LEFT JOIN of the unit's own report in it (at most one row: unique task, unit, period) and its two
    counts, and its targets due by its end. After a report is saved the dashboard needs the unit's figures of the
    period and of the one before it: one statement, not two. `duplicates` (`_duplicate_rows` of these units or
    more; they do not depend on the period) saves the first query."""
    if duplicates is None:
        duplicates = _duplicate_rows(units=unit_ids)
    out: dict[tuple[int, int], dict] = {
        (u, p.pk): dict.fromkeys(UnitFigures.FIGURES, 0) for u in unit_ids for p in periods
    }
    for i in range(0, len(periods), FIGURES_PERIODS_PER_STATEMENT):
        group = periods[i : i + FIGURES_PERIODS_PER_STATEMENT]
        for (unit_id, period_id), f in _figures_of_group(group, today, unit_ids, duplicates).items():
            out[(unit_id, period_id)].update(f)
    return out


def _figures_of_group(
    periods: list[Period], today: dt.date, unit_ids, duplicates
) -> dict[tuple[int, int], dict]:
    done = _prefixed(light_q(Light.DONE, today=today), "task__")
    red = _prefixed(light_q(Light.OVERDUE, today=today), "task__")
    yellow = _prefixed(light_q(Light.DUE_SOON, today=today), "task__")
    pace = {f"pace_{p}": _prefixed(pace_q(p, today=today), "task__") for p in PACE_CLASSES}
    shared_names = ["tasks", "led", "shared", "completed", "overdue", "due_soon", *pace]
    per_period = [(f"on_time_{n}", f"late_{n}") for n in range(len(periods))]
    # Everything the statements depend on besides the two lists: the periods, the day and the due-soon window.
    key = (tuple((p.pk, p.end_date) for p in periods), today, settings.LIGHT_DUE_SOON_DAYS)

    def base(unit_ids, duplicates):
        return _signed_parts(
            obligation_rows(period=periods[0]).filter(unit_id__in=unit_ids), duplicates=duplicates
        )

    def task_parts(unit_ids, duplicates):
        parts = []
        for sign, part in base(unit_ids, duplicates):
            reports = {}
            for n, period in enumerate(periods):
                part = part.annotate(**{f"rep{n}": _report_join(period)})
                status, late = f"rep{n}__status__in", f"rep{n}__is_late"
                reports[per_period[n][0]] = Count("id", filter=Q(**{status: SUBMITTED, late: False}))
                reports[per_period[n][1]] = Count("id", filter=Q(**{status: SUBMITTED, late: True}))
            parts.append(
                (
                    sign,
                    part.values("unit_id").annotate(
                        tasks=Count("id"),
                        led=Count("id", filter=Q(role=TaskUnit.Role.LEAD)),
                        shared=Count("id", filter=Q(role=TaskUnit.Role.RESPONSIBLE)),
                        completed=Count("id", filter=done),
                        overdue=Count("id", filter=red),
                        due_soon=Count("id", filter=yellow),
                        **{name: Count("id", filter=q) for name, q in pace.items()},
                        **reports,
                    ),
                )
            )
        return parts

    out: dict[tuple[int, int], dict] = {}
    lists = {"unit_ids": unit_ids, "duplicates": duplicates}
    names = shared_names + [name for pair in per_period for name in pair]
    for unit_id, f in _sum_parts(task_parts, names, key=("tasks", *key), **lists).items():
        for n, period in enumerate(periods):
            row = out.setdefault((unit_id, period.pk), {})
            row.update({name: f[name] for name in shared_names})
            row["on_time"], row["late"] = f[per_period[n][0]], f[per_period[n][1]]
    met = target_met_q("task__targets__")
    last_end = max(p.end_date for p in periods)
    target_names = [(f"targets_total_{n}", f"targets_met_{n}") for n in range(len(periods))]

    def target_parts(unit_ids, duplicates):
        counts = {}
        for n, period in enumerate(periods):
            due = Q(task__targets__due__lte=period.end_date)
            counts[target_names[n][0]] = Count("task__targets", filter=due)
            counts[target_names[n][1]] = Count("task__targets", filter=due & met)
        return [
            (sign, part.filter(task__targets__due__lte=last_end).values("unit_id").annotate(**counts))
            for sign, part in base(unit_ids, duplicates)
        ]

    flat = [name for pair in target_names for name in pair]
    for unit_id, f in _sum_parts(target_parts, flat, key=("targets", *key), **lists).items():
        for n, period in enumerate(periods):
            row = out.setdefault((unit_id, period.pk), {})
            row["targets_total"], row["targets_met"] = f[target_names[n][0]], f[target_names[n][1]]
    return out


def figures_cache_enabled() -> bool:
    """The cache is trusted only where reports.invalidation installs the revision triggers."""
    return connection.vendor in ("postgresql", "sqlite")


def unit_figures(
    *, periods: list[Period], today: dt.date, unit_ids: list[int]
) -> dict[tuple[int, int], dict]:
    """{(unit_id, period_id): figures} for these units and periods, as `_compute_figures` gives them.

    Read from `UnitFigures` where a row is current (computed today at the unit's current revision); only the
    stale units are computed again and their rows replaced. After a report is submitted one unit is computed,
    not 300: one query when everything is current; with stale units, their revisions and repeated unit rows,
    then three queries for each period with stale units. The revisions are read before the figures are computed, so a change
    committed while they are being computed leaves the new row stale."""
    if not unit_ids or not periods:
        return {}
    if not figures_cache_enabled():
        return _compute_figures_many(periods=periods, today=today, unit_ids=unit_ids)
    current_rev = Coalesce(
        Subquery(UnitRevision.objects.filter(unit_id=OuterRef("unit_id")).values("rev")[:1]), Value(0)
    )
    out: dict[tuple[int, int], dict] = {}
    for row in (
        UnitFigures.objects.filter(period_id__in=[p.pk for p in periods], unit_id__in=unit_ids, as_of=today)
        .annotate(current_rev=current_rev)
        .values("unit_id", "period_id", "rev", "current_rev", *UnitFigures.FIGURES)
    ):
        if row["rev"] == row["current_rev"]:
            out[(row["unit_id"], row["period_id"])] = {name: row[name] for name in UnitFigures.FIGURES}
    # id order, so that two readers upserting the same rows lock them in the same order
    stale_in = {p.pk: sorted(u for u in unit_ids if (u, p.pk) not in out) for p in periods}
    stale_units = sorted({u for stale in stale_in.values() for u in stale})
    if not stale_units:
        return out
    # Read before computing: a change landing meanwhile leaves the new rows stale.
    revs = dict(UnitRevision.objects.filter(unit_id__in=stale_units).values_list("unit_id", "rev"))
    duplicates = _duplicate_rows(units=stale_units)  # the same for every period
    stale_periods = [p for p in periods if stale_in[p.pk]]
    # One pass over the stale units for every period that has any (the current and the previous period after a
    # report: one statement); a unit current in one of them is computed along and not written.
    computed = _compute_figures_many(
        periods=stale_periods, today=today, unit_ids=stale_units, duplicates=duplicates
    )
    UnitFigures.objects.bulk_create(
        [
            UnitFigures(unit_id=u, period_id=p.pk, as_of=today, rev=revs.get(u, 0), **computed[(u, p.pk)])
            for p in stale_periods
            for u in stale_in[p.pk]
        ],
        update_conflicts=True,
        unique_fields=["period_id", "unit_id"],
        update_fields=["as_of", "rev", *UnitFigures.FIGURES],
    )
    out.update(((u, p.pk), computed[(u, p.pk)]) for p in stale_periods for u in stale_in[p.pk])
    return out


def rollup_caches_empty(*, using: str = "default", **kwargs) -> None:
    """Empty the figures and dashboard caches after every `migrate`: a deploy runs it, and may change how they are
    computed; the next readers compute them again from the ledger (a post_migrate receiver)."""
    conn = connections[using]
    with conn.cursor() as cursor:
        tables = set(conn.introspection.table_names(cursor))
        for model in (UnitFigures, DashboardCache):
            if model._meta.db_table in tables:  # a partial migrate may not have created them yet
                cursor.execute(f"DELETE FROM {model._meta.db_table}")


def dashboard_warm(*, today: dt.date) -> bool:
    """Compute today's dashboard of everyone who sees the whole ledger (leaders, the secretariat) for the default
    period, at the page's and the API's lengths, so the first leader of the day reads it in one query (the daily
    beat entry `rollup-figures-warm`, after the figures). Returns whether there was a period to compute."""
    period = period_default(today=today)
    if period is None:
        return False
    reader = User(role=Role.LEADER, is_active=True)  # not saved: stands for that audience
    for limit in (DASHBOARD_PAGE_LIMIT, DASHBOARD_LIMIT):
        dashboard_overdue(today=today, user=reader, period=period, limit=limit)
    return True


def dashboard_cache_prune(*, today: dt.date) -> int:
    """Drop the dashboards computed before today (they are never used again); returns how many."""
    return DashboardCache.objects.filter(as_of__lt=today).delete()[0]


def unit_figures_warm(*, today: dt.date) -> int:
    """Compute today's figures of every live unit for the default period and the seven before it (the dashboard
    compares with the previous one, the trend shows eight), so the first leader of the day does not wait for
    them (the daily beat entry `rollup-figures-warm`, just after midnight).
    Returns the number of (unit, period) rows that were stale; a second run the same day finds none."""
    period = period_default(today=today)
    if period is None:
        return 0
    periods = trend_periods(period=period)  # the trend's quarters, the previous one among them
    unit_ids = list(Unit.objects.filter(deleted_at__isnull=True).values_list("pk", flat=True))
    before = (
        UnitFigures.objects.filter(period_id__in=[p.pk for p in periods], as_of=today).count()
        if figures_cache_enabled()
        else 0
    )
    unit_figures(periods=periods, today=today, unit_ids=unit_ids)
    return len(unit_ids) * len(periods) - before


def _unit_figures(*, period: Period, today: dt.date, units, previous: Period | None = None) -> list[UnitRow]:
    """The rows of these units (one query for the units, then `unit_figures`). With `previous`, the reports on
    time in that period too (`UnitRow.reports_on_time_previous`): the same obligations, the earlier reports."""
    unit_list = list(units.order_by("kind", "sort_order", "name").values("id", "name", "short_name", "kind"))
    if not unit_list:
        return []
    periods = [period] + ([previous] if previous is not None else [])
    figures = unit_figures(periods=periods, today=today, unit_ids=[u["id"] for u in unit_list])
    rows = []
    for u in unit_list:
        f = figures[(u["id"], period.pk)]
        r = UnitRow(unit_id=u["id"], unit=u["name"], short_name=u["short_name"] or u["name"], kind=u["kind"])
        r.tasks, r.led, r.shared, r.completed = f["tasks"], f["led"], f["shared"], f["completed"]
        r.overdue, r.due_soon = f["overdue"], f["due_soon"]
        r.on_track = r.tasks - r.completed - r.overdue
        r.reports_due, r.reports_on_time, r.reports_late = r.tasks, f["on_time"], f["late"]
        r.reports_missing = r.reports_due - r.reports_on_time - r.reports_late
        r.targets_total, r.targets_met = f["targets_total"], f["targets_met"]
        for name in UnitFigures.PACE_FIGURES:
            setattr(r, name, f[name])
        if previous is not None:
            r.reports_on_time_previous = figures[(u["id"], previous.pk)]["on_time"]
        rows.append(r)
    return rows


def rollup_by_department(*, period: Period, today: dt.date, user) -> Rollup:
    """One row per department (and the secretariat, if it carries tasks) the user may see."""
    units = rollup_units_visible_to(user=user).exclude(kind=UnitKind.COUNTY)
    return Rollup(period=period, rows=_unit_figures(period=period, today=today, units=units))


def rollup_by_county(*, period: Period, today: dt.date, user) -> Rollup:
    """One row per county government the user may see, on the tasks that involve counties."""
    units = rollup_units_visible_to(user=user).filter(kind=UnitKind.COUNTY)
    return Rollup(period=period, rows=_unit_figures(period=period, today=today, units=units))


# --- by plan and area ----------------------------------------------------------------------------------------


@dataclass
class AreaRow:
    document_id: int
    doc_number: str
    title: str
    area: str  # 一、二、… (task.path[0]); "" for the plan's total row
    tasks: int = 0
    completed: int = 0
    on_track: int = 0
    due_soon: int = 0
    overdue: int = 0
    targets_met: int = 0
    targets_total: int = 0
    pace_ahead: int = 0
    pace_on_pace: int = 0
    pace_behind: int = 0
    pace_not_started: int = 0
    pace_unknown: int = 0

    @property
    def completion_rate(self) -> float | None:
        return self.completed / self.tasks if self.tasks else None


@dataclass
class PlanRow(AreaRow):
    areas: list[AreaRow] = field(default_factory=list)


def rollup_by_plan(*, period: Period, today: dt.date, user) -> list[PlanRow]:
    """Each plan (document) with its top-level areas: two queries over the tasks the user may see."""
    tasks = tasks_visible_to(user=user).order_by()
    light = lambda name: light_q(name, today=today)  # noqa: E731
    areas = (
        tasks.values("document_id", "document__doc_number", "document__title", area=KT("path__0"))
        .annotate(
            n=Count("id"),
            done=Count("id", filter=light(Light.DONE)),
            red=Count("id", filter=light(Light.OVERDUE)),
            yellow=Count("id", filter=light(Light.DUE_SOON)),
            **{f"pace_{p}": Count("id", filter=pace_q(p, today=today)) for p in PACE_CLASSES},
            first=Min("sort_key"),
        )
        .order_by("document_id", "first")
    )
    target_counts = {
        (t["document_id"], t["area"]): t
        for t in tasks.filter(targets__due__lte=period.end_date)
        .values("document_id", area=KT("path__0"))
        .annotate(total=Count("targets"), met=Count("targets", filter=target_met_q("targets__")))
    }
    plans: dict[int, PlanRow] = {}
    for a in areas:
        plan = plans.get(a["document_id"])
        if plan is None:
            plan = plans[a["document_id"]] = PlanRow(
                document_id=a["document_id"],
                doc_number=a["document__doc_number"] or "",
                title=a["document__title"],
                area="",
            )
        t = target_counts.get((a["document_id"], a["area"]), {})
        row = AreaRow(
            document_id=plan.document_id,
            doc_number=plan.doc_number,
            title=plan.title,
            area=a["area"] or "",
            tasks=a["n"],
            completed=a["done"],
            overdue=a["red"],
            due_soon=a["yellow"],
            on_track=a["n"] - a["done"] - a["red"],
            targets_total=t.get("total", 0),
            targets_met=t.get("met", 0),
            **{name: a[name] for name in UnitFigures.PACE_FIGURES},
        )
        plan.areas.append(row)
        for name in (
            "tasks", "completed", "overdue", "due_soon", "on_track", "targets_total", "targets_met",
            *UnitFigures.PACE_FIGURES,
        ):  # fmt: skip
            setattr(plan, name, getattr(plan, name) + getattr(row, name))
    return list(plans.values())


# --- trend ---------------------------------------------------------------------------------------------------


@dataclass
class TrendRow:
    period_id: int
    label: str
    reports_due: int = 0
    reports_on_time: int = 0
    reports_late: int = 0
    reports_missing: int = 0
    tasks_reported_completed: int = 0
    tasks_due: int = 0
    targets_total: int = 0
    targets_met: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return self.reports_on_time / self.reports_due if self.reports_due else None


def trend_periods(*, period: Period, quarters: int = 8) -> list[Period]:
    qs = Period.objects.filter(Q(year__lt=period.year) | Q(year=period.year, quarter__lte=period.quarter))
    return list(qs.order_by("-year", "-quarter")[:quarters])[::-1]


def rollup_trend(*, period: Period, today: dt.date, user, quarters: int = 8) -> list[TrendRow]:
    """The reporting figures of the `quarters` quarters up to `period`, oldest first, over the units the user may
    see; plus the tasks whose final deadline and the targets whose due date fell by each quarter's end.
    A fixed number of queries whatever the number of quarters: the cached unit figures of every quarter
    (`unit_figures`), the tasks reported completed, and conditional counts of tasks and targets due."""
    periods = trend_periods(period=period, quarters=quarters)
    if not periods:
        return []
    # Reports due, on time and late per quarter are the units' cached figures of each quarter (the same
    # obligations, each quarter's reports); only the tasks reported completed need the reports themselves.
    unit_ids = list(rollup_units_visible_to(user=user).values_list("pk", flat=True))
    figures = unit_figures(periods=periods, today=today, unit_ids=unit_ids)
    due = sum(figures[(u, period.pk)]["tasks"] for u in unit_ids)
    # From the obligations to their reports (a hash of the few completed reports probed by the obligations),
    # not from the reports to the obligations, which makes PostgreSQL hash every obligation of the ledger.
    said_done = FilteredRelation(
        "task__reports",
        condition=Q(
            task__reports__unit=F("unit"),
            task__reports__period__in=periods,
            task__reports__status__in=SUBMITTED,
            task__reports__progress=Progress.COMPLETED,
        ),
    )
    per_period = {
        p["done__period_id"]: p["completed"]
        for p in obligation_rows(period=period)
        .filter(unit_id__in=unit_ids)
        .annotate(done=said_done)
        .filter(done__isnull=False)
        .values("done__period_id")
        .annotate(completed=Count("task_id", distinct=True))
        .order_by()
    }
    tasks = tasks_visible_to(user=user).order_by()
    task_due = tasks.aggregate(
        **{f"p{p.pk}": Count("id", filter=Q(deadline__lte=p.end_date)) for p in periods}
    )
    targets = Target.objects.filter(task__in=tasks.values("pk"))
    met = target_met_q()
    target_due = targets.aggregate(
        **{f"t{p.pk}": Count("id", filter=Q(due__lte=p.end_date)) for p in periods},
        **{f"m{p.pk}": Count("id", filter=Q(due__lte=p.end_date) & met) for p in periods},
    )
    rows = []
    for p in periods:
        row = TrendRow(period_id=p.pk, label=p.label, reports_due=due)
        row.reports_on_time = sum(figures[(u, p.pk)]["on_time"] for u in unit_ids)
        row.reports_late = sum(figures[(u, p.pk)]["late"] for u in unit_ids)
        row.reports_missing = max(0, due - row.reports_on_time - row.reports_late)
        row.tasks_reported_completed = per_period.get(p.pk, 0)
        row.tasks_due = task_due[f"p{p.pk}"]
        row.targets_total, row.targets_met = target_due[f"t{p.pk}"], target_due[f"m{p.pk}"]
        rows.append(row)
    return rows


# --- the leaders' dashboard ----------------------------------------------------------------------------------


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


@dataclass
class RankItem:
    unit_id: int
    unit: str
    kind: str
    overdue: int
    tasks: int
    reports_due: int
    reports_on_time: int
    behind: int = 0  # 欠进度 tasks (tasks.pace)
    on_time_previous: int = 0  # reports on time in the previous period (the dashboard's comparison)

    @property
    def on_time_rate(self) -> float | None:
        return self.reports_on_time / self.reports_due if self.reports_due else None


@dataclass
class Dashboard:
    period: Period
    previous: Period | None
    today: dt.date
    overdue: list[TaskItem]
    overdue_count: int
    due_soon: list[TaskItem]
    due_soon_count: int
    light_counts: dict[str, int]  # overdue / due_soon / normal / done over the tasks the user sees
    units: list[RankItem]
    on_time_rate: float | None
    on_time_rate_previous: float | None
    reports_due: int
    reports_on_time: int
    reports_on_time_previous: int
    targets_at_risk: list[TargetItem]
    targets_at_risk_count: int
    pace_counts: dict[str, int] = field(default_factory=dict)  # 序时进度 class -> tasks the user sees
    # {unit id: UnitRevision.rev} of the ranked units when their items were computed (`_dashboard_units_part`)
    unit_revs: dict = field(default_factory=dict)

    def as_data(self) -> dict:
        """Everything but the periods and the day, as JSON-ready values (DashboardCache.data)."""
        data = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("period", "previous", "today")
        }
        for name in ("overdue", "due_soon", "units", "targets_at_risk"):
            # vars(), not asdict(): the items hold only plain values and lists of them, and asdict's deep copy
            # of 300 ranked units cost more than the SQL of a recomputed dashboard
            data[name] = [dict(vars(item)) for item in data[name]]
        return data

    @classmethod
    def from_data(cls, data: dict, *, period: Period, previous: Period | None, today: dt.date) -> Dashboard:
        def day(value):
            return dt.date.fromisoformat(value) if value else None

        def task_items(items):
            return [TaskItem(**{**i, "open_due": day(i["open_due"])}) for i in items]

        def target(i):
            value = i["latest_value"]
            return TargetItem(
                **{**i, "due": day(i["due"]), "latest_value": None if value is None else Decimal(value)}
            )

        return cls(
            **{
                "pace_counts": {},
                **data,
                "period": period,
                "previous": previous,
                "today": today,
                "overdue": task_items(data["overdue"]),
                "due_soon": task_items(data["due_soon"]),
                "units": _rank_items(data["units"]),
                "targets_at_risk": [target(i) for i in data["targets_at_risk"]],
                "unit_revs": {int(k): v for k, v in data.get("unit_revs", {}).items()},  # JSON keys are text
            }
        )


_RANK_DEFAULTS = {f.name: f.default for f in fields(RankItem) if f.default is not MISSING}


def _rank_items(rows: list[dict]) -> list[RankItem]:
    """RankItems back from the cached row's dicts without dataclass __init__ (330 of them on every dashboard read:
    keyword construction was a fifth of a warm read); fields an older row lacks take their defaults."""
    new = object.__new__
    out = []
    for row in rows:
        item = new(RankItem)
        item.__dict__.update(_RANK_DEFAULTS)
        item.__dict__.update(row)
        out.append(item)
    return out


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
    columns = (
        "id",
        "document__doc_number",
        "document__title",
        "path_key",
        "title",
        "status",
        "open_due",
        *PACE_COLUMNS,
    )
    parts = [
        tasks.filter(light_q(light, today=today))
        .order_by(*LIST_ORDER_SQL)
        .values(*columns, *LIST_ORDER[1:])
        .annotate(part=Value(i, output_field=IntegerField()))[:limit]
        for i, light in enumerate((Light.OVERDUE, Light.DUE_SOON))
    ]
    if connection.features.supports_slicing_ordering_in_compound:
        rows = list(parts[0].union(parts[1], all=True))
    else:
        rows = [row for part in parts for row in part]
    lists: list[list[dict]] = [[], []]
    for row in sorted(rows, key=list_key):
        lists[row["part"]].append(row)
    return lists


def _task_items(lists: list[list[dict]], *, today: dt.date) -> list[list[TaskItem]]:
    """Task rows as list items, with the light's reason. The lead units, milestones and targets of all the
    lists are read in one query each (plain rows grouped by task, not prefetch_related, whose per-object
    managers cost more than the SQL here)."""
    ids = {t["id"] for rows in lists for t in rows}
    leads: dict[int, list[tuple[int, str]]] = {}
    shared: dict[int, list[str]] = {}
    for task_id, unit_id, name, role in (
        TaskUnit.objects.filter(task_id__in=ids, role__in=(TaskUnit.Role.LEAD, TaskUnit.Role.RESPONSIBLE))
        .order_by("task_id", "position", "id")
        .values_list("task_id", "unit_id", "unit__name", "role")
    ):
        if role == TaskUnit.Role.LEAD:
            leads.setdefault(task_id, []).append((unit_id, name))
        else:
            shared.setdefault(task_id, []).append(name)
    milestones: dict[int, list[Milestone]] = {}
    for m in Milestone.objects.filter(task_id__in=ids, date__isnull=False, done=False):
        milestones.setdefault(m.task_id, []).append(m)
    targets: dict[int, list[Target]] = {}
    for t in Target.objects.filter(task_id__in=ids, due__isnull=False):
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
                )
            )
        out.append(items)
    return out


PACE_COLUMNS = ("pace_start", "pace_behind_on", "deadline", "reported_percent", "reported_period_end")


def _pace_from_row(row: dict, *, milestones, targets, today: dt.date):
    """tasks.pace.pace_of for a task read as values(*PACE_COLUMNS) with its open milestones and dated targets."""
    return pace_of(
        status=row["status"], start=row["pace_start"], deadline=row["deadline"], milestones=milestones,
        targets=targets, reported_percent=row["reported_percent"], reported_period_end=row["reported_period_end"],
        today=today,
    )  # fmt: skip


def ranked_units(rows: list[UnitRow]) -> list[RankItem]:
    """Most overdue tasks first, then the lowest on-time rate (no report due counts as fully on time)."""
    items = [
        RankItem(
            unit_id=r.unit_id,
            unit=r.unit,
            kind=r.kind,
            overdue=r.overdue,
            tasks=r.tasks,
            reports_due=r.reports_due,
            reports_on_time=r.reports_on_time,
            behind=r.pace_behind,
            on_time_previous=r.reports_on_time_previous,
        )
        for r in rows
        if r.tasks
    ]
    items.sort(key=_rank_key)
    return items


def _rank_key(i: RankItem) -> tuple:
    return (-i.overdue, i.on_time_rate if i.on_time_rate is not None else 1.0, i.unit)


def _dashboard_scope(user) -> str | None:
    """Who the dashboard is computed for: everyone who sees the whole ledger sees the same one."""
    if not can_view_rollups(user):
        return None
    return "all" if _sees_all(user) else f"unit:{user.unit_id}"


# The dashboard's fingerprints: every committed revision bump raises the first, every one but a report's the second
# (reports.models.UnitRevision).
REVISION_SUMS_SQL = (
    f"SELECT COALESCE(SUM(rev), 0), COALESCE(SUM(task_rev), 0) FROM {UnitRevision._meta.db_table}"
)


def dashboard_overdue(
    *, today: dt.date, user, period: Period, limit: int = DASHBOARD_LIMIT, periods: list[Period] | None = None
) -> Dashboard:
    """What leaders look at first (see `_dashboard_compute`), from `DashboardCache` while nothing it shows has
    changed: one query then. When only reports changed (the quarter's rush), the tasks' part is kept and the
    units' part computed again from their cached figures (`unit_figures`: only the units written since). Otherwise
    everything is computed again. The fingerprints are read before computing, in the same query as the row, and
    the row replaced. `periods`, when the caller has read them all already (the page's period selector), saves
    the query for the previous period."""
    previous = period_previous(period, periods=periods)
    scope = _dashboard_scope(user)
    # Only the page's and the API's default lengths are kept: one row per audience and period, however many
    # other `?limit=` values are asked for.
    if scope is None or limit not in (DASHBOARD_LIMIT, DASHBOARD_PAGE_LIMIT) or not figures_cache_enabled():
        return _dashboard_compute(today=today, user=user, period=period, previous=previous, limit=limit)
    key = {"scope": scope, "period_id": period.pk, "limit": limit}
    previous_id = previous.pk if previous else None
    row = (
        DashboardCache.objects.filter(**key, previous_id=previous_id, as_of=today)
        .annotate(
            now=RawSQL(f"SELECT COALESCE(SUM(rev), 0) FROM {UnitRevision._meta.db_table}", []),
            tasks_now=RawSQL(f"SELECT COALESCE(SUM(task_rev), 0) FROM {UnitRevision._meta.db_table}", []),
        )
        .values("data", "fingerprint", "task_fingerprint", "now", "tasks_now")
        .first()
    )
    if row is not None:
        row["data"] = json.loads(row["data"])
    if row is None:
        with connection.cursor() as cursor:
            cursor.execute(REVISION_SUMS_SQL)
            now, tasks_now = cursor.fetchone()
    else:
        now, tasks_now = row["now"], row["tasks_now"]
        if row["fingerprint"] == now:
            return Dashboard.from_data(row["data"], period=period, previous=previous, today=today)
    # One transaction for the figures and the dashboard written back: one commit, not two (units' figures
    # rows are locked before the dashboard row, in every reader, so two readers cannot deadlock).
    with transaction.atomic():
        if row is not None and row["task_fingerprint"] == tasks_now:
            d = Dashboard.from_data(row["data"], period=period, previous=previous, today=today)
            for name, value in _dashboard_units_part(
                user=user, period=period, previous=previous, today=today, cached=row["data"]
            ).items():
                setattr(d, name, value)
        else:
            cached = row["data"] if row is not None else None
            d = _dashboard_compute(
                today=today, user=user, period=period, previous=previous, limit=limit, cached=cached
            )
        DashboardCache.objects.bulk_create(
            [
                DashboardCache(
                    **key,
                    previous_id=previous_id,
                    as_of=today,
                    fingerprint=now,
                    task_fingerprint=tasks_now,
                    data=json.dumps(d.as_data(), cls=DjangoJSONEncoder, ensure_ascii=False),
                )
            ],
            update_conflicts=True,
            unique_fields=list(key),
            update_fields=["previous_id", "as_of", "fingerprint", "task_fingerprint", "data"],
        )
    return d


# Above this share of the ranked units changed since the cached ranking, it is computed again whole.
INCREMENTAL_SHARE = 0.25


def _dashboard_units_part(
    *, user, period: Period, previous: Period | None, today: dt.date, cached: dict | None = None
) -> dict:
    """The unit ranking and the report figures, from the units' cached figures (`_unit_figures`).

    With `cached` (the data of this audience's dashboard for the same period, previous period and day), only the
    units whose revision moved since are computed again and put back into the ranking: after a report is saved,
    one unit, not 300 (the figures of the others are read neither from UnitFigures nor from the ledger). A unit
    added, removed, renamed or deactivated moves its revision or the set of units, so nothing stale survives."""
    units = rollup_units_visible_to(user=user)
    revs = dict(
        units.order_by()
        .annotate(
            rev=Coalesce(Subquery(UnitRevision.objects.filter(unit_id=OuterRef("pk")).values("rev")[:1]), 0)
        )
        .values_list("pk", "rev")
    )
    stored = {int(k): v for k, v in (cached or {}).get("unit_revs", {}).items()}
    changed = [u for u, rev in revs.items() if stored.get(u) != rev]
    if cached is not None and stored.keys() == revs.keys() and len(changed) <= INCREMENTAL_SHARE * len(revs):
        items = {i["unit_id"]: i for i in cached["units"]}
        for unit_id in changed:
            items.pop(unit_id, None)
        ranked = _rank_items(list(items.values()))
        if changed:
            rows = _unit_figures(
                period=period, today=today, units=units.filter(pk__in=changed), previous=previous
            )
            ranked += ranked_units(rows)
        ranked.sort(key=_rank_key)
    else:
        ranked = ranked_units(_unit_figures(period=period, today=today, units=units, previous=previous))
    # Units without tasks owe no reports: the sums over the ranked units are the sums over all.
    due = sum(i.reports_due for i in ranked)
    on_time = sum(i.reports_on_time for i in ranked)
    on_time_prev = sum(i.on_time_previous for i in ranked)
    return {
        "units": ranked,
        "on_time_rate": on_time / due if due else None,
        "on_time_rate_previous": (on_time_prev / due if due else None) if previous else None,
        "reports_due": due,
        "reports_on_time": on_time,
        "reports_on_time_previous": on_time_prev,
        "unit_revs": revs,
    }


def _dashboard_compute(
    *, today: dt.date, user, period: Period, previous: Period | None, limit: int, cached: dict | None = None
) -> Dashboard:
    """A fixed number of queries: the overdue and due-soon lists (count, rows and the lead units, milestones and
    targets for the light's reason), the unit ranking (the department and county roll-ups) with the on-time rate
    of the previous period, and the targets at risk."""
    tasks = tasks_visible_to(user=user)
    counts = tasks.order_by().aggregate(
        **{light.value: Count("id", filter=light_q(light, today=today)) for light in Light},
        **{f"pace_{p}": Count("id", filter=pace_q(p, today=today)) for p in Pace.ALL},
    )
    lights = {light.value: counts[light.value] for light in Light}
    # Targets not met on tasks not completed; the count rides along as a window over the same scan. Users who
    # see the whole ledger filter by a plain join on the task; others through their visible tasks.
    at_risk = Target.objects.filter(due__isnull=False, task__deleted_at__isnull=True).exclude(
        task__status=Progress.COMPLETED
    )
    if not _sees_all(user):
        at_risk = at_risk.filter(task__in=tasks.values("pk"))
    at_risk = list(
        at_risk.exclude(target_met_q())
        .annotate(total=Window(Count("id")))
        .select_related("task")
        .only(
            "task__path_key",
            "task__title",
            "indicator",
            "op",
            "value",
            "value_high",
            "unit",
            "due",
            "latest_value",
            "baseline",
        )  # fmt: skip
        .order_by("due", "id")[:limit]
    )
    overdue, due_soon = _task_items(_urgent_lists(tasks, today=today, limit=limit), today=today)
    return Dashboard(
        period=period,
        previous=previous,
        today=today,
        overdue=overdue,
        overdue_count=lights[Light.OVERDUE.value],
        due_soon=due_soon,
        due_soon_count=lights[Light.DUE_SOON.value],
        light_counts=lights,
        targets_at_risk=[
            TargetItem(
                id=t.pk,
                task_id=t.task_id,
                task_path=t.task.path_key,
                task_title=t.task.title,
                label=t.label,
                due=t.due,
                latest_value=t.latest_value,
                unit=t.unit,
                days_left=(t.due - today).days,
            )
            for t in at_risk
        ],
        targets_at_risk_count=at_risk[0].total if at_risk else 0,
        pace_counts={p: counts[f"pace_{p}"] for p in Pace.ALL},
        **_dashboard_units_part(user=user, period=period, previous=previous, today=today, cached=cached),
    )
