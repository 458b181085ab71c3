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
import threading
from collections import Counter, OrderedDict
from dataclasses import MISSING, asdict, dataclass, field, fields

from django.conf import settings
from django.db import connections
from django.db.models import (
    Count,
    F,
    FilteredRelation,
    Min,
    Q,
)
from django.db.models.fields.json import KT

from departments.models import Unit, UnitKind
from departments.permissions import has
from tasks.lights import light_q
from tasks.models import Document, Light, Progress, Target
from tasks.pace import pace_q
from tasks.selectors import tasks_visible_to

from .figures import (  # noqa: F401 - the figures' names stay importable from here for their callers
    PACE_CLASSES,
    REPORT_LATE,
    REPORT_ON_TIME,
    SUBMITTED,
    _compute_figures,
    _compute_figures_many,
    _prefixed,
    _report_join,
    _reused_statement,
    figures_cache_enabled,
    figures_forget,
    obligation_rows,
    target_met_q,
    unit_figures,
)
from .models import DashboardCache, Period, PlanRevision, UnitFigures, UnitRevision
from .periods import period_current, period_previous, period_resolve  # noqa: F401 - re-exported

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


def rollup_scope(user) -> str | None:
    """Who a cached roll-up or dashboard is computed for: everyone who sees the whole ledger sees the same one, a
    reporter its own unit's; None for whoever sees none."""
    if not can_view_rollups(user):
        return None
    return "all" if _sees_all(user) else f"unit:{user.unit_id}"


def unit_revisions(user) -> dict[int, int]:
    """{unit id: current revision} of the units the user's ranking shows (every unit not deleted, or a reporter's
    own), in one statement written once: read on every dashboard and trend that is not served whole from the
    cache. A join, not a subquery per unit: half the time for 300 units."""
    if not can_view_rollups(user):
        return {}
    quote = connections["default"].ops.quote_name
    sql = (
        f"SELECT u.id, COALESCE(r.rev, 0) FROM {quote(Unit._meta.db_table)} u "
        f"LEFT JOIN {quote(UnitRevision._meta.db_table)} r ON r.unit_id = u.id WHERE u.deleted_at IS NULL"
    )
    params = []
    if not _sees_all(user):
        sql, params = f"{sql} AND u.id = %s", [user.unit_id]
    with connections["default"].cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())


# --- the page-level cache ------------------------------------------------------------------------------------

# The fingerprints of everything cached: every committed revision bump raises the first, every one but a report's
# the second (reports.invalidation is the one definition of what bumps what).
REVISION_SUMS_SQL = (
    "SELECT COALESCE(SUM(rev), 0) AS now, COALESCE(SUM(task_rev), 0) AS tasks_now "
    f"FROM {UnitRevision._meta.db_table}"
)


class _ProcessStore:
    """Values kept in this process, by reference: Django's default local-memory cache pickled them on every read
    and write, and unpickling a hundred plans with their areas was a fifth of the plan roll-up. Readers never
    change what they get. Bounded (the roll-ups: 300 entries, like that cache), least recently used first out; the
    keys name the day or the revision sums, so what is out of date is never looked for again. The dashboard holds
    its rows in one too (reports.dashboard._HELD)."""

    def __init__(self, size: int = 300):
        self.size, self.rows, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            value = self.rows.get(key)
            if value is not None:
                self.rows.move_to_end(key)
            return value

    def set(self, key, value) -> None:
        with self.lock:
            self.rows[key] = value
            self.rows.move_to_end(key)
            while len(self.rows) > self.size:
                self.rows.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.rows.clear()


_STORE = _ProcessStore()


def _revision_sums() -> tuple[int, int]:
    with connections["default"].cursor() as cursor:
        cursor.execute(REVISION_SUMS_SQL)
        return cursor.fetchone()


def _kept_for(user) -> str | None:
    """Whom and which database a roll-up kept in a process cache belongs to ("<scope>:<database>"), or None when
    it is to be computed: a user who sees none, a database without the revision triggers, or inside a transaction
    (a process cache does not roll back, and inside one the revisions may count writes that never commit; the
    dashboard, rewritten after every report, is kept in the database for that reason: DashboardCache)."""
    scope = rollup_scope(user)
    connection = connections["default"]
    if scope is None or not figures_cache_enabled() or connection.in_atomic_block:
        return None
    return f"{scope}:{connection.settings_dict['NAME']}"


def _cached(kind: str, *, user, key: tuple, fingerprint, compute):
    """`compute()`, kept in this process (`_STORE`) under `fingerprint()` read before it ran (`_kept_for`). A change
    committed while it runs leaves the stored value under the old fingerprint, where nobody looks again."""
    owner = _kept_for(user)
    if owner is None:
        return compute()
    current = fingerprint()
    cache_key = f"rollup:{kind}:{owner}:{hash((key, current))}"
    hit = _STORE.get(cache_key)
    if hit is not None and hit[0] == (key, current):
        return list(hit[1])  # a list of its own: what a caller does with it is not the next reader's
    value = compute()
    _STORE.set(cache_key, ((key, current), value))
    return list(value)


def _fingerprinted(kind: str, *, user, key: tuple, tasks_only: bool, compute):
    """`_cached` under the revision sums: the roll-up by plan and area (tasks only: a report saved leaves it
    valid) and the trend (everything)."""

    def fingerprint():
        rev, task_rev = _revision_sums()
        return task_rev if tasks_only else (rev, task_rev)

    return _cached(kind, user=user, key=key, fingerprint=fingerprint, compute=compute)


# --- periods -------------------------------------------------------------------------------------------------


# One resolver for every page, API call and job: reports.periods. The roll-ups' names stay for their callers.
period_default = period_current


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


def rollup_caches_empty(*, using: str = "default", **kwargs) -> None:
    """Empty the figures and dashboard caches after every `migrate`: a deploy runs it, and may change how they are
    computed; the next readers compute them again from the ledger (a post_migrate receiver)."""
    conn = connections[using]
    with conn.cursor() as cursor:
        tables = set(conn.introspection.table_names(cursor))
        for model in (UnitFigures, DashboardCache):
            if model._meta.db_table in tables:  # a partial migrate may not have created them yet
                cursor.execute(f"DELETE FROM {model._meta.db_table}")


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


_UNIT_ROW_DEFAULTS = {f.name: f.default for f in fields(UnitRow) if f.default is not MISSING}


def _unit_figures(
    *, period: Period, today: dt.date, units, previous: Period | None = None, ranking_only: bool = False
) -> list[UnitRow]:
    """The rows of these units (one query for the units, then `unit_figures`). With `previous`, the reports on
    time in that period too (`UnitRow.reports_on_time_previous`): the same obligations, the earlier reports.

    `ranking_only`: what the leaders' ranking shows (tasks, overdue, 欠进度, reports on time; targets left at 0),
    computed from the ledger without reading or writing UnitFigures rows: for the units a write just changed,
    whose rows are stale anyway (two statements, not six)."""
    unit_list = list(units.order_by("kind", "sort_order", "name").values("id", "name", "short_name", "kind"))
    if not unit_list:
        return []
    periods = [period] + ([previous] if previous is not None else [])
    ids = [u["id"] for u in unit_list]
    if ranking_only:
        figures = _compute_figures_many(periods=periods, today=today, unit_ids=ids, targets=False)
    else:
        figures = unit_figures(periods=periods, today=today, unit_ids=ids)
    rows = []
    new = object.__new__  # 300 rows: keyword __init__ and setattr per figure cost more than reading them
    for u in unit_list:
        f = figures[(u["id"], period.pk)]
        r = new(UnitRow)
        r.__dict__.update(_UNIT_ROW_DEFAULTS)  # a field added later starts at its default
        r.__dict__.update(
            {name: f[name] for name in UnitFigures.PACE_FIGURES},
            unit_id=u["id"], unit=u["name"], short_name=u["short_name"] or u["name"], kind=u["kind"],
            tasks=f["tasks"], led=f["led"], shared=f["shared"], completed=f["completed"], overdue=f["overdue"],
            due_soon=f["due_soon"], on_track=f["tasks"] - f["completed"] - f["overdue"], reports_due=f["tasks"],
            reports_on_time=f["on_time"], reports_late=f["late"],
            reports_missing=f["tasks"] - f["on_time"] - f["late"], targets_total=f["targets_total"],
            targets_met=f["targets_met"],
            reports_on_time_previous=figures[(u["id"], previous.pk)]["on_time"] if previous is not None else 0,
        )  # fmt: skip
        rows.append(r)
    return rows


def rollup_by_department(*, period: Period, today: dt.date, user) -> Rollup:
    """One row per department (and the secretariat, if it carries tasks) the user may see."""
    return _unit_rollup(period=period, today=today, user=user, county=False)


def rollup_by_county(*, period: Period, today: dt.date, user) -> Rollup:
    """One row per county government the user may see, on the tasks that involve counties."""
    return _unit_rollup(period=period, today=today, user=user, county=True)


# Above this share of the units changed since the rows kept in this process, they are computed again whole.
UNITS_INCREMENTAL_SHARE = 0.25


def _unit_rollup(*, period: Period, today: dt.date, user, county: bool) -> Rollup:
    """The units' rows, kept in this process (`_STORE`) with each unit's revision (read before computing): while
    no revision moved they are used as they are, and after a write only the units whose revision moved are
    computed again (`_unit_figures`: one unit after a report) and put back in the units' order, read again then.
    A unit added or deleted changes the set of revisions, and more than a quarter of them changed (a day's first
    reader, an import) computes every row: then as without the rows kept. Only outside a transaction (`_kept_for`)."""
    units = rollup_units_visible_to(user=user)
    units = units.filter(kind=UnitKind.COUNTY) if county else units.exclude(kind=UnitKind.COUNTY)
    owner = _kept_for(user)
    if owner is None:
        return Rollup(period=period, rows=_unit_figures(period=period, today=today, units=units))
    revs = unit_revisions(user)  # every kind: a unit moved between the two pages changes on both
    key = (period.pk, period.end_date, today, settings.LIGHT_DUE_SOON_DAYS)
    cache_key = f"rollup:unit-rows:{owner}:{county}:{hash(key)}"
    hit = _STORE.get(cache_key)
    rows = None
    if hit is not None and hit[0] == key and hit[1].keys() == revs.keys():
        kept_revs, kept = hit[1], hit[2]
        changed = [u for u, rev in revs.items() if kept_revs[u] != rev]
        if not changed:
            rows = kept
        elif len(changed) <= UNITS_INCREMENTAL_SHARE * len(revs):
            fresh = {
                r.unit_id: r
                for r in _unit_figures(period=period, today=today, units=units.filter(pk__in=changed))
            }
            by_id = {r.unit_id: r for r in kept}
            # the order again: a changed unit may have been renamed, reordered or moved to the other page
            order = units.order_by("kind", "sort_order", "name").values_list("id", flat=True)
            rows = [fresh[u] if u in fresh else by_id[u] for u in order if u in fresh or u in by_id]
    if rows is None:
        rows = _unit_figures(period=period, today=today, units=units)
    _STORE.set(cache_key, (key, revs, rows))
    return Rollup(period=period, rows=list(rows))  # a list of its own: a caller may extend it (the 通报 does)


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
    """Each plan (document) with its top-level areas: from the cache while no task, target or assignment changed
    (`_fingerprinted`), else from each plan's rows kept under its revision (`_plans_kept`): only the plans whose
    tasks changed are counted again, two queries over their tasks the user may see."""
    key = (period.pk, period.end_date, today, settings.LIGHT_DUE_SOON_DAYS)
    return _fingerprinted(
        "plans", user=user, key=key, tasks_only=True,
        compute=lambda: _plans_kept(key, period=period, today=today, user=user),
    )  # fmt: skip


def plan_revisions() -> dict[int, int]:
    """{plan id: the sum of its PlanRevision rows} (the triggers of reports.invalidation raise them). A plan
    without rows has not changed since the table was created."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            f"SELECT document_id, SUM(rev) FROM {PlanRevision._meta.db_table} GROUP BY document_id"
        )
        return {int(d): int(total) for d, total in cursor.fetchall()}


def _plans_kept(key: tuple, *, period: Period, today: dt.date, user) -> list[PlanRow]:
    """`_rollup_by_plan` with each plan's row kept in this process (`_STORE`) under the plan's revision (read before the
    rows are computed: a change landing meanwhile leaves them stale); only outside a transaction."""
    owner = _kept_for(user)
    if owner is None:
        return _rollup_by_plan(period=period, today=today, user=user)
    revs = plan_revisions()
    cache_key = f"rollup:plan-rows:{owner}:{hash(key)}"
    hit = _STORE.get(cache_key)
    if hit is None or hit[0] != key:
        kept, changed = {}, None
    else:
        kept = dict(hit[1])  # a new dict stored below: the kept one is never changed
        changed = {d for d in kept.keys() | revs.keys() if kept.get(d, (None,))[0] != revs.get(d)}
    if changed is None or changed:
        rows = {
            r.document_id: r
            for r in _rollup_by_plan(period=period, today=today, user=user, documents=changed)
        }
        # a plan with a revision but no task the user sees is kept too (as None), or it would look changed forever
        for d in rows.keys() | (changed if changed is not None else revs.keys()):
            kept[d] = (revs.get(d), rows.get(d))
    _STORE.set(cache_key, (key, kept))
    return [kept[d][1] for d in sorted(kept) if kept[d][1] is not None]


def _rollup_by_plan(*, period: Period, today: dt.date, user, documents=None) -> list[PlanRow]:
    """The rows of every plan with tasks the user may see, in plan id order (or of these `documents` only)."""
    tasks = tasks_visible_to(user=user).order_by()
    if documents is not None:
        tasks = tasks.filter(document_id__in=documents)
    light = lambda name: light_q(name, today=today)  # noqa: E731
    # Grouped by plan id and area only, the plans' names read after: with the names in the GROUP BY the 20,000
    # wide rows were sorted on disk (36 ms at province scale); grouped narrow they are hashed in memory.
    areas = (
        tasks.values("document_id", area=KT("path__0"))
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
    areas = list(areas)
    names = {
        d["id"]: d
        for d in Document.objects.filter(pk__in={a["document_id"] for a in areas}).values(
            "id", "doc_number", "title"
        )
    }
    plans: dict[int, PlanRow] = {}
    for a in areas:
        plan = plans.get(a["document_id"])
        if plan is None:
            doc = names.get(a["document_id"], {})
            plan = plans[a["document_id"]] = PlanRow(
                document_id=a["document_id"],
                doc_number=doc.get("doc_number") or "",
                title=doc.get("title", ""),
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
    key = (tuple((p.pk, p.end_date, p.label) for p in periods), today, settings.LIGHT_DUE_SOON_DAYS)
    return _fingerprinted(
        "trend", user=user, key=key, tasks_only=False,
        compute=lambda: _rollup_trend(periods=periods, period=period, today=today, user=user),
    )  # fmt: skip


def _rollup_trend(*, periods: list[Period], period: Period, today: dt.date, user) -> list[TrendRow]:
    # Reports due, on time and late per quarter are the units' cached figures of each quarter (the same
    # obligations, each quarter's reports); only the tasks reported completed need the reports themselves.
    unit_ids = list(rollup_units_visible_to(user=user).values_list("pk", flat=True))
    # Each unit's part is kept under its revision (read before anything is computed: a change landing meanwhile
    # leaves the part stale), only outside a transaction (a process cache does not roll back).
    owner = _kept_for(user)
    revs = unit_revisions(user) if owner else None
    due, reported = _trend_unit_sums(
        periods=periods, period=period, today=today, unit_ids=unit_ids, owner=owner, revs=revs
    )
    per_period = _completed_by_period(
        periods=periods, period=period, unit_ids=unit_ids, owner=owner, revs=revs
    )
    # Tasks and targets due by each quarter's end: the tasks alone decide them (kept while no task changed).
    task_due, target_due = _fingerprinted(
        "trend-due", user=user, key=tuple((p.pk, p.end_date) for p in periods), tasks_only=True,
        compute=lambda: _due_by_period(periods=periods, user=user),
    )  # fmt: skip
    rows = []
    for p in periods:
        row = TrendRow(period_id=p.pk, label=p.label, reports_due=due)
        row.reports_on_time, row.reports_late = reported[p.pk]
        row.reports_missing = max(0, due - row.reports_on_time - row.reports_late)
        row.tasks_reported_completed = per_period.get(p.pk, 0)
        row.tasks_due = task_due[f"p{p.pk}"]
        row.targets_total, row.targets_met = target_due[f"t{p.pk}"], target_due[f"m{p.pk}"]
        rows.append(row)
    return rows


def _trend_unit_sums(
    *,
    periods: list[Period],
    period: Period,
    today: dt.date,
    unit_ids: list[int],
    owner: str | None,
    revs: dict | None,
) -> tuple[int, dict[int, tuple[int, int]]]:
    """(reports due in `period`, {period id: (reports on time, late)}) over these units. With `owner`
    (`_kept_for`) and `revs` (the units' revisions), each unit's share is kept in this process (`_STORE`) under its revision, so after a report the figures of
    that one unit are read again (`unit_figures`), not those of every unit and quarter (2,640 rows at province
    scale)."""
    ids = [p.pk for p in periods]

    def shares(units: list[int]) -> dict[int, tuple]:
        figures = unit_figures(periods=periods, today=today, unit_ids=units)
        return {
            u: (figures[(u, period.pk)]["tasks"], *((figures[(u, p)]["on_time"], figures[(u, p)]["late"]) for p in ids))
            for u in units
        }  # fmt: skip

    if owner is None or revs is None:
        share = shares(unit_ids)
    else:
        key = (tuple(ids), period.pk, today)
        cache_key = f"rollup:trend-units:{owner}:{hash(key)}"
        hit = _STORE.get(cache_key)
        stored = hit[1] if hit is not None and hit[0] == key else {}
        changed = [u for u in unit_ids if stored.get(u, (None,))[0] != revs.get(u, 0)]
        fresh = shares(changed) if changed else {}
        share = {u: fresh[u] if u in fresh else stored[u][1] for u in unit_ids}
        _STORE.set(cache_key, (key, {u: (revs.get(u, 0), share[u]) for u in unit_ids}))
    due = sum(s[0] for s in share.values())
    reported = {
        p: (sum(s[1 + i][0] for s in share.values()), sum(s[1 + i][1] for s in share.values()))
        for i, p in enumerate(ids)
    }
    return due, reported


def _completed_rows(*, periods: list[Period], period: Period, unit_ids: list[int]):
    """(unit, period id, task) of the live tasks a unit carrying them reported 已完成 (submitted or accepted)."""
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
    return (
        obligation_rows(period=period)
        .filter(unit_id__in=unit_ids)
        .annotate(done=said_done)
        .filter(done__isnull=False)
        .values_list("unit_id", "done__period_id", "task_id")
        .distinct()
        .order_by()
    )


class _CompletedTasks:
    """Per unit, the tasks it reported completed in each quarter (under the unit's revision), and per quarter how
    many units did so for each task: a task counts while one of them does."""

    def __init__(self):
        self.revs: dict[int, int] = {}
        self.sets: dict[int, dict[int, set[int]]] = {}  # unit -> period -> tasks
        self.counts: dict[int, Counter] = {}  # period -> task -> units

    def drop(self, unit: int) -> None:
        self.revs.pop(unit, None)
        for p, tasks in self.sets.pop(unit, {}).items():
            counts = self.counts[p]
            for task in tasks:
                counts[task] -= 1
                if not counts[task]:
                    del counts[task]

    def add(self, unit: int, rev: int, sets: dict[int, set[int]]) -> None:
        self.revs[unit], self.sets[unit] = rev, sets
        for p, tasks in sets.items():
            self.counts.setdefault(p, Counter()).update(tasks)

    def totals(self) -> dict[int, int]:
        return {p: len(c) for p, c in self.counts.items()}


# Per process (the sets are too many to pickle on every read): a few audiences and ranges.
_COMPLETED: OrderedDict[tuple, _CompletedTasks] = OrderedDict()
_COMPLETED_KEEP = 8
_COMPLETED_LOCK = threading.Lock()


def process_caches_clear() -> None:
    """Forget what this process keeps (tests; a database restored under the same name)."""
    with _COMPLETED_LOCK:
        _COMPLETED.clear()
    _STORE.clear()
    figures_forget()


def _completed_by_period(
    *, periods: list[Period], period: Period, unit_ids: list[int], owner: str | None, revs: dict | None
) -> dict[int, int]:
    """{period id: distinct tasks reported 已完成 in that quarter by a unit carrying them}. With `revs`, kept per
    process and per unit (`_CompletedTasks`): after a report, the completed tasks of that one unit are read
    again, where counting them over every obligation took 46 ms at province scale."""

    def sets_of(units: list[int]) -> dict[int, dict[int, set[int]]]:
        out: dict[int, dict[int, set[int]]] = {u: {} for u in units}
        for unit, p, task in _completed_rows(periods=periods, period=period, unit_ids=units):
            out[unit].setdefault(p, set()).add(task)
        return out

    if owner is None or revs is None:
        state = _CompletedTasks()
        for unit, sets in sets_of(unit_ids).items():
            state.add(unit, 0, sets)
        return state.totals()
    key = (owner, tuple(p.pk for p in periods), period.pk)
    with _COMPLETED_LOCK:
        state = _COMPLETED.pop(key, None) or _CompletedTasks()
        live = set(unit_ids)
        changed = [u for u in unit_ids if state.revs.get(u) != revs.get(u, 0)]
        fresh = sets_of(changed) if changed else {}
        for unit in [u for u in state.revs if u not in live] + changed:
            state.drop(unit)
        for unit in changed:
            state.add(unit, revs.get(unit, 0), fresh[unit])
        _COMPLETED[key] = state  # not put back when reading failed: the next reader starts afresh
        while len(_COMPLETED) > _COMPLETED_KEEP:
            _COMPLETED.popitem(last=False)
        return state.totals()


def _due_by_period(*, periods: list[Period], user) -> tuple[dict, dict]:
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
    return task_due, target_due
