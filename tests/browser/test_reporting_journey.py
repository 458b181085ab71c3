"""Browser journey through a quarter's reporting: a department reporter fills in two tasks, saves a draft and
submits; the secretariat returns one with a reason and accepts the other; the reporter sees the reason, fixes it
and resubmits; the secretariat accepts. Headless Chromium against a live server."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from departments.models import Role, UnitKind
from reports.models import Period, Report, ReportStatus, default_due_date
from tests.browser.helpers import login
from tests.factories import TargetFactory, TaskFactory, UnitFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Ledger#2026"


def logout(page):
    with page.expect_navigation():
        page.click("header form button[type=submit]")


def status_of(page, task):
    return page.locator(f"[data-testid=status-{task.pk}]").inner_text()


def test_reporter_fills_saves_submits_secretariat_returns_reporter_fixes_secretariat_accepts(
    browser_page, live_url
):
    page = browser_page
    page.on("dialog", lambda dialog: dialog.accept())  # the "全部提交" confirmation
    today = timezone.localdate()
    quarter = (today.month - 1) // 3 + 1
    due = max(default_due_date(today.year, quarter), today + dt.timedelta(days=1))
    Period.objects.create(year=today.year, quarter=quarter, due_date=due, is_open=True)
    health = UnitFactory(name="市卫生健康委", short_name="市卫健委")
    secretariat_unit = UnitFactory(name="市医改办", kind=UnitKind.SECRETARIAT)
    UserFactory(username="weijianwei", role=Role.REPORTER, unit=health, password=PASSWORD)
    UserFactory(username="yigaiban", role=Role.SECRETARIAT, unit=secretariat_unit, password=PASSWORD)
    t1 = TaskFactory(lead=[health], title="推进紧密型县域医共体建设")
    t2 = TaskFactory(lead=[health], title="加强全科医生队伍建设")
    target = TargetFactory(task=t1, indicator="县域就诊率", op=">=", value=Decimal("90"), unit="%")

    # The reporter lands on the form, fills in both tasks and saves a draft.
    login(page, live_url, "weijianwei", PASSWORD)
    assert page.url.endswith("/reports/my/")
    page.select_option(f"select[name=t{t1.pk}-progress]", "in_progress")
    page.fill(f"input[name=t{t1.pk}-percent]", "60")
    page.fill(f"textarea[name=t{t1.pk}-text]", "在叶县、郏县试点医共体")
    page.fill(f"textarea[name=t{t1.pk}-problems]", "医保打包付费尚未落地")
    page.fill(f"input[name=t{t1.pk}-target-{target.pk}]", "86.5")
    page.select_option(f"select[name=t{t2.pk}-progress]", "in_progress")
    page.fill(f"textarea[name=t{t2.pk}-text]", "新招全科医生 20 名")
    with page.expect_navigation():
        page.click("[data-testid=save-draft]")
    assert "已保存 2 项草稿" in page.locator(".messages").inner_text()
    assert status_of(page, t1) == "草稿" and status_of(page, t2) == "草稿"
    assert page.input_value(f"textarea[name=t{t1.pk}-text]") == "在叶县、郏县试点医共体"

    # ...and submits both.
    with page.expect_navigation():
        page.click("[data-testid=submit-all]")
    assert "已提交 2 项" in page.locator(".messages").inner_text()
    assert status_of(page, t1) == "已提交" and status_of(page, t2) == "已提交"
    logout(page)

    # The secretariat sees both awaiting review, returns the first with a reason and accepts the second.
    login(page, live_url, "yigaiban", PASSWORD)
    assert page.url.endswith("/reports/status/")
    assert "市卫生健康委" in page.locator("[data-testid=status-table]").inner_text()
    r1 = Report.objects.get(task=t1)
    r2 = Report.objects.get(task=t2)
    page.goto(f"{live_url}/reports/{r1.pk}/")
    assert "在叶县、郏县试点医共体" in page.locator("[data-testid=report-text]").inner_text()
    page.fill("[data-testid=return-reason-input]", "请补充郏县的就诊率数据")
    with page.expect_navigation():
        page.click("[data-testid=return]")
    assert page.locator("[data-testid=report-status]").inner_text() == "已退回"
    page.goto(f"{live_url}/reports/{r2.pk}/")
    with page.expect_navigation():
        page.click("[data-testid=accept]")
    assert page.locator("[data-testid=report-status]").inner_text() == "已通过"
    logout(page)

    # The reporter sees the reason, fixes the first task and resubmits it.
    login(page, live_url, "weijianwei", PASSWORD)
    assert "请补充郏县的就诊率数据" in page.locator(f"[data-testid=return-reason-{t1.pk}]").inner_text()
    assert status_of(page, t1) == "已退回" and status_of(page, t2) == "已通过"
    page.fill(f"textarea[name=t{t1.pk}-text]", "在叶县、郏县试点医共体，郏县县域就诊率 88%")
    page.fill(f"input[name=t{t1.pk}-target-{target.pk}]", "88")
    with page.expect_navigation():
        page.click(f"[data-testid=submit-{t1.pk}]")
    assert status_of(page, t1) == "已提交"
    logout(page)

    # The secretariat accepts; earlier versions stay visible.
    login(page, live_url, "yigaiban", PASSWORD)
    page.goto(f"{live_url}/reports/{r1.pk}/")
    with page.expect_navigation():
        page.click("[data-testid=accept]")
    assert page.locator("[data-testid=report-status]").inner_text() == "已通过"
    history = page.locator("[data-testid=revisions]").inner_text()
    assert "请补充郏县的就诊率数据" in history and "在叶县、郏县试点医共体" in history
    assert page.locator("[data-testid=revisions] tbody tr").count() == 4  # accept, submit, return, submit

    r1.refresh_from_db()
    assert r1.status == ReportStatus.ACCEPTED and not r1.is_late and Report.objects.count() == 2
    target.refresh_from_db()
    assert target.latest_value == Decimal("88")
    assert page.console_errors == []
