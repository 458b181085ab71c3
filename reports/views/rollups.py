"""Roll-up pages by department, county, plan and quarter (the dashboard page: reports.views.dashboard)."""

from __future__ import annotations

import functools

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from reform_ledger.spreadsheets import PERCENT
from reports import rollups
from reports.models import Period

from .dashboard import dashboard
from .tables import (
    Cell,
    Column,
    LazyRow,
    Table,
    _apply_sort,
    _base_context,
    _check,
    _header_links,
    _n,
    _pct_value,
    _period,
    _rate,
    _sort,
    _wants_xlsx,
    excel_download,
    reports_url,
    tasks_url,
    unit_reports_url,
)

# --- by department / county ----------------------------------------------------------------------------------


# 序时进度 (tasks.pace) per unit, plan and area; 已完成 is the 已完成 column
PACE_COLUMNS = (
    Column("pace_ahead", "超进度"),
    Column("pace_on_pace", "达进度"),
    Column("pace_behind", "欠进度"),
    Column("pace_not_started", "未启动"),
    Column("pace_unknown", "无法判断", width=9),
)


def _pace_cells(row, *, link: bool = True, **params) -> list[Cell]:
    cells = []
    for col in PACE_COLUMNS:
        value = getattr(row, col.key)
        url = tasks_url(**params, pace=col.key.removeprefix("pace_")) if link else None
        cells.append(_n(value, url, "warm" if col.key == "pace_behind" and value else ""))
    return cells


def _unit_cells(r: rollups.UnitRow, *, rep: str | None, county: bool) -> list[Cell]:
    """One unit's row: every number links to the tasks or reports behind it (values as in `unit_table`)."""
    u = {"unit": r.unit_id}
    cells = [Cell(value=r.unit, display=r.unit, url=tasks_url(**u)), _n(r.tasks, tasks_url(**u))]
    if not county:
        cells += [_n(r.led, tasks_url(lead_unit=r.unit_id)), _n(r.shared, tasks_url(**u))]
    return cells + [
        _n(r.completed, tasks_url(**u, light="done")),
        _n(r.normal, tasks_url(**u, light="normal")),
        _n(r.due_soon, tasks_url(**u, light="due_soon")),
        _n(r.overdue, tasks_url(**u, light="overdue"), "hot" if r.overdue else ""),
        *_pace_cells(r, **u),
        _n(r.reports_due, rep),
        _n(r.reports_on_time, rep),
        _n(r.reports_late, rep, "warm" if r.reports_late else ""),
        _n(r.reports_missing, rep, "hot" if r.reports_missing else ""),
        _rate(r.on_time_rate),
        _n(r.targets_met, tasks_url(**u)),
        _n(r.targets_total, tasks_url(**u)),
    ]


def unit_table(rollup: rollups.Rollup, *, user, county: bool) -> Table:
    cols = [
        Column("unit", "县(市、区)" if county else "单位", width=26, numeric=False),
        Column("tasks", "任务数"),
    ]
    if not county:
        cols += [Column("led", "牵头"), Column("shared", "参与")]
    cols += [
        Column("completed", "已完成"),
        Column("normal", "序时推进·正常", width=12),
        Column("due_soon", "序时推进·临期", width=12),
        Column("overdue", "超期"),
        *PACE_COLUMNS,
        Column("reports_due", "应报"),
        Column("reports_on_time", "按时报送"),
        Column("reports_late", "逾期报送"),
        Column("reports_missing", "未报"),
        Column("on_time_rate", "按时率", width=9, kind=PERCENT),
        Column("targets_met", "指标达标"),
        Column("targets_total", "到期指标"),
    ]
    table = Table(columns=cols, html_key=("units", county, tuple(c.label for c in cols)))
    unit_url = unit_reports_url(user, period=rollup.period)
    for r in rollup.rows:
        rep = unit_url(r.unit_id)
        values = (
            r.unit, r.tasks, *(() if county else (r.led, r.shared)), r.completed, r.normal, r.due_soon, r.overdue,
            *(getattr(r, col.key) for col in PACE_COLUMNS), r.reports_due, r.reports_on_time, r.reports_late,
            r.reports_missing, r.on_time_rate, r.targets_met, r.targets_total,
        )  # fmt: skip
        table.rows.append(
            LazyRow(
                values, (r.unit_id, rep, values), functools.partial(_unit_cells, r, rep=rep, county=county)
            )
        )
    t = rollup.total
    blank = Cell(value=None, display="")
    table.total = [Cell(value="合计", display="合计"), blank]
    if not county:
        table.total += [blank, blank]
    table.total += [blank, blank, blank, blank] + [blank] * len(PACE_COLUMNS)
    table.total += [
        _n(t.reports_due),
        _n(t.reports_on_time),
        _n(t.reports_late),
        _n(t.reports_missing),
        _rate(t.on_time_rate),
        _n(t.targets_met),
        _n(t.targets_total),
    ]
    return table


def _unit_rollup_page(request, *, county: bool):
    _check(request)
    today = timezone.localdate()
    period, error = _period(request, today)
    title = "县(市、区)汇总" if county else "部门汇总"
    ctx = _base_context(request, period=period, error=error, title=title)
    ctx["county"] = county
    if period is None:
        return render(request, "reports/rollup_units.html", ctx, status=400)
    select = rollups.rollup_by_county if county else rollups.rollup_by_department
    rollup = select(period=period, today=today, user=request.user)
    table = unit_table(rollup, user=request.user, county=county)
    key, desc = _sort(request, table, "overdue", default_desc=True)
    _apply_sort(table, key, desc)
    if _wants_xlsx(request):
        return excel_download(
            request,
            filename=f"{title}-{period.year}Q{period.quarter}.xlsx",
            sheets=[table.excel_sheet(name=title, title=f"{title}（{period.label}，截至 {today:%Y-%m-%d}）")],
            export="rollup_counties" if county else "rollup_departments",
            title=title,
            filters={"period": period.pk, "sort": request.GET.get("sort", "")},
        )
    ctx.update(table=table, headers=_header_links(request, table, key, desc), today=today, rollup=rollup)
    return render(request, "reports/rollup_units.html", ctx)


@login_required
def rollup_departments(request):
    return _unit_rollup_page(request, county=False)


@login_required
def rollup_counties(request):
    return _unit_rollup_page(request, county=True)


# --- by plan and area ----------------------------------------------------------------------------------------


def _plan_cells(plan: rollups.PlanRow, name: str) -> list[Cell]:
    doc = {"document": plan.document_id}
    return [
        Cell(value=name, display=name, url=tasks_url(**doc)),
        _n(plan.tasks, tasks_url(**doc)),
        _n(plan.completed, tasks_url(**doc, light="done")),
        _n(plan.on_track - plan.due_soon, tasks_url(**doc, light="normal")),
        _n(plan.due_soon, tasks_url(**doc, light="due_soon")),
        _n(plan.overdue, tasks_url(**doc, light="overdue"), "hot" if plan.overdue else ""),
        *_pace_cells(plan, **doc),
        _rate(plan.completion_rate),
        _n(plan.targets_met, tasks_url(**doc)),
        _n(plan.targets_total, tasks_url(**doc)),
    ]


def _area_cells(a: rollups.AreaRow, label: str) -> list[Cell]:
    # The ledger has no filter by area yet, so area figures are not links (a link to the whole plan would show
    # other numbers than the cell).
    return [
        Cell(value=label.strip(), display=label),
        _n(a.tasks),
        _n(a.completed),
        _n(a.on_track - a.due_soon),
        _n(a.due_soon),
        _n(a.overdue, css="hot" if a.overdue else ""),
        *_pace_cells(a, link=False),
        _rate(a.completion_rate),
        _n(a.targets_met),
        _n(a.targets_total),
    ]


def _figures(row: rollups.AreaRow) -> tuple:
    """The numbers of a plan's or an area's row, in column order after its name."""
    return (
        row.tasks, row.completed, row.on_track - row.due_soon, row.due_soon, row.overdue,
        *(getattr(row, col.key) for col in PACE_COLUMNS), row.completion_rate, row.targets_met, row.targets_total,
    )  # fmt: skip


def plan_table(plans: list[rollups.PlanRow]) -> Table:
    """One row per plan, then one per area of it. Rows are lazy (`LazyRow`): with a hundred plans the page is 900
    rows of 13 cells, and building and escaping them was most of its time; the HTML of an unchanged row is kept."""
    columns = [
        Column("name", "文件 / 领域", width=40, numeric=False, sortable=False),
        Column("tasks", "任务数", sortable=False),
        Column("completed", "已完成", sortable=False),
        Column("normal", "序时推进·正常", width=12, sortable=False),
        Column("due_soon", "序时推进·临期", width=12, sortable=False),
        Column("overdue", "超期", sortable=False),
        *(Column(c.key, c.label, sortable=False) for c in PACE_COLUMNS),
        Column("completion_rate", "完成率", width=9, sortable=False, kind=PERCENT),
        Column("targets_met", "指标达标", sortable=False),
        Column("targets_total", "到期指标", sortable=False),
    ]
    table = Table(columns=columns, html_key=("plans", tuple(c.label for c in columns)))
    for plan in plans:
        name = f"{plan.doc_number} {plan.title}".strip()
        values = (name, *_figures(plan))
        table.rows.append(
            LazyRow(values, (plan.document_id, values), functools.partial(_plan_cells, plan, name))
        )
        table.row_css.append("plan")
        for a in plan.areas:
            label = f"　{a.area}、" if a.area else "　（未分领域）"
            values = (label.strip(), *_figures(a))
            table.rows.append(
                LazyRow(values, (plan.document_id, a.area, values), functools.partial(_area_cells, a, label))
            )
            table.row_css.append("area")
    return table


@login_required
def rollup_plans(request):
    _check(request)
    today = timezone.localdate()
    period, error = _period(request, today)
    ctx = _base_context(request, period=period, error=error, title="按文件和领域汇总")
    if period is None:
        return render(request, "reports/rollup_plans.html", ctx, status=400)
    table = plan_table(rollups.rollup_by_plan(period=period, today=today, user=request.user))
    if _wants_xlsx(request):
        return excel_download(
            request,
            filename=f"按文件和领域汇总-{period.year}Q{period.quarter}.xlsx",
            sheets=[
                table.excel_sheet(
                    name="按文件和领域", title=f"按文件和领域汇总（{period.label}，截至 {today:%Y-%m-%d}）"
                )
            ],
            export="rollup_plans",
            title="按文件和领域汇总",
            filters={"period": period.pk},
        )
    ctx.update(table=table, headers=_header_links(request, table, "", False), today=today)
    return render(request, "reports/rollup_plans.html", ctx)


# --- trend ---------------------------------------------------------------------------------------------------


def trend_table(rows: list[rollups.TrendRow], *, user) -> Table:
    table = Table(
        columns=[
            Column("label", "季度", width=22, numeric=False, sortable=False),
            Column("reports_due", "应报", sortable=False),
            Column("reports_on_time", "按时报送", sortable=False),
            Column("reports_late", "逾期报送", sortable=False),
            Column("reports_missing", "未报", sortable=False),
            Column("on_time_rate", "按时率", width=9, sortable=False, kind=PERCENT),
            Column("tasks_reported_completed", "报告已完成的任务", width=14, sortable=False),
            Column("tasks_due", "最终时限已到的任务", width=16, sortable=False),
            Column("targets_met", "指标达标", sortable=False),
            Column("targets_total", "到期指标", sortable=False),
        ]
    )
    periods = {p.pk: p for p in Period.objects.filter(pk__in=[r.period_id for r in rows])}
    for r in rows:
        rep = reports_url(user, period=periods[r.period_id])
        table.rows.append(
            [
                Cell(value=r.label, display=r.label),
                _n(r.reports_due, rep),
                _n(r.reports_on_time, rep),
                _n(r.reports_late, rep),
                _n(r.reports_missing, rep),
                _rate(r.on_time_rate),
                _n(r.tasks_reported_completed),
                _n(r.tasks_due),
                _n(r.targets_met),
                _n(r.targets_total),
            ]
        )
    return table


@login_required
def rollup_trend(request):
    _check(request)
    today = timezone.localdate()
    period, error = _period(request, today)
    ctx = _base_context(request, period=period, error=error, title="季度趋势")
    if period is None:
        return render(request, "reports/rollup_trend.html", ctx, status=400)
    rows = rollups.rollup_trend(period=period, today=today, user=request.user)
    table = trend_table(rows, user=request.user)
    if _wants_xlsx(request):
        return excel_download(
            request,
            filename=f"季度趋势-截至{period.year}Q{period.quarter}.xlsx",
            sheets=[table.excel_sheet(name="季度趋势", title=f"季度趋势（截至{period.label}）")],
            export="rollup_trend",
            title="季度趋势",
            filters={"period": period.pk},
        )
    chart = {
        "labels": [r.label for r in rows],
        "on_time_rate": [_pct_value(r.on_time_rate) for r in rows],
        "on_time": [r.reports_on_time for r in rows],
        "late": [r.reports_late for r in rows],
        "missing": [r.reports_missing for r in rows],
    }
    ctx.update(table=table, headers=_header_links(request, table, "", False), today=today, trend_chart=chart)
    return render(request, "reports/rollup_trend.html", ctx)


urlpatterns: list = [
    path("reports/dashboard/", dashboard, name="dashboard"),
    path("reports/rollups/departments/", rollup_departments, name="rollup-departments"),
    path("reports/rollups/counties/", rollup_counties, name="rollup-counties"),
    path("reports/rollups/plans/", rollup_plans, name="rollup-plans"),
    path("reports/rollups/trend/", rollup_trend, name="rollup-trend"),
]
