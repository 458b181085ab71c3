"""Roll-up pages (by department, county, plan, quarter) and the leaders' overdue dashboard.

Each page builds one `Table` (columns with labels, sort keys and links); the HTML and the Excel download
(`?format=xlsx`) are both written from it, so the download is exactly what the page shows, in the same order.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
from dataclasses import dataclass, field
from urllib.parse import quote_plus

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from departments.permissions import has, require
from departments.services import ApplicationError, export_audit
from reform_ledger.spreadsheets import (
    DATE,
    INTEGER,
    PERCENT,
    TEXT,
    Sheet,
    render_xlsx,
    xlsx_response,
)
from reform_ledger.spreadsheets import Column as SheetColumn
from reports import dashboard as dash
from reports import rollups
from reports.models import Period

# --- a table both pages and Excel are written from -----------------------------------------------------------


@dataclass
class Cell:
    value: object
    display: str = ""
    url: str | None = None
    css: str = ""


@dataclass
class Column:
    key: str
    label: str
    width: int = 10
    numeric: bool = True
    sortable: bool = True
    kind: str = ""  # in the Excel download: percent (values are fractions), date; else number or text

    @property
    def sheet_kind(self) -> str:
        return self.kind or (INTEGER if self.numeric else TEXT)


@dataclass
class Table:
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)
    total: list[Cell] | None = None
    row_css: list[str] = field(default_factory=list)

    @property
    def lines(self) -> list[tuple[str, list[tuple[Cell, bool]]]]:
        """(row css, [(cell, is numeric column)]) for the template."""
        css = self.row_css or [""] * len(self.rows)
        numeric = [c.numeric for c in self.columns]
        return [(k, list(zip(row, numeric, strict=False))) for k, row in zip(css, self.rows, strict=True)]

    def body_html(self) -> str:
        """The rows as HTML. Built here rather than in a template loop: 300 units x 15 cells through the
        template engine took longer than all the SQL of the page."""
        numeric = [c.numeric for c in self.columns]
        css = self.row_css or [""] * len(self.rows)
        out = []
        esc = html.escape  # the standard library's: same escaping as Django's escape(), without SafeString
        # data-label: a phone shows each row as a card of "label: value" lines (static/css/dashboard.css)
        labels = [f' data-label="{esc(c.label)}"' for c in self.columns]
        for row_css, row in zip(css, self.rows, strict=True):
            cells = []
            for cell, is_num, label in zip(row, numeric, labels, strict=False):
                klass = (("num " if is_num else "") + cell.css).strip()
                text = esc(str(cell.display))
                inner = f'<a href="{esc(cell.url)}">{text}</a>' if cell.url else text
                cells.append(
                    f'<td class="{klass}"{label}>{inner}</td>' if klass else f"<td{label}>{inner}</td>"
                )
            out.append((f'<tr class="{esc(row_css)}">' if row_css else "<tr>") + "".join(cells) + "</tr>")
        return mark_safe("\n".join(out))  # noqa: S308 - every piece above is escaped

    @staticmethod
    def head_html(headers: list[dict]) -> str:
        """The header row from `_header_links`: sort links, the active column's arrow."""
        esc = html.escape
        out = []
        for h in headers:
            label = esc(h["label"])
            if h["url"]:
                arrow = (" ▼" if h["desc"] else " ▲") if h["active"] else ""
                klass = "sort active" if h["active"] else "sort"
                label = f'<a href="{esc(h["url"])}" class="{klass}">{label}{arrow}</a>'
            out.append(f'<th class="num">{label}</th>' if h["numeric"] else f"<th>{label}</th>")
        return mark_safe("".join(out))  # noqa: S308 - every piece above is escaped

    @property
    def total_cells(self) -> list[tuple[Cell, bool]]:
        return list(zip(self.total or [], [c.numeric for c in self.columns], strict=False))

    def excel_sheet(self, *, name: str, title: str) -> Sheet:
        rows = [[c.value for c in r] for r in self.rows]
        if self.total:
            rows.append([c.value for c in self.total])
        columns = [SheetColumn(c.label, c.width, kind=c.sheet_kind) for c in self.columns]
        return Sheet(name=name, title=title, columns=columns, rows=rows)


def excel_download(request, *, filename: str, sheets: list[Sheet], export: str, title: str, filters: dict):
    """The page's tables as one .xlsx, audited like every export."""
    data = render_xlsx(sheets)
    export_audit(
        request=request, export=export, title=title, filters=filters, rows=sum(s.row_count for s in sheets)
    )
    return xlsx_response(data, filename=filename)


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def _pct_value(v: float | None):
    return None if v is None else round(v * 100, 1)


def _rate(v: float | None) -> Cell:
    """A rate: a fraction for Excel (shown as 0.0%), the same percentage as text on the page."""
    return Cell(value=v, display=_pct(v))


def _n(value: int, url: str | None = None, css: str = "") -> Cell:
    return Cell(value=value, display=str(value), url=url, css=css)


@functools.cache
def _tasks_list_path() -> str:
    return reverse("tasks:list")


@functools.lru_cache(maxsize=8192)
def _quoted(text: str) -> str:
    return quote_plus(text)


def tasks_url(**params) -> str:
    """The ledger filtered by `params`, as urlencode() writes it. A roll-up page links every number (300 units x 9
    links at province scale), and urlencode's generic path cost more than the page's SQL; the parameter names
    and values repeat (unit ids, light names), so each is quoted once."""
    query = "&".join(f"{_quoted(key)}={_quoted(str(value))}" for key, value in params.items())
    return f"{_tasks_list_path()}?{query}"


@functools.lru_cache(maxsize=4096)
def _url_or_none(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def reports_url(user, *, period: Period, unit_id: int | None = None) -> str | None:
    """The reporting engineer's pages: the period status (one unit's reports) for readers of everything, the
    reporter's own form for a reporter."""
    if not has(user, "reports.read_all"):
        base = _url_or_none("reports:my-form") if has(user, "reports.write") else None
        return f"{base}?period={period.pk}" if base else None
    base = _url_or_none("reports:period-status")
    if not base:
        return None
    return f"{base}?period={period.pk}&unit={unit_id}" if unit_id else f"{base}?period={period.pk}"


# --- request plumbing ----------------------------------------------------------------------------------------


def _check(request) -> None:
    require(request.user, "figures.read")


def _periods(request) -> list[Period]:
    """Every period, read once per request: the selector lists them and the default is found among them."""
    if not hasattr(request, "_rollup_periods"):
        request._rollup_periods = list(Period.objects.order_by("-year", "-quarter"))
    return request._rollup_periods


def _period(request, today: dt.date) -> tuple[Period | None, str | None]:
    try:
        value = request.GET.get("period")
        return rollups.period_resolve(value=value, today=today, periods=_periods(request)), None
    except ApplicationError as e:
        return None, e.message


def _sort(request, table: Table, default: str, default_desc: bool = False) -> tuple[str, bool]:
    keys = {c.key for c in table.columns if c.sortable}
    raw = (request.GET.get("sort") or "").strip()
    desc = raw.startswith("-")
    key = raw.lstrip("-")
    if key not in keys:
        return default, default_desc
    return key, desc


def _apply_sort(table: Table, key: str, desc: bool) -> None:
    index = next(i for i, c in enumerate(table.columns) if c.key == key)

    def sort_key(pair):
        value = pair[0][index].value
        missing = value is None or value == ""
        return (missing, value if not missing else 0)

    pairs = list(zip(table.rows, table.row_css or [""] * len(table.rows), strict=True))
    present = [p for p in pairs if not sort_key(p)[0]]
    absent = [p for p in pairs if sort_key(p)[0]]
    present.sort(key=lambda p: p[0][index].value, reverse=desc)
    ordered = present + absent  # rows without a value stay last either way
    table.rows = [p[0] for p in ordered]
    table.row_css = [p[1] for p in ordered]


def _header_links(request, table: Table, key: str, desc: bool) -> list[dict]:
    out = []
    for c in table.columns:
        link = None
        if c.sortable:
            params = request.GET.copy()
            params.pop("format", None)
            params["sort"] = c.key if (c.key != key or desc) else f"-{c.key}"
            link = f"?{params.urlencode()}"
        out.append(
            {"label": c.label, "url": link, "active": c.key == key, "desc": desc, "numeric": c.numeric}
        )
    return out


def _export_url(request) -> str:
    params = request.GET.copy()
    params["format"] = "xlsx"
    return f"?{params.urlencode()}"


def _wants_xlsx(request) -> bool:
    return request.GET.get("format") == "xlsx"


def _base_context(request, *, period, error, title):
    return {
        "title": title,
        "period": period,
        "periods": _periods(request),
        "error": error,
        "export_url": _export_url(request),
        "sort": request.GET.get("sort", ""),
    }


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
    table = Table(columns=cols)
    period = rollup.period
    for r in rollup.rows:
        u = {"unit": r.unit_id}
        rep = reports_url(user, period=period, unit_id=r.unit_id)
        cells = [Cell(value=r.unit, display=r.unit, url=tasks_url(**u)), _n(r.tasks, tasks_url(**u))]
        if not county:
            cells += [_n(r.led, tasks_url(lead_unit=r.unit_id)), _n(r.shared, tasks_url(**u))]
        cells += [
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
        table.rows.append(cells)
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


def plan_table(plans: list[rollups.PlanRow]) -> Table:
    table = Table(
        columns=[
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
    )
    for plan in plans:
        doc = {"document": plan.document_id}
        name = f"{plan.doc_number} {plan.title}".strip()
        table.rows.append(
            [
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
        )
        table.row_css.append("plan")
        for a in plan.areas:
            # The ledger has no filter by area yet, so area figures are not links (a link to the whole plan
            # would show other numbers than the cell).
            label = f"　{a.area}、" if a.area else "　（未分领域）"
            table.rows.append(
                [
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


def _task_rows(items: list[dash.TaskItem], *, overdue: bool, user=None) -> Table:
    """Overdue or due-soon tasks: 文号 (a path like 二.(一).1 exists in several plans), the lead and the shared
    (配合) units — for a reporter, its own part — and the days as words."""
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
    table = Table(columns=columns)
    light = "overdue" if overdue else "due_soon"
    for t in items:
        detail = _url_or_none("tasks:detail", t.id)
        lead = "、".join(t.lead_units)
        lead_url = tasks_url(lead_unit=t.lead_unit_ids[0], light=light) if t.lead_unit_ids else None
        due = t.open_due.strftime("%Y-%m-%d") if t.open_due else ""
        days = -t.days if overdue else t.days
        row = [
            Cell(value=t.document, display=t.document, css="nowrap"),
            Cell(value=t.path_key, display=t.path_key, url=detail, css="nowrap"),
            Cell(value=t.title, display=t.title, url=detail),
        ]
        if own_unit:
            share = "牵头" if own_unit in t.lead_unit_ids else "配合"
            row.append(Cell(value=share, display=share))
        row += [
            Cell(value=lead, display=lead, url=lead_url),
            Cell(value="、".join(t.shared_units), display=_names(t.shared_units) or "—"),
            Cell(value=t.open_due, display=due, css="nowrap"),
            Cell(value=t.days, display=days_text(days), css=("hot" if overdue else "warm") + " nowrap"),
            Cell(value=t.light_reason, display=t.light_reason, css="reason-cell"),
        ]
        table.rows.append(row)
    return table


def _ranking_table(units: list[dash.RankItem], *, user, period: Period, mid_period: bool = False) -> Table:
    # Before the due date every report in is on time: the share is "submitted so far", and is called so.
    table = Table(
        columns=[
            Column("rank", "名次", width=6, sortable=False),
            Column("unit", "单位", width=26, numeric=False, sortable=False),
            Column("overdue", "超期任务", sortable=False),
            Column("tasks", "任务数", sortable=False),
            Column("reports_due", "应报", sortable=False),
            Column("reports_on_time", "已提交" if mid_period else "按时报送", sortable=False),
            Column("on_time_rate", "已提交比例" if mid_period else "按时率", sortable=False, kind=PERCENT),
            Column("behind", "欠进度", sortable=False),
        ]
    )
    for i, u in enumerate(units, start=1):
        overdue_url = tasks_url(unit=u.unit_id, light="overdue")
        rep = reports_url(user, period=period, unit_id=u.unit_id)
        table.rows.append(
            [
                _n(i),
                Cell(value=u.unit, display=u.unit, url=overdue_url, css="unit-link"),
                _n(u.overdue, overdue_url, "hot" if u.overdue else ""),
                _n(u.tasks, tasks_url(unit=u.unit_id)),
                _n(u.reports_due, rep),
                _n(u.reports_on_time, rep),
                _rate(u.on_time_rate),
                _n(u.behind, tasks_url(unit=u.unit_id, pace="behind"), "warm" if u.behind else ""),
            ]
        )
    return table


def _targets_table(items: list[dash.TargetItem]) -> Table:
    table = Table(
        columns=[
            Column("task", "任务", width=36, numeric=False, sortable=False),
            Column("target", "指标", width=36, numeric=False, sortable=False),
            Column("latest", "最新值", width=12, numeric=False, sortable=False),
            Column("due", "到期日", width=12, numeric=False, sortable=False, kind=DATE),
            Column("days", "到期", sortable=False),
        ]
    )
    for t in items:
        latest = f"{t.latest_value.normalize():f}{t.unit}" if t.latest_value is not None else "尚无填报值"
        task = f"{t.task_path} {t.task_title}"
        table.rows.append(
            [
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
        )
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


urlpatterns: list = [
    path("reports/dashboard/", dashboard, name="dashboard"),
    path("reports/rollups/departments/", rollup_departments, name="rollup-departments"),
    path("reports/rollups/counties/", rollup_counties, name="rollup-counties"),
    path("reports/rollups/plans/", rollup_plans, name="rollup-plans"),
    path("reports/rollups/trend/", rollup_trend, name="rollup-trend"),
]
