"""Browser journey: the secretariat issues a 督办单 from a task page, the unit's reporter sees it on its landing
page, signs and replies; the secretariat closes it. Then the reporter asks for an extension and the secretariat
approves it; the task page says where the date came from. No script errors along the way."""

import datetime as dt
import io
import os

import pytest
from django.core.management import call_command

from departments.models import User
from tasks.models import Milestone, Progress, Task, TaskUnit
from tests.browser.helpers import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("SCREENSHOT_DIR")


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_notice_and_extension_journey(browser_page, live_url, _chromium):
    call_command("load_demo", stdout=io.StringIO())
    reporter = User.objects.get(username="yibaoju")
    task = (
        Task.objects.alive()
        .filter(task_units__unit=reporter.unit, task_units__role=TaskUnit.Role.LEAD)
        .exclude(status=Progress.COMPLETED)
        .order_by("sort_key")
        .first()
    )
    Milestone.objects.create(task=task, date=dt.date(2098, 12, 31), text="2098年底前")
    page = browser_page
    login(page, live_url, "yigaiban", "Ledger#2026")
    page.goto(f"{live_url}/tasks/{task.pk}/")
    with page.expect_navigation():
        page.click("[data-testid=notice-new-for-task]")
    page.fill("textarea[name=text]", "你单位牵头的任务进展滞后，请于期限内报送整改措施。")
    with page.expect_navigation():
        page.click("button[name=issue]")
    number = page.locator("[data-testid=notice-number]").inner_text()
    assert number.startswith("督办〔") and number.endswith("号")
    shot(page, "notice_detail_secretariat")

    other = _chromium.new_context(
        locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1366, "height": 900}
    )
    rpage = other.new_page()
    errors = []
    rpage.on("pageerror", lambda exc: errors.append(str(exc)))
    login(rpage, live_url, "yibaoju", "Ledger#2026")
    rpage.goto(live_url + "/")
    assert number in rpage.locator("[data-testid=open-notices]").inner_text()
    shot(rpage, "landing_open_notices")
    rpage.click(f"text={number}")
    rpage.click("[data-testid=notice-sign]")
    rpage.fill("[data-testid=notice-reply-form] textarea[name=text]", "已召开专题会议，明确分工，限期完成。")
    rpage.fill("[data-testid=notice-reply-form] input[name=expected_date]", "2099-12-31")
    with rpage.expect_navigation():
        rpage.click("[data-testid=notice-reply-form] button[type=submit]")
    assert rpage.locator("[data-testid=notice-status]").inner_text().startswith("已答复")
    shot(rpage, "notice_replied_reporter")

    rpage.goto(f"{live_url}/tasks/{task.pk}/")
    with rpage.expect_navigation():
        rpage.click("[data-testid=extension-new]")
    rpage.select_option("select[name=milestone_date]", "2098-12-31")
    rpage.fill("input[name=new_date]", "2099-06-30")
    rpage.fill("textarea[name=reason]", "配套政策尚未出台")
    with rpage.expect_navigation():
        rpage.click("[data-testid=extension-form] button[type=submit]")
    shot(rpage, "task_after_request")

    page.goto(f"{live_url}/extensions/?status=pending")
    shot(page, "extension_queue")
    page.on("dialog", lambda d: d.accept())
    with page.expect_navigation():
        page.locator("table[data-testid=extension-list] button.primary").first.click()
    page.goto(f"{live_url}/tasks/{task.pk}/")
    assert "经批准延期至 2099-06-30" in page.content()
    shot(page, "task_after_approval")
    page.goto(f"{live_url}/notices/")
    with page.expect_navigation():
        page.click(f"text={number}")
    with page.expect_navigation():
        page.click("[data-testid=notice-decide] button.primary")
    assert page.locator("[data-testid=notice-status]").inner_text().startswith("已办结")
    page.goto(f"{live_url}/notices/")
    shot(page, "notice_list")
    page.click(f"text={number}")
    page.goto(page.url + "print/")
    shot(page, "notice_print")
    assert page.console_errors == [] and errors == []
    other.close()
