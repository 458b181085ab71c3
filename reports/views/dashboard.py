"""The leaders' overdue dashboard page (its figures: reports.dashboard)."""

from __future__ import annotations

import functools

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from departments.permissions import has
from reform_ledger.spreadsheets import (
    DATE,
    PERCENT,
)
from reports import dashboard as dash
from reports.models import Period

from .tables import (
    Cell,
    Column,
    LazyRow,
    Table,
    _base_context,
    _check,
    _header_links,
    _n,
    _pct,
    _pct_value,
    _period,
    _rate,
    _url_or_none,
    _wants_xlsx,
    excel_download,
    reports_url,
    tasks_url,
    unit_reports_url,
)

# --- the leaders' dashboard ----------------------------------------------------------------------------------

RANKING_SHOWN = 20
# Overdue, due-soon and at-risk rows on the page (and its download): the oldest 20 of each fit the A4 page a
# meeting prints; each list links to all of them. The API's limit is separate (`?limit=`, default 50).
LIST_SHOWN = dash.DASHBOARD_PAGE_LIMIT


def _short(period: Period | None) -> str:
    """A chart's axis label: 2026年三季度 (no 第, no （年度）), so two fit side by side on paper."""
    return f"{period.year}年{'一二三四'[period.quarter - 1]}季度" if period else "无填报期"


def days_text(days: int) -> str:
    """Days to a date as leaders read them: 已超期 N 天 / 今天到期 / 还剩 N 天 (never a negative count)."""
    if days < 0:
        return f"已超期 {-days} 天"
    return "今天到期" if days == 0 else f"还剩 {days} 天"


def _names(names: list[str], shown: int = 3) -> str:
    return "、".join(names[:shown]) + (f"等 {len(names)} 个" if len(names) > shown else "")


def _task_cells(t: dash.TaskItem, *, overdue: bool, own_unit: int | None) -> list[Cell]:
    detail = _url_or_none("tasks:detail", t.id)
    lead = "、".join(t.lead_units)
    light = "overdue" if overdue else "due_soon"
    lead_url = tasks_url(lead_unit=t.lead_unit_ids[0], light=light) if t.lead_unit_ids else None
    due = t.open_due.strftime("%Y-%m-%d") if t.open_due else ""
    days = -t.days if overdue else t.days
    row = [
        Cell(value=t.document, display=t.document, css="nowrap"),
        Cell(value=t.path_key, display=t.path_key, url=detail, css="nowrap"),
        Cell(value=t.title, display=t.title, url=detail),
    ]
    if own_unit:
        share = _share(t, own_unit)
        row.append(Cell(value=share, display=share))
    return row + [
        Cell(value=lead, display=lead, url=lead_url),
        Cell(value="、".join(t.shared_units), display=_names(t.shared_units) or "—"),
        Cell(value=t.open_due, display=due, css="nowrap"),
        Cell(value=t.days, display=days_text(days), css=("hot" if overdue else "warm") + " nowrap"),
        Cell(value=t.light_reason, display=t.light_reason, css="reason-cell"),
    ]


def _share(t: dash.TaskItem, own_unit: int) -> str:
    return "牵头" if own_unit in t.lead_unit_ids else "配合"


def _task_rows(items: list[dash.TaskItem], *, overdue: bool, user=None) -> Table:
    """Overdue or due-soon tasks: 文号 (a path like 二.(一).1 exists in several plans), the lead and the shared
    (配合) units — for a reporter, its own part — and the days as words. Rows are lazy (`LazyRow`): the HTML of
    a row whose task shows the same is kept, so a dashboard read again, or recomputed after one task changed,
    escapes only the rows that changed."""
    own_unit = user.unit_id if user is not None and not has(user, "figures.read_all") else None
    columns = [
        Column("document", "文号", width=18, numeric=False, sortable=False),
        Column("path", "编号", width=12, numeric=False, sortable=False),
        Column("title", "任务", width=40, numeric=False, sortable=False),
    ]
    if own_unit:
        columns.append(Column("share", "本单位", width=8, numeric=False, sortable=False))
    columns += [
        Column("lead", "牵头单位", width=24, numeric=False, sortable=False),
        Column("shared", "配合单位", width=24, numeric=False, sortable=False),
        Column("due", "节点日期", width=12, numeric=False, sortable=False, kind=DATE),
        Column("days", "超期" if overdue else "剩余", sortable=False),
        Column("reason", "亮灯原因", width=60, numeric=False, sortable=False),
    ]
    table = Table(columns=columns, html_key=("dashboard-tasks", overdue, tuple(c.label for c in columns)))
    for t in items:
        values = (
            t.document, t.path_key, t.title, *((_share(t, own_unit),) if own_unit else ()), "、".join(t.lead_units),
            "、".join(t.shared_units), t.open_due, t.days, t.light_reason,
        )  # fmt: skip
        # the links: the task's page and its first lead unit's list (the names alone do not say which)
        key = (t.id, tuple(t.lead_unit_ids[:1]), values)
        table.rows.append(
            LazyRow(values, key, functools.partial(_task_cells, t, overdue=overdue, own_unit=own_unit))
        )
    return table


def _rank_cells(i: int, u: dash.RankItem, rep: str | None) -> list[Cell]:
    overdue_url = tasks_url(unit=u.unit_id, light="overdue")
    return [
        _n(i),
        Cell(value=u.unit, display=u.unit, url=overdue_url, css="unit-link"),
        _n(u.overdue, overdue_url, "hot" if u.overdue else ""),
        _n(u.tasks, tasks_url(unit=u.unit_id)),
        _n(u.reports_due, rep),
        _n(u.reports_on_time, rep),
        _rate(u.on_time_rate),
        _n(u.behind, tasks_url(unit=u.unit_id, pace="behind"), "warm" if u.behind else ""),
    ]


def _ranking_table(units: list[dash.RankItem], *, user, period: Period, mid_period: bool = False) -> Table:
    # Before the due date every report in is on time: the share is "submitted so far", and is called so.
    columns = [
        Column("rank", "名次", width=6, sortable=False),
        Column("unit", "单位", width=26, numeric=False, sortable=False),
        Column("overdue", "超期任务", sortable=False),
        Column("tasks", "任务数", sortable=False),
        Column("reports_due", "应报", sortable=False),
        Column("reports_on_time", "已提交" if mid_period else "按时报送", sortable=False),
        Column("on_time_rate", "已提交比例" if mid_period else "按时率", sortable=False, kind=PERCENT),
        Column("behind", "欠进度", sortable=False),
    ]
    table = Table(columns=columns, html_key=("dashboard-ranking", tuple(c.label for c in columns)))
    unit_url = unit_reports_url(user, period=period)
    for i, u in enumerate(units, start=1):
        rep = unit_url(u.unit_id)
        values = (
            i, u.unit, u.overdue, u.tasks, u.reports_due, u.reports_on_time, u.on_time_rate, u.behind,
        )  # fmt: skip
        table.rows.append(
            LazyRow(values, (u.unit_id, rep, values), functools.partial(_rank_cells, i, u, rep))
        )
    return table


def _target_text(t: dash.TargetItem) -> tuple[str, str]:
    latest = f"{t.latest_value.normalize():f}{t.unit}" if t.latest_value is not None else "尚无填报值"
    return f"{t.task_path} {t.task_title}", latest


def _target_cells(t: dash.TargetItem) -> list[Cell]:
    task, latest = _target_text(t)
    return [
        Cell(value=task, display=task, url=_url_or_none("tasks:detail", t.task_id)),
        Cell(value=t.label, display=t.label),
        Cell(value=latest, display=latest),
        Cell(value=t.due, display=t.due.strftime("%Y-%m-%d")),
        Cell(
            value=t.days_left,
            display=days_text(t.days_left),
            css="hot nowrap" if t.days_left < 0 else "warm nowrap",
        ),
    ]


def _targets_table(items: list[dash.TargetItem]) -> Table:
    columns = [
        Column("task", "任务", width=36, numeric=False, sortable=False),
        Column("target", "指标", width=36, numeric=False, sortable=False),
        Column("latest", "最新值", width=12, numeric=False, sortable=False),
        Column("due", "到期日", width=12, numeric=False, sortable=False, kind=DATE),
        Column("days", "到期", sortable=False),
    ]
    table = Table(columns=columns, html_key=("dashboard-targets", tuple(c.label for c in columns)))
    for t in items:
        task, latest = _target_text(t)
        values = (task, t.label, latest, t.due, t.days_left)
        table.rows.append(LazyRow(values, (t.task_id, values), functools.partial(_target_cells, t)))
    return table


@login_required
def dashboard(request):
    _check(request)
    today = timezone.localdate()
    period, error = _period(request, today)
    ctx = _base_context(request, period=period, error=error, title="超期看板")
    if period is None:
        return render(request, "reports/dashboard.html", ctx, status=400)
    d = dash.dashboard_overdue(
        today=today, user=request.user, period=period, limit=LIST_SHOWN, periods=ctx["periods"]
    )
    overdue = _task_rows(d.overdue, overdue=True, user=request.user)
    due_soon = _task_rows(d.due_soon, overdue=False, user=request.user)
    # Before the end of the due date no report of this period is late yet: the rate counts only reports already
    # due, so mid-period it is not given (a 1.0% made of reports not yet due misleads) and the page says why.
    mid_period = timezone.now() < period.due_at
    on_time_rate = None if mid_period else d.on_time_rate
    ranking = _ranking_table(d.units[:RANKING_SHOWN], user=request.user, period=period, mid_period=mid_period)
    targets = _targets_table(d.targets_at_risk)
    prev_label = d.previous.label if d.previous else "无填报期"
    rates = Table(
        columns=[
            Column("what", "报送情况", width=24, numeric=False),
            Column("rate", "按时率", kind=PERCENT),
            Column("on_time", "按时报送"),
            Column("due", "应报"),
        ]
    )
    rates.rows = [
        [
            Cell(value=f"本期（{d.period.label}）", display=f"本期（{d.period.label}）"),
            Cell(
                value=on_time_rate,
                display=f"截止日 {period.due_date:%m-%d} 后统计" if mid_period else _pct(on_time_rate),
            ),
            _n(d.reports_on_time),
            _n(d.reports_due),
        ],
        [
            Cell(value=f"上期（{prev_label}）", display=f"上期（{prev_label}）"),
            _rate(d.on_time_rate_previous),
            _n(d.reports_on_time_previous),
            _n(d.reports_due),
        ],
    ]
    if _wants_xlsx(request):
        stamp = f"{period.label}，截至 {today:%Y-%m-%d}"
        return excel_download(
            request,
            export="dashboard",
            title="超期看板",
            filters={"period": period.pk},
            filename=f"超期看板-{today:%Y%m%d}.xlsx",
            sheets=[
                overdue.excel_sheet(
                    name="超期任务",
                    title=f"超期任务（最早的 {len(d.overdue)} 项，共 {d.overdue_count} 项；{stamp}）",
                ),
                due_soon.excel_sheet(
                    name="临期任务",
                    title=f"30 天内到期（最早的 {len(d.due_soon)} 项，共 {d.due_soon_count} 项；{stamp}）",
                ),
                ranking.excel_sheet(
                    name="单位排名",
                    title=f"单位排名（按超期任务数、按时率；前 {len(ranking.rows)} 名；{stamp}）",
                ),
                rates.excel_sheet(name="按时报送率", title=f"按时报送率（本期与上期；{stamp}）"),
                targets.excel_sheet(
                    name="风险指标",
                    title=f"风险指标（最早到期的 {len(d.targets_at_risk)} 项，共 {d.targets_at_risk_count} 项；{stamp}）",
                ),
            ],
        )
    chart = {
        "units": [
            {"name": u.unit, "overdue": u.overdue, "url": tasks_url(unit=u.unit_id, light="overdue")}
            for u in d.units[:RANKING_SHOWN]
            if u.overdue
        ],
        "lights": [
            {
                "name": "超期",
                "value": d.light_counts["overdue"],
                "url": tasks_url(light="overdue"),
                "color": "#d93025",
            },
            {
                "name": "临期",
                "value": d.light_counts["due_soon"],
                "url": tasks_url(light="due_soon"),
                "color": "#f2a600",
            },
            {
                "name": "正常",
                "value": d.light_counts["normal"],
                "url": tasks_url(light="normal"),
                "color": "#188038",
            },
            {
                "name": "已完成",
                "value": d.light_counts["done"],
                "url": tasks_url(light="done"),
                "color": "#5f6368",
            },
        ],
        "rates": {
            "labels": [f"上期\n{_short(d.previous)}", f"本期\n{_short(d.period)}"],
            "pending": f"{period.due_date:%m-%d} 截止后统计" if mid_period else "—",
            "values": [_pct_value(d.on_time_rate_previous), _pct_value(on_time_rate)],
        },
    }
    ctx.update(
        d=d,
        today=today,
        on_time_pct=_pct(on_time_rate),
        mid_period=mid_period,
        data_time=timezone.localtime(),
        shared_note="一项任务计入它的每个牵头单位和配合单位（牵头、配合合计）",
        rates_lines=rates.lines,
        overdue_headers=_header_links(request, overdue, "", False),
        due_soon_headers=_header_links(request, due_soon, "", False),
        ranking_headers=_header_links(request, ranking, "", False),
        targets_headers=_header_links(request, targets, "", False),
        overdue=overdue,
        due_soon=due_soon,
        ranking=ranking,
        targets=targets,
        dashboard_chart=chart,
        overdue_all_url=tasks_url(light="overdue", sort="deadline"),
        due_soon_all_url=tasks_url(light="due_soon", sort="deadline"),
        reports_period_url=reports_url(request.user, period=period),
        previous_reports_url=reports_url(request.user, period=d.previous) if d.previous else None,
        rate_delta=(
            None
            if on_time_rate is None or d.on_time_rate_previous is None
            else round((on_time_rate - d.on_time_rate_previous) * 100, 1)
        ),
    )
    return render(request, "reports/dashboard.html", ctx)
