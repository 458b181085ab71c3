"""What the roll-up pages and the dashboard share: a table written once for the page and for Excel (cells with
their value, display text, link and style), links into the ledger, and the request plumbing (period, sort, export)."""

from __future__ import annotations

import datetime as dt
import functools
import html
from collections import OrderedDict
from dataclasses import dataclass, field
from urllib.parse import quote_plus

from django.urls import NoReverseMatch, reverse
from django.utils.safestring import mark_safe

from departments.permissions import has, require
from departments.services import ApplicationError, export_audit
from reform_ledger.spreadsheets import (
    INTEGER,
    TEXT,
    Sheet,
    render_xlsx,
    xlsx_response,
)
from reform_ledger.spreadsheets import Column as SheetColumn
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


class LazyRow:
    """A table row whose cells are built only when something needs them (the Excel download, a row whose HTML
    is not cached): `values` are the cells' values in column order (what sorting reads), `key` everything its
    HTML depends on, so that the HTML of an unchanged row is reused (`Table.body_html`)."""

    __slots__ = ("values", "key", "_build", "_cells")

    def __init__(self, values: tuple, key: tuple, build):
        self.values, self.key, self._build, self._cells = values, key, build, None

    @property
    def cells(self) -> list[Cell]:
        if self._cells is None:
            self._cells = self._build()
        return self._cells

    def __iter__(self):
        return iter(self.cells)

    def __getitem__(self, index):
        return self.cells[index]

    def __len__(self):
        return len(self.values)


class _RowHtml:
    """The HTML of rows (LazyRow.key -> HTML), least recently used first out. At province scale a roll-up page
    is 300 rows x 21 linked cells: building and escaping them took most of the page's time, and between two
    requests few rows change (a report moves one unit's row). Bounded: 300 units x a few periods and readers."""

    def __init__(self, size: int = 4000):
        self.size, self.rows = size, OrderedDict()

    # KeyError: another thread of the same worker (gunicorn --threads) evicted the row meanwhile; harmless.
    def get(self, key):
        html_ = self.rows.get(key)
        if html_ is not None:
            try:
                self.rows.move_to_end(key)
            except KeyError:
                pass
        return html_

    def put(self, key, html_: str) -> None:
        self.rows[key] = html_
        while len(self.rows) > self.size:
            try:
                self.rows.popitem(last=False)
            except KeyError:
                break


ROW_HTML = _RowHtml()


@dataclass
class Table:
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)
    total: list[Cell] | None = None
    row_css: list[str] = field(default_factory=list)
    # What besides a LazyRow's key its HTML depends on: the columns (their labels), set by lazy tables.
    html_key: tuple = ()

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
            key = (self.html_key, row_css, row.key) if row.__class__ is LazyRow else None
            if key is not None and (cached := ROW_HTML.get(key)) is not None:
                out.append(cached)
                continue
            cells = []
            for cell, is_num, label in zip(row, numeric, labels, strict=False):
                klass = (("num " if is_num else "") + cell.css).strip()
                text = esc(str(cell.display))
                inner = f'<a href="{esc(cell.url)}">{text}</a>' if cell.url else text
                cells.append(
                    f'<td class="{klass}"{label}>{inner}</td>' if klass else f"<td{label}>{inner}</td>"
                )
            line = (f'<tr class="{esc(row_css)}">' if row_css else "<tr>") + "".join(cells) + "</tr>"
            if key is not None:
                ROW_HTML.put(key, line)
            out.append(line)
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
        rows = [list(r.values) if r.__class__ is LazyRow else [c.value for c in r] for r in self.rows]
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


def unit_reports_url(user, *, period: Period):
    """`reports_url` of each unit of a table, as a function of the unit id: the user's rights are asked once per
    table, not twice per row (300 rows at province scale)."""
    base = reports_url(user, period=period)
    if base is None or not has(user, "reports.read_all"):
        return lambda unit_id: base
    return lambda unit_id: f"{base}&unit={unit_id}" if unit_id else base


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

    def value(pair):  # a lazy row sorts on its values, without building its cells
        row = pair[0]
        return row.values[index] if row.__class__ is LazyRow else row[index].value

    pairs = list(zip(table.rows, table.row_css or [""] * len(table.rows), strict=True))
    present = [p for p in pairs if value(p) not in (None, "")]
    absent = [p for p in pairs if value(p) in (None, "")]
    present.sort(key=value, reverse=desc)
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
