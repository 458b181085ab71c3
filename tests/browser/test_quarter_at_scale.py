"""Browser journeys of a quarter at real size (issue 16): a reporter with 30 tasks at 1366 and 390 px, the
secretariat's review queue, the leaders' first screen and its print, the dashboard on a phone, the audit log.
Headless Debian Chromium against a live server."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from departments.models import Role, UnitKind
from reports.models import Period, Report, ReportStatus, default_due_date
from reports.services import report_get_or_create_for, report_save_draft, report_submit
from tests.browser.helpers import login
from tests.factories import DocumentFactory, TargetFactory, TaskFactory, UnitFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Ledger#2026"
PHONE = {"width": 390, "height": 844}


def _open_period() -> Period:
    today = timezone.localdate()
    quarter = (today.month - 1) // 3 + 1
    due = max(default_due_date(today.year, quarter), today + dt.timedelta(days=1))
    return Period.objects.create(year=today.year, quarter=quarter, due_date=due, is_open=True)


@pytest.fixture
def unit_with_thirty_tasks():
    period = _open_period()
    health = UnitFactory(name="市卫生健康委", short_name="市卫健委")
    other = UnitFactory(name="市财政局")
    UserFactory(username="weijianwei", role=Role.REPORTER, unit=health, password=PASSWORD)
    doc = DocumentFactory(doc_number="平办〔2020〕7号")
    tasks = [TaskFactory(document=doc, lead=[health], title=f"牵头任务{i:02d}") for i in range(20)]
    tasks += [
        TaskFactory(document=doc, lead=[other], responsible=[health], title=f"配合任务{i:02d}")
        for i in range(10)
    ]
    target = TargetFactory(task=tasks[17], indicator="县域就诊率", op=">=", value=Decimal("90"), unit="%")
    return period, health, tasks, target


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


def test_one_bad_value_among_thirty_tasks_keeps_the_other_twenty_nine(
    browser_page, live_url, unit_with_thirty_tasks
):
    page = browser_page
    period, health, tasks, target = unit_with_thirty_tasks
    login(page, live_url, "weijianwei", PASSWORD)
    assert page.locator("[data-testid=form-index] .index-list li[data-task]").count() == 30
    assert page.locator("#form-index").evaluate("d => d.open")  # the index is open beside the cards
    for i, t in enumerate(tasks):
        page.fill(f"textarea[name=t{t.pk}-text]", f"第{i}项本季度进展")
    page.fill(f"input[name=t{tasks[17].pk}-target-{target.pk}]", "五十")
    with page.expect_navigation():
        page.click("[data-testid=save-draft]")

    assert Report.objects.filter(period=period, unit=health).count() == 29
    errors = page.locator("[data-testid=form-errors]").inner_text()
    assert "牵头任务17" in errors and "指标实际值" in errors and "五十" in errors
    focused = page.evaluate("document.activeElement && document.activeElement.name")
    assert focused == f"t{tasks[17].pk}-target-{target.pk}"  # the faulty field has the focus
    assert page.input_value(f"input[name=t{tasks[17].pk}-target-{target.pk}]") == "五十"  # kept as typed
    assert page.input_value(f"textarea[name=t{tasks[17].pk}-text]") == "第17项本季度进展"

    # The reporter fixes it; the save brings the page back at the card in view, not at the top.
    page.fill(f"input[name=t{tasks[17].pk}-target-{target.pk}]", "50")
    page.locator(f"#task-{tasks[17].pk}").scroll_into_view_if_needed()
    with page.expect_navigation():
        page.click("[data-testid=save-draft]")
    assert "已保存 1 项草稿" in page.locator(".messages").inner_text()
    assert "#task-" in page.url and page.evaluate("window.scrollY") > 1000

    # The index filters by share (配合) and by state.
    page.select_option("[data-testid=filter-share]", "shared")
    assert page.locator(".report-row:visible").count() == 10
    page.select_option("[data-testid=filter-share]", "")
    page.select_option("[data-testid=filter-state]", "draft")
    assert page.locator(".report-row:visible").count() == 30
    # the partly refused save answered 400 (the page lists what to fix); nothing else went wrong
    assert [e for e in page.console_errors if "status of 400" not in e] == []


def test_submit_all_with_some_empty_submits_the_rest_and_lists_the_empty_ones(
    browser_page, live_url, unit_with_thirty_tasks
):
    page = browser_page
    page.on("dialog", lambda dialog: dialog.accept())  # 全部提交 asks first
    period, health, tasks, target = unit_with_thirty_tasks
    login(page, live_url, "weijianwei", PASSWORD)
    for t in tasks[:25]:
        page.fill(f"textarea[name=t{t.pk}-text]", "按计划推进")
    page.select_option(f"select[name=t{tasks[25].pk}-quick]", "not_applicable")
    page.fill(f"input[name=t{tasks[25].pk}-quick_reason]", "本单位本季度不涉及")
    with page.expect_navigation():
        page.click("[data-testid=submit-all]")
    submitted = Report.objects.filter(period=period, unit=health, status=ReportStatus.SUBMITTED)
    assert submitted.count() == 26
    assert submitted.get(task=tasks[25]).text == "不涉及：本单位本季度不涉及"
    leftover = page.locator("[data-testid=form-leftover]")
    assert leftover.locator("li").count() == 4 and "未填写本期进展情况" in leftover.inner_text()
    assert page.locator(f"[data-testid=index-state-{tasks[0].pk}]").inner_text() == "已提交"
    assert page.locator(f"[data-testid=index-state-{tasks[29].pk}]").inner_text() == "未填"
    assert page.console_errors == []


def test_the_reporter_form_on_a_phone(browser_page, live_url, unit_with_thirty_tasks):
    page = browser_page
    page.set_viewport_size(PHONE)
    period, health, tasks, target = unit_with_thirty_tasks
    login(page, live_url, "weijianwei", PASSWORD)
    assert _no_sideways_scroll(page)
    assert not page.locator("[data-testid=mainnav]").is_visible()  # the menu is folded
    page.click("[data-testid=nav-toggle]")
    assert page.locator("[data-testid=mainnav]").is_visible()
    nav_box = page.locator("[data-testid=mainnav] a").first.bounding_box()
    assert nav_box["width"] > 60  # items on one line each, not one character per line
    page.click("[data-testid=nav-toggle]")
    index = page.locator("#form-index")
    assert not index.evaluate("d => d.open")  # folded on a phone
    page.click("#form-index > summary")
    page.click(f".index-list a[href='#task-{tasks[12].pk}']")
    assert page.url.endswith(f"#task-{tasks[12].pk}")
    assert not index.evaluate("d => d.open")  # folds again after the jump
    box = page.locator(f"#task-{tasks[12].pk}").bounding_box()
    assert 0 <= box["y"] < PHONE["height"] / 2
    page.fill(f"textarea[name=t{tasks[12].pk}-text]", "手机上填写")
    with page.expect_navigation():
        page.click("[data-testid=save-draft]")
    assert Report.objects.get(task=tasks[12]).text == "手机上填写"
    assert _no_sideways_scroll(page)
    assert page.console_errors == []


def test_the_review_queue_batch_accepts_and_goes_on_to_the_next(browser_page, live_url):
    page = browser_page
    page.on("dialog", lambda dialog: dialog.accept())
    period = _open_period()
    health = UnitFactory(name="市卫生健康委")
    finance = UnitFactory(name="市财政局")
    sec_unit = UnitFactory(name="市医改办", kind=UnitKind.SECRETARIAT)
    UserFactory(username="yigaiban", role=Role.SECRETARIAT, unit=sec_unit, password=PASSWORD)
    reports = []
    for unit in (health, finance):
        reporter = UserFactory(role=Role.REPORTER, unit=unit)
        for i in range(3):
            task = TaskFactory(lead=[unit], title=f"{unit.name}任务{i}")
            report, _ = report_get_or_create_for(task=task, unit=unit, period=period, actor=reporter)
            report = report_save_draft(report=report, data={"text": "进展"}, version=None, actor=reporter)
            reports.append(report_submit(report=report, actor=reporter))
    login(page, live_url, "yigaiban", PASSWORD)
    page.click("[data-testid=queue-link]")
    assert page.locator("[data-testid=queue-group]").count() == 2
    page.check(f"[data-testid=pick-{reports[0].pk}]")
    page.check(f"[data-testid=pick-{reports[1].pk}]")
    assert page.locator(".js-selected-count").inner_text() == "2"
    with page.expect_navigation():
        page.click("[data-testid=accept-selected]")
    assert "已审核通过 2 份报告" in page.locator(".messages").inner_text()
    with page.expect_navigation():
        page.click("[data-testid=start-review]")
    assert page.url.endswith(f"/reports/{reports[2].pk}/")
    with page.expect_navigation():
        page.click("[data-testid=accept-next]")
    assert page.url.endswith(f"/reports/{reports[3].pk}/")
    assert Report.objects.filter(status=ReportStatus.ACCEPTED).count() == 3
    assert page.console_errors == []


@pytest.fixture
def demo(db):
    call_command("load_demo", stdout=io.StringIO())


def test_the_leaders_first_screen_and_its_print(browser_page, live_url, demo, tmp_path):
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 768})
    login(page, live_url, "lingdao", PASSWORD)
    table = page.locator("[data-testid=overdue-table]")
    headers = table.locator("thead").inner_text()
    assert "文号" in headers and "牵头单位" in headers and "配合单位" in headers
    first_row = table.locator("tbody tr").first
    assert first_row.bounding_box()["y"] + 20 < 768  # the overdue list starts on the first screen
    assert "已超期" in first_row.inner_text() and "〔" in first_row.inner_text()
    assert "牵头、配合合计" in page.locator("[data-testid=units-chart-note]").inner_text()
    page.locator("[data-testid=chart-units] canvas").first.wait_for(state="attached")

    pdf = tmp_path / "dashboard.pdf"
    page.pdf(path=str(pdf), format="A4", landscape=True, print_background=True)
    from pypdf import PdfReader

    first_page = PdfReader(str(pdf)).pages[0].extract_text().replace(" ", "")
    assert "超期任务" in first_page and "已超期" in first_page and "打印时间" in first_page
    assert "数据时间" in first_page
    assert page.console_errors == []


def test_the_dashboard_on_a_phone_has_no_sideways_scroll(browser_page, live_url, demo):
    page = browser_page
    page.set_viewport_size(PHONE)
    login(page, live_url, "lingdao", PASSWORD)
    for name in ("units", "lights", "rates"):
        page.locator(f"[data-testid=chart-{name}] canvas").first.wait_for(state="attached")
    assert _no_sideways_scroll(page)
    boxes = [page.locator(f"[data-testid=chart-{n}]").bounding_box() for n in ("units", "lights", "rates")]
    assert all(b["width"] > 300 for b in boxes)  # stacked at full width, not squeezed side by side
    assert boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"]
    for url in ("/reports/rollups/departments/", "/inbox/", "/tasks/"):
        page.goto(live_url + url)
        assert _no_sideways_scroll(page), url
    assert page.console_errors == []


def test_the_auditor_reads_the_log_in_chinese(browser_page, live_url, unit_with_thirty_tasks):
    page = browser_page
    period, health, tasks, target = unit_with_thirty_tasks
    UserFactory(username="shenji", role=Role.AUDITOR, password=PASSWORD)
    login(page, live_url, "weijianwei", PASSWORD)
    page.fill(f"textarea[name=t{tasks[0].pk}-text]", "进展")
    with page.expect_navigation():
        page.click("[data-testid=save-draft]")
    page.context.clear_cookies()
    login(page, live_url, "shenji", PASSWORD)
    table = page.locator("[data-testid=audit-table]").inner_text()
    assert "保存草稿" in table and "登录" in table and "report_save_draft" not in table
    assert f"报告 市卫健委 {period.label}" in table
    assert "消息" not in page.locator("header").inner_text()
    assert page.console_errors == []
