"""Browser journey: on the demo ledger, the task page shows its 序时进度 and draws the trajectory chart; the
secretariat previews the quarter's 通报, writes 下一步工作要求, issues it after the confirmation; a leader finds
it in the list and downloads the Word file. No script errors (CSP included) on the way."""

import io
import os

import pytest
from django.core.management import call_command
from django.utils import timezone

from reports.models import Bulletin, Period, Report
from tasks.models import Task
from tests.browser.helpers import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("BROWSER_SCREENSHOTS")  # a folder: save what the journey saw


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_task_pace_chart_and_a_bulletin_from_draft_to_download(browser_page, live_url):
    call_command("load_demo", stdout=io.StringIO())
    period = Period.objects.get(is_open=True)
    task = (
        Task.objects.filter(task_units__role="lead", deadline__isnull=False, targets__isnull=False)
        .order_by("pk")
        .first()
    )
    lead = task.lead_units[0]
    Report.objects.create(
        task=task,
        unit=lead,
        period=period,
        status="submitted",
        percent=40,
        text="推进中",
        submitted_at=timezone.now(),
    )
    page = browser_page
    login(page, live_url, "lingdao", "Ledger#2026")
    page.goto(f"{live_url}/tasks/{task.pk}/")
    panel = page.locator("[data-testid=task-pace]")
    assert panel.locator("[data-testid=pace-label]").inner_text() in {
        "已完成",
        "超进度",
        "达进度",
        "欠进度",
        "未启动",
        "无法判断",
    }
    assert panel.locator("[data-testid=pace-reason]").inner_text().strip()
    panel.locator("[data-testid=pace-chart] canvas").first.wait_for(state="attached")
    page.wait_for_selector("[data-testid=pace-chart][data-rendered=true]")
    shot(page, "task_pace")

    page.goto(f"{live_url}/reports/dashboard/")
    assert page.locator("[data-testid=pace-summary]").is_visible()
    shot(page, "dashboard_pace")
    assert page.console_errors == []

    page.context.clear_cookies()
    login(page, live_url, "yigaiban", "Ledger#2026")
    page.goto(f"{live_url}/reports/bulletins/")
    page.locator("[data-testid=bulletin-periods] a").first.click()
    page.wait_for_selector("[data-testid=bulletin-preview]")
    assert "项重点任务中，已完成" in page.locator("[data-testid=pace-sentence]").inner_text()
    page.fill("[data-testid=requirements]", "一是各单位抓紧补报。\n二是滞后任务的牵头单位制定整改措施。")
    with page.expect_navigation():
        page.click("[data-testid=bulletin-form] button[type=submit]")
    shot(page, "bulletin_draft")
    with page.expect_download() as draft:
        page.click("[data-testid=draft-docx]")
    assert draft.value.suggested_filename.endswith(".docx")
    with page.expect_navigation():
        page.click("[data-testid=issue-link]")
    number = page.locator("[data-testid=next-number]").inner_text()
    page.check("input[name=confirm]")
    with page.expect_navigation():
        page.click("[data-testid=issue-form] button[type=submit]")
    assert number in page.locator("[data-testid=bulletin-issued]").inner_text()
    assert Bulletin.objects.get().requirements.startswith("一是各单位抓紧补报。")
    assert page.console_errors == []

    page.context.clear_cookies()
    login(page, live_url, "lingdao", "Ledger#2026")
    page.goto(f"{live_url}/reports/bulletins/")
    shot(page, "bulletin_list")
    with page.expect_download() as issued:
        page.click("[data-testid=bulletin-download]")
    assert number in issued.value.suggested_filename
    assert page.console_errors == []
