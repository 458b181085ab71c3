"""Roll-up pages, Excel downloads and API on the hand-built ledger: figures, links, permissions, bad input."""

import io
import json
import re

import openpyxl
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from departments.models import AuditEntry
from reform_ledger.spreadsheets import Column, Sheet, render_xlsx
from reports.models import Report, ReportStatus
from tasks.models import Progress

NOW = "2024-09-10 10:00 +08:00"

API_KEYS = {
    "unit",
    "tasks",
    "completed",
    "on_track",
    "overdue",
    "reports_due",
    "reports_on_time",
    "reports_late",
    "reports_missing",
    "targets_met",
    "targets_total",
}

PAGES = [
    "reports:dashboard",
    "reports:rollup-departments",
    "reports:rollup-counties",
    "reports:rollup-plans",
    "reports:rollup-trend",
]


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(NOW, tick=False):
        yield


def sheet_rows(response):
    wb = openpyxl.load_workbook(io.BytesIO(response.content))
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def test_departments_api_gives_one_row_per_unit_with_exactly_the_contract_fields(ledger, leader_user, api_as):
    r = api_as(leader_user).get("/api/rollups/departments/", {"period": ledger.q3.pk})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"count", "next", "previous", "results"}
    rows = {row["unit"]: row for row in body["results"]}
    assert all(set(row) == API_KEYS for row in body["results"])
    assert rows["市医疗保障局"] == dict(
        unit="市医疗保障局",
        tasks=4,
        completed=1,
        on_track=2,
        overdue=1,
        reports_due=4,
        reports_on_time=1,
        reports_late=1,
        reports_missing=2,
        targets_met=3,
        targets_total=5,
    )
    assert "叶县政府" not in rows


def test_counties_api_defaults_to_the_open_period(ledger, leader_user, api_as):
    r = api_as(leader_user).get("/api/rollups/counties/")
    assert r.status_code == 200
    rows = {row["unit"]: row for row in r.json()["results"]}
    assert set(rows) == {"叶县政府", "鲁山县政府"}
    assert rows["鲁山县政府"]["reports_late"] == 1 and rows["鲁山县政府"]["overdue"] == 1


@pytest.mark.parametrize("value, message", [("999999", "不存在"), ("abc", "无效")])
def test_rollup_api_refuses_an_unknown_period_in_chinese(ledger, leader_user, api_as, value, message):
    r = api_as(leader_user).get("/api/rollups/departments/", {"period": value})
    assert r.status_code == 400
    assert message in r.json()["detail"] and r.json()["field"] == "period"


def test_rollup_api_without_any_period_answers_400(db, leader_user, api_as):
    r = api_as(leader_user).get("/api/rollups/counties/")
    assert r.status_code == 400 and "填报期" in r.json()["detail"]


def test_reporter_gets_only_its_own_units_row_from_the_api(ledger, reporter, api_as):
    r = api_as(reporter).get("/api/rollups/departments/", {"period": ledger.q3.pk})
    assert [row["unit"] for row in r.json()["results"]] == ["市医疗保障局"]
    assert api_as(reporter).get("/api/rollups/counties/").json()["count"] == 0


def test_rollup_api_needs_authentication_and_refuses_the_auditor(ledger, api_client, auditor, api_as):
    assert api_client.get("/api/rollups/departments/").status_code in (401, 403)
    assert api_client.get("/api/dashboard/overdue/").status_code in (401, 403)
    r = api_as(auditor).get("/api/dashboard/overdue/")
    assert r.status_code == 403 and "看板" in r.json()["detail"]


def test_dashboard_api_lists_overdue_due_soon_and_ranked_units(ledger, leader_user, api_as):
    r = api_as(leader_user).get("/api/dashboard/overdue/")
    assert r.status_code == 200
    body = r.json()
    assert [t["id"] for t in body["overdue"]] == [ledger.t1.pk]
    assert body["overdue"][0]["days"] == 72 and "已过期 72 天" in body["overdue"][0]["light_reason"]
    assert body["overdue"][0]["lead_units"] == ["市医疗保障局"]
    assert [t["id"] for t in body["due_soon"]] == [ledger.t3.pk]
    assert [u["unit"] for u in body["units"]] == [
        "鲁山县政府",
        "市医疗保障局",
        "市财政局",
        "叶县政府",
        "市卫生健康委",
    ]
    assert body["on_time_rate"] == pytest.approx(4 / 12) and body["on_time_rate_previous"] == pytest.approx(
        2 / 12
    )
    assert [t["id"] for t in body["targets_at_risk"]] == [
        ledger.targets.t1_open.pk,
        ledger.targets.t3_open.pk,
    ]


def test_dashboard_api_refuses_a_bad_limit(ledger, leader_user, api_as):
    r = api_as(leader_user).get("/api/dashboard/overdue/", {"limit": "0"})
    assert r.status_code == 400 and r.json()["field"] == "limit"


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitor_is_sent_to_login(client, ledger, name):
    r = client.get(reverse(name))
    assert r.status_code == 302 and reverse("departments:login") in r["Location"]


@pytest.mark.parametrize("name", PAGES)
def test_auditor_may_not_open_rollup_pages(client_as, ledger, auditor, name):
    assert client_as(auditor).get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", PAGES)
def test_unknown_period_on_a_page_answers_400_with_a_message(client_as, ledger, leader_user, name):
    r = client_as(leader_user).get(reverse(name), {"period": "999999"})
    assert r.status_code == 400
    assert "填报期“999999”不存在" in r.content.decode()


def test_department_page_links_each_number_to_the_tasks_behind_it(client_as, ledger, leader_user):
    r = client_as(leader_user).get(reverse("reports:rollup-departments"), {"period": ledger.q3.pk})
    html = r.content.decode()
    a = ledger.a.pk
    assert f'href="/tasks/?unit={a}&amp;light=overdue"' in html
    assert f'href="/tasks/?lead_unit={a}"' in html
    assert f'href="/tasks/?unit={a}&amp;light=due_soon"' in html
    status = reverse("reports:period-status")
    assert f'href="{status}?period={ledger.q3.pk}&amp;unit={a}"' in html
    assert 'data-testid="xlsx-download"' in html


def test_department_page_sorts_by_a_column_and_the_excel_follows(client_as, ledger, leader_user):
    c = client_as(leader_user)
    r = c.get(reverse("reports:rollup-departments"), {"period": ledger.q3.pk, "sort": "-tasks"})
    html = r.content.decode()
    assert html.index("市医疗保障局") < html.index("市财政局") < html.index("市卫生健康委")
    x = c.get(
        reverse("reports:rollup-departments"), {"period": ledger.q3.pk, "sort": "-tasks", "format": "xlsx"}
    )
    assert x["Content-Type"].startswith("application/vnd.openxmlformats")
    (rows,) = sheet_rows(x).values()
    assert "部门汇总" in rows[0][0]
    header = rows[1]
    assert header[:4] == ["单位", "任务数", "牵头", "参与"]
    names = [row[0] for row in rows[2:]]
    assert names[:3] == ["市医疗保障局", "市财政局", "市卫生健康委"]
    a = rows[2]
    assert dict(zip(header, a, strict=True)) | {} == {
        "单位": "市医疗保障局",
        "任务数": 4,
        "牵头": 3,
        "参与": 1,
        "已完成": 1,
        "序时推进·正常": 1,
        "序时推进·临期": 1,
        "超期": 1,
        "超进度": 0,
        "达进度": 0,
        "欠进度": 0,
        "未启动": 0,
        "无法判断": 3,  # the fixture's tasks have no plan start or reported data for 序时进度
        "应报": 4,
        "按时报送": 1,
        "逾期报送": 1,
        "未报": 2,
        "按时率": 0.25,
        "指标达标": 3,
        "到期指标": 5,
    }
    assert rows[-1][0] == "合计"
    ws = openpyxl.load_workbook(io.BytesIO(x.content)).active
    rate = ws.cell(row=3, column=header.index("按时率") + 1)
    assert rate.number_format == "0.0%" and rate.data_type == "n"
    export = AuditEntry.objects.get(action="export", object_type="rollup_departments")
    assert export.actor == leader_user and export.changes["rows"] == [None, len(rows) - 2]
    assert export.changes["filters"][1] == {"period": str(ledger.q3.pk), "sort": "-tasks"}


def test_reporter_page_shows_only_its_own_unit(client_as, ledger, reporter):
    html = client_as(reporter).get(reverse("reports:rollup-departments")).content.decode()
    assert "市医疗保障局" in html and "市财政局" not in html


def test_county_page_and_excel_show_the_counties(client_as, ledger, leader_user):
    c = client_as(leader_user)
    html = c.get(reverse("reports:rollup-counties")).content.decode()
    assert "叶县政府" in html and "鲁山县政府" in html and "市财政局" not in html
    (rows,) = sheet_rows(c.get(reverse("reports:rollup-counties"), {"format": "xlsx"})).values()
    assert sorted(r[0] for r in rows[2:-1]) == ["叶县政府", "鲁山县政府"]


def test_plan_page_and_excel_show_plan_and_areas(client_as, ledger, leader_user):
    c = client_as(leader_user)
    html = c.get(reverse("reports:rollup-plans")).content.decode()
    assert "测办〔2024〕1号" in html and f'href="/tasks/?document={ledger.doc.pk}&amp;light=overdue"' in html
    (rows,) = sheet_rows(c.get(reverse("reports:rollup-plans"), {"format": "xlsx"})).values()
    assert [r[0] for r in rows[2:]] == ["测办〔2024〕1号 测试市深化医改实施方案", "一、", "二、", "三、"]
    assert rows[2][1:6] == [5, 1, 2, 1, 1]


def test_trend_page_carries_chart_data_and_excel_has_one_row_per_quarter(client_as, ledger, leader_user):
    c = client_as(leader_user)
    r = c.get(reverse("reports:rollup-trend"))
    html = r.content.decode()
    assert 'id="trend-chart-data"' in html and "<script>" not in html
    data = json.loads(re.search(r'id="trend-chart-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert data["on_time"] == [2, 4] and data["missing"] == [9, 5]
    (rows,) = sheet_rows(c.get(reverse("reports:rollup-trend"), {"format": "xlsx"})).values()
    assert [r[0] for r in rows[2:]] == [ledger.q2.label, ledger.q3.label]
    assert rows[3][1:5] == [12, 4, 3, 5]


def test_dashboard_page_shows_overdue_tasks_ranking_and_charts(client_as, ledger, leader_user):
    html = client_as(leader_user).get(reverse("reports:dashboard")).content.decode()
    assert "已过期 72 天" in html
    assert f'href="/tasks/?unit={ledger.k2.pk}&amp;light=overdue"' in html
    assert 'data-chart="units"' in html and 'id="dashboard-chart-data"' in html
    assert (
        "vendor/echarts/echarts.min.js" in html and "js/dashboard.js" in html and "css/dashboard.css" in html
    )
    assert "<script>" not in html  # no inline script (CSP): chart data goes in json_script
    # 2024-09-10 is before the period's due date (09-20): no report is due yet, so no rate, and the page says so
    rates = html[html.index('data-testid="rates-table"') : html.index('data-testid="mid-period-note"')]
    assert "33.3%" not in rates and "16.7%" in rates and "截止日 09-20 后统计" in rates
    assert "已提交比例" in html  # the ranking's share is called what it is mid-period
    assert "已超期 72 天" in html and "距到期" not in html


def test_after_the_due_date_the_dashboard_compares_the_on_time_rate_with_the_quarter_before(
    client_as, ledger, leader_user
):
    with time_machine.travel("2024-09-21 10:00 +08:00", tick=False):
        html = client_as(leader_user).get(reverse("reports:dashboard")).content.decode()
    assert "33.3%" in html and "16.7%" in html and 'data-testid="mid-period-note"' not in html


def test_dashboard_excel_has_one_sheet_per_section(client_as, ledger, leader_user):
    x = client_as(leader_user).get(reverse("reports:dashboard"), {"format": "xlsx"})
    sheets = sheet_rows(x)
    assert list(sheets) == ["超期任务", "临期任务", "单位排名", "按时报送率", "风险指标"]
    # 文号 first (a path like 一.(一).1 exists in several plans), the days overdue as a number
    assert sheets["超期任务"][1][:2] == ["文号", "编号"] and sheets["超期任务"][2][1] == "一.(一).1"
    assert sheets["超期任务"][1][6] == "超期" and sheets["超期任务"][2][6] == 72
    wb = openpyxl.load_workbook(io.BytesIO(x.content))
    due = wb["超期任务"].cell(row=3, column=6)
    assert due.is_date and due.number_format == "yyyy-mm-dd"  # a date, not the text '2020-12-31'
    assert wb["风险指标"].cell(row=3, column=4).is_date
    assert wb["按时报送率"].cell(row=4, column=2).number_format == "0.0%"
    assert [r[1] for r in sheets["单位排名"][2:]] == [
        "鲁山县政府",
        "市医疗保障局",
        "市财政局",
        "叶县政府",
        "市卫生健康委",
    ]
    # mid-period (2024-09-10, due 09-20) this period's rate is not given yet; the quarter before is a fraction
    assert sheets["按时报送率"][2][1] is None and sheets["按时报送率"][3][1] == pytest.approx(1 / 6)
    assert len(sheets["风险指标"]) == 4


def test_excel_writes_formula_like_text_as_text():
    sheet = Sheet(
        name="t",
        title="=cmd|' /C calc'!A0",
        columns=[Column("a"), Column("b")],
        rows=[["=1+1", "+SUM(A1)"], ["-2", "@x"], ["\tz", 5]],
    )
    ws = openpyxl.load_workbook(io.BytesIO(render_xlsx([sheet]))).active
    cells = [ws["A1"], ws["A3"], ws["B3"], ws["A4"], ws["B4"], ws["A5"]]
    assert all(c.data_type == "s" for c in cells)
    assert ws["A3"].value == "=1+1" and ws["B5"].value == 5
    assert ws.freeze_panes == "A3"


@pytest.mark.parametrize("path", ["/api/rollups/departments/", "/api/rollups/counties/"])
def test_api_schema_describes_the_rollup_lists_as_the_paginated_object_they_return(path):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    get = schema["paths"][path]["get"]
    assert {p["name"] for p in get["parameters"]} >= {"period", "page", "page_size"}
    ref = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert page["type"] == "object"
    assert set(page["properties"]) == {"count", "next", "previous", "results"}
    row_ref = page["properties"]["results"]["items"]["$ref"]
    row = schema["components"]["schemas"][row_ref.rsplit("/", 1)[1]]
    assert set(row["properties"]) == {
        "unit", "tasks", "completed", "on_track", "overdue", "reports_due", "reports_on_time",
        "reports_late", "reports_missing", "targets_met", "targets_total",
    }  # fmt: skip


def _tbody(html: str) -> str:
    return html[html.index("<tbody") : html.index("</tbody>")]


def _unit_row(html: str, name: str) -> str:
    start = html.index(f">{name}</a>")
    return html[html.rindex("<tr", 0, start) : html.index("</tr>", start)]


def test_department_rows_come_from_the_row_cache_only_while_their_figures_are_unchanged(
    client_as, ledger, leader_user
):
    from reports.views.tables import ROW_HTML

    ROW_HTML.rows.clear()
    c = client_as(leader_user)
    page = {"period": ledger.q3.pk}
    first = c.get(reverse("reports:rollup-departments"), page).content.decode()
    cached = len(ROW_HTML.rows)
    assert cached >= 3
    again = c.get(reverse("reports:rollup-departments"), page).content.decode()
    assert (
        _tbody(again) == _tbody(first) and len(ROW_HTML.rows) == cached
    )  # all from the cache, the same HTML
    # B's returned report on T1 is submitted: B's row changes (one more on time), A's stays as it was.
    report = Report.objects.get(task=ledger.t1, unit=ledger.b, period=ledger.q3)
    report.status = ReportStatus.SUBMITTED
    report.save()
    after = c.get(reverse("reports:rollup-departments"), page).content.decode()
    assert _unit_row(after, "市医疗保障局") == _unit_row(first, "市医疗保障局")
    assert _unit_row(after, "市财政局") != _unit_row(first, "市财政局")
    assert len(ROW_HTML.rows) == cached + 1  # only B's row was built again
    ROW_HTML.rows.clear()
    assert _tbody(c.get(reverse("reports:rollup-departments"), page).content.decode()) == _tbody(after)


def _task_queries(client, url, params) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as ctx:
        html = client.get(url, params).content.decode()
    return html, sum('"tasks_task"' in q["sql"] for q in ctx.captured_queries)


@pytest.mark.django_db(transaction=True)
def test_plan_and_trend_rollups_are_cached_until_what_they_count_changes(
    client_as, ledger, leader_user, reporter
):
    c = client_as(leader_user)
    plans, trend = reverse("reports:rollup-plans"), reverse("reports:rollup-trend")
    page = {"period": ledger.q3.pk}
    first, n = _task_queries(c, plans, page)
    assert n > 0
    again, n = _task_queries(c, plans, page)
    assert n == 0 and _tbody(again) == _tbody(first)  # from the cache
    _t, n = _task_queries(c, trend, page)
    assert n > 0
    _t, n = _task_queries(c, trend, page)
    assert n == 0
    # A report saved: the trend counts reports and is computed again; the plans count tasks only and are not.
    report = Report.objects.get(task=ledger.t1, unit=ledger.b, period=ledger.q3)
    report.status = ReportStatus.SUBMITTED
    report.save()
    assert _task_queries(c, plans, page)[1] == 0
    assert _task_queries(c, trend, page)[1] > 0
    # A task completed: the plan's figures change at once.
    completed = re.search(
        r"测试市深化医改实施方案</a></td><td[^>]*><a[^>]*>\d+</a></td><td[^>]*><a[^>]*>(\d+)<", first
    )
    ledger.t4.status = Progress.COMPLETED
    ledger.t4.save()
    after, n = _task_queries(c, plans, page)
    assert n > 0
    now = re.search(
        r"测试市深化医改实施方案</a></td><td[^>]*><a[^>]*>\d+</a></td><td[^>]*><a[^>]*>(\d+)<", after
    )
    assert int(now.group(1)) == int(completed.group(1)) + 1
    # Another audience has its own entry: a reporter's plans count its own unit's tasks only.
    own, n = _task_queries(client_as(reporter), plans, page)
    assert n > 0 and _tbody(own) != _tbody(after)


def _tbodies(html: str) -> list[str]:
    return re.findall(r"<tbody.*?</tbody>", html, re.S)


def test_dashboard_rows_come_from_the_row_cache_only_while_what_they_show_is_unchanged(
    client_as, ledger, leader_user
):
    """The overdue, due-soon, ranking and at-risk rows are kept as HTML (`LazyRow`): a task retitled or a lead
    unit renamed shows at once, and a reporter's rows (with its own part) are never a leader's."""
    from reports.views.tables import ROW_HTML
    from tasks.models import Task

    ROW_HTML.rows.clear()
    c = client_as(leader_user)
    first = c.get(reverse("reports:dashboard")).content.decode()
    cached = len(ROW_HTML.rows)
    assert cached >= 4
    again = c.get(reverse("reports:dashboard")).content.decode()
    assert _tbodies(again) == _tbodies(first) and len(ROW_HTML.rows) == cached
    Task.objects.filter(pk=ledger.t1.pk).update(title="县域医共体建设（修订）")
    ledger.a.name = "市医疗保障局（更名）"
    ledger.a.save()
    after = c.get(reverse("reports:dashboard")).content.decode()
    assert "县域医共体建设（修订）" in after and "市医疗保障局（更名）" in after
    assert "市医疗保障局</a>" not in after
    ROW_HTML.rows.clear()
    assert _tbodies(c.get(reverse("reports:dashboard")).content.decode()) == _tbodies(after)
