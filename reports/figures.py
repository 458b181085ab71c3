"""Each unit's roll-up figures for a period (the definitions are in reports.rollups), computed from the ledger in a
fixed number of aggregate queries and cached per unit and period in `UnitFigures`, valid while the unit's revision
(reports.invalidation) and the day are unchanged. reports.rollups builds the roll-up rows from them, and
reports.dashboard the leaders' ranking."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection
from django.db.models import (
    BigIntegerField,
    Count,
    ExpressionWrapper,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from tasks.lights import light_q
from tasks.models import Light, TaskUnit, target_met_q  # noqa: F401 - re-exported
from tasks.pace import Pace, pace_q

from .models import Period, ReportStatus, UnitFigures, UnitPeriodRevision, UnitRevision
from .obligations import obligation_rows as _obligation_rows
from .periods import period_current, period_previous, period_resolve  # noqa: F401 - re-exported

SUBMITTED = [ReportStatus.SUBMITTED, ReportStatus.ACCEPTED]
# 序时进度 classes counted per unit besides 已完成 (= `completed`): UnitFigures.pace_<class>
PACE_CLASSES = (Pace.AHEAD, Pace.ON_PACE, Pace.BEHIND, Pace.NOT_STARTED, Pace.UNKNOWN)


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


def obligation_rows(*, period: Period):
    """TaskUnit rows that owe a report in `period` (reports.obligations: every active unit attached to a live
    task as lead, responsible or county). Rows, not distinct pairs, so they can be aggregated per unit in one
    pass; `_signed_parts` takes care of a unit listed twice on one task."""
    return _obligation_rows(period=period).order_by()


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
    *,
    periods: list[Period],
    today: dt.date,
    unit_ids: list[int],
    duplicates: list[int] | None = None,
    targets: bool = True,
) -> dict[tuple[int, int], dict]:
    """The figures of these units in each of `periods` from the ledger itself, in three queries whatever the
    number of periods (up to FIGURES_PERIODS_PER_STATEMENT; more are done in groups): repeated unit rows, task and
    report figures, target figures. {(unit_id, period_id): {name: count for name in UnitFigures.FIGURES}}.

    What is read from the tasks (lights, 序时进度, roles) is the same in every period and counted once; each period
    adds one LEFT JOIN of the unit's own report in it (at most one row: unique task, unit, period) and its two
    counts, and its targets due by its end. After a report is saved the dashboard needs the unit's figures of the
    period and of the one before it: one statement, not two. `duplicates` (`_duplicate_rows` of these units or
    more; they do not depend on the period) saves the first query. Without `targets` the target figures are left
    at 0 and their query is not made (the leaders' ranking shows none of them)."""
    if duplicates is None:
        duplicates = _duplicate_rows(units=unit_ids)
    out: dict[tuple[int, int], dict] = {
        (u, p.pk): dict.fromkeys(UnitFigures.FIGURES, 0) for u in unit_ids for p in periods
    }
    for i in range(0, len(periods), FIGURES_PERIODS_PER_STATEMENT):
        group = periods[i : i + FIGURES_PERIODS_PER_STATEMENT]
        for (unit_id, period_id), f in _figures_of_group(group, today, unit_ids, duplicates, targets).items():
            out[(unit_id, period_id)].update(f)
    return out


def _figures_of_group(
    periods: list[Period], today: dt.date, unit_ids, duplicates, targets: bool = True
) -> dict[tuple[int, int], dict]:
    pace_names = [f"pace_{p}" for p in PACE_CLASSES]
    shared_names = ["tasks", "led", "shared", "completed", "overdue", "due_soon", *pace_names]
    per_period = [(f"on_time_{n}", f"late_{n}") for n in range(len(periods))]
    # Everything the statements depend on besides the two lists: the periods, the day and the due-soon window.
    key = (tuple((p.pk, p.end_date) for p in periods), today, settings.LIGHT_DUE_SOON_DAYS)

    def base(unit_ids, duplicates):
        return _signed_parts(
            obligation_rows(period=periods[0]).filter(unit_id__in=unit_ids), duplicates=duplicates
        )

    def task_parts(unit_ids, duplicates):
        # built here, when the statement is compiled (once per day and list lengths), not on every call
        done = _prefixed(light_q(Light.DONE, today=today), "task__")
        red = _prefixed(light_q(Light.OVERDUE, today=today), "task__")
        yellow = _prefixed(light_q(Light.DUE_SOON, today=today), "task__")
        pace = {f"pace_{p}": _prefixed(pace_q(p, today=today), "task__") for p in PACE_CLASSES}
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
    if not targets:
        return out
    last_end = max(p.end_date for p in periods)
    target_names = [(f"targets_total_{n}", f"targets_met_{n}") for n in range(len(periods))]

    def target_parts(unit_ids, duplicates):
        met = target_met_q("task__targets__")
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


def _upsert_figures(rows: list[tuple]) -> None:
    """Insert or replace UnitFigures rows (unit, period, as_of, rev, *FIGURES), in one statement written once:
    bulk_create(update_conflicts=True) compiled the same upsert again on every dashboard after a report."""
    if not rows:
        return
    table = connection.ops.quote_name(UnitFigures._meta.db_table)
    names = ["unit_id", "period_id", "as_of", "rev", *UnitFigures.FIGURES]
    columns = [connection.ops.quote_name(UnitFigures._meta.get_field(n).column) for n in names]
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[2:])
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([one] * len(rows))} "
        f"ON CONFLICT ({columns[1]}, {columns[0]}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [v for row in rows for v in row])


# UnitFigures.rev: the unit's `task_rev` × FIGURES_STAMP + its UnitPeriodRevision for the row's period
FIGURES_STAMP = 2**32


STAMPS_BY_UNIT = 32  # above this many units `_stamps` reads the revision tables whole


def _stamps(pairs: list[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """The current stamps (FIGURES_STAMP) of these (unit, period) pairs, in one query."""
    units = sorted({u for u, _ in pairs})
    periods = sorted({p for _, p in pairs})
    in_periods = ", ".join(["%s"] * len(periods))
    if len(units) > STAMPS_BY_UNIT:
        # a roll-up of every unit: both tables whole (one row per unit, per unit and period), not 300 ids twice
        by_unit, unit_params = "", []
    else:
        by_unit, unit_params = f"unit_id IN ({', '.join(['%s'] * len(units))}) AND ", units
    task_revs: dict[int, int] = {}
    period_revs: dict[tuple[int, int], int] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 0, unit_id, 0, task_rev FROM {UnitRevision._meta.db_table} WHERE {by_unit}TRUE "
            f"UNION ALL SELECT 1, unit_id, period_id, rev FROM {UnitPeriodRevision._meta.db_table} "
            f"WHERE {by_unit}period_id IN ({in_periods})",
            [*unit_params, *unit_params, *periods],
        )
        for kind, unit, period, rev in cursor.fetchall():
            if kind:
                period_revs[(unit, period)] = rev
            else:
                task_revs[unit] = rev
    return {(u, p): task_revs.get(u, 0) * FIGURES_STAMP + period_revs.get((u, p), 0) for u, p in pairs}


# Figures kept in this process: (database, unit id, period id) -> (day, stamp, figures). The same facts as the
# UnitFigures rows they were read from or written to, valid under the same rule (computed today, at the current
# stamp); consulted only outside a transaction (`unit_figures`).
_KEPT: dict[tuple, tuple] = {}
KEPT_MAX = 20_000  # 300 units x the trend's 8 quarters x a few databases


def figures_forget() -> None:
    """Forget the figures this process keeps (`reports.rollups.process_caches_clear`)."""
    _KEPT.clear()


def unit_figures(
    *, periods: list[Period], today: dt.date, unit_ids: list[int]
) -> dict[tuple[int, int], dict]:
    """{(unit_id, period_id): figures} for these units and periods, as `_compute_figures` gives them: from this
    process's memory where it holds them at the current stamp, else from `UnitFigures` or computed
    (`_unit_figures_stored`). A roll-up of 300 departments then reads their 300 stamps (two small columns), not
    their 300 rows of figures: that read and turning the rows into dicts were a fifth of the page.

    Inside a transaction the memory is not used (it does not roll back, and the stamps there may count writes that
    never commit)."""
    if not unit_ids or not periods:
        return {}
    if not figures_cache_enabled() or connection.in_atomic_block:
        return _unit_figures_stored(periods=periods, today=today, unit_ids=unit_ids)[0]
    db = (connection.settings_dict["NAME"], settings.LIGHT_DUE_SOON_DAYS)
    stamps = _stamps([(u, p.pk) for p in periods for u in unit_ids])  # read before anything is computed
    out: dict[tuple[int, int], dict] = {}
    for key, stamp in stamps.items():
        hit = _KEPT.get((db, *key))
        if hit is not None and hit[0] == today and hit[1] == stamp:
            out[key] = hit[2]
    if len(out) == len(stamps):
        return out
    missing_units = sorted({u for u, _ in stamps.keys() - out.keys()})
    missing_periods = [p for p in periods if any((u, p.pk) not in out for u in missing_units)]
    fresh, used = _unit_figures_stored(periods=missing_periods, today=today, unit_ids=missing_units)
    if len(_KEPT) > KEPT_MAX:
        _KEPT.clear()
    for key, figures in fresh.items():
        out.setdefault(key, figures)
        if used.get(key) == stamps[key]:  # what was read or computed is of the stamp read above
            _KEPT[(db, *key)] = (today, stamps[key], figures)
    return out


def _unit_figures_stored(
    *, periods: list[Period], today: dt.date, unit_ids: list[int]
) -> tuple[dict[tuple[int, int], dict], dict[tuple[int, int], int]]:
    """{(unit_id, period_id): figures} for these units and periods, and the stamp each is of.

    Read from `UnitFigures` where a row is current (computed today at the unit's current stamp for the period:
    its tasks and its reports of that period, FIGURES_STAMP); only the
    stale units are computed again and their rows replaced. After a report is submitted one unit is computed,
    not 300: one query when everything is current; with stale units, their revisions and repeated unit rows,
    then three queries for each period with stale units. The revisions are read before the figures are computed, so a change
    committed while they are being computed leaves the new row stale."""
    if not figures_cache_enabled():
        return _compute_figures_many(periods=periods, today=today, unit_ids=unit_ids), {}
    current_rev = ExpressionWrapper(
        Coalesce(
            Subquery(UnitRevision.objects.filter(unit_id=OuterRef("unit_id")).values("task_rev")[:1]),
            Value(0),
        )
        * Value(FIGURES_STAMP)
        + Coalesce(
            Subquery(
                UnitPeriodRevision.objects.filter(
                    unit_id=OuterRef("unit_id"), period_id=OuterRef("period_id")
                ).values("rev")[:1]
            ),
            Value(0),
        ),
        output_field=BigIntegerField(),
    )
    out: dict[tuple[int, int], dict] = {}
    # the current stamp of every (unit, period) with a row: a stale one needs no other query
    stamps: dict[tuple[int, int], int] = {}

    def cached_rows(period_ids, unit_ids):
        return (
            UnitFigures.objects.filter(period_id__in=period_ids, unit_id__in=unit_ids, as_of=today)
            .annotate(current_rev=current_rev)
            .values("unit_id", "period_id", "rev", "current_rev", *UnitFigures.FIGURES)
        )

    # compiled once per day and list lengths: after a report, one unit and two periods every time
    statement = ("unit_figures", today)
    for row in _reused_statement(
        statement, cached_rows, period_ids=[p.pk for p in periods], unit_ids=unit_ids
    ):
        stamps[(row["unit_id"], row["period_id"])] = row["current_rev"]
        if row["rev"] == row["current_rev"]:
            out[(row["unit_id"], row["period_id"])] = {name: row[name] for name in UnitFigures.FIGURES}
    # id order, so that two readers upserting the same rows lock them in the same order
    stale_in = {p.pk: sorted(u for u in unit_ids if (u, p.pk) not in out) for p in periods}
    stale_units = sorted({u for stale in stale_in.values() for u in stale})
    if not stale_units:
        return out, stamps
    # Read before computing: a change landing meanwhile leaves the new rows stale.
    unknown = [(u, p) for p, units in stale_in.items() for u in units if (u, p) not in stamps]
    if unknown:
        stamps.update(_stamps(unknown))
    duplicates = _duplicate_rows(units=stale_units)  # the same for every period
    stale_periods = [p for p in periods if stale_in[p.pk]]
    # One pass over the stale units for every period that has any (the current and the previous period after a
    # report: one statement); a unit current in one of them is computed along and not written.
    computed = _compute_figures_many(
        periods=stale_periods, today=today, unit_ids=stale_units, duplicates=duplicates
    )
    _upsert_figures(
        [
            (u, p.pk, today, stamps[(u, p.pk)], *(computed[(u, p.pk)][name] for name in UnitFigures.FIGURES))
            for p in stale_periods
            for u in stale_in[p.pk]
        ]
    )
    out.update(((u, p.pk), computed[(u, p.pk)]) for p in stale_periods for u in stale_in[p.pk])
    return out, stamps
