"""Browser journey: the secretariat pastes a plan, decides an unknown unit, edits a target in its structured
fields (Chinese comparison), confirms; a second upload of the same 文号 is stopped with the diff."""

import os

import pytest
from django.core.management import call_command

from tests.browser.helpers import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PLAN = """测试市人民政府办公室关于印发测试市2024年深化医改重点工作任务的通知
测政办〔2024〕9号
一、推进分级诊疗
1.推进紧密型县域医共体建设。2024年底前县域就诊率提高到90%以上。（市卫健委、市医保局负责）
2.加强全科医生队伍建设。（市人社局牵头，市公安局参与）
测试市人民政府办公室
2024年3月1日
"""


def _shot(page, name):
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=os.path.join(folder, name), full_page=True)


def test_secretariat_reviews_a_plan_in_structured_fields_and_a_duplicate_is_stopped(browser_page, live_url):
    from tasks.models import Document

    call_command("load_demo", verbosity=0)
    page = login(browser_page, live_url, "yigaiban", "Ledger#2026")
    page.goto(live_url + "/plans/extract/")
    page.fill("textarea[name=text]", PLAN)
    with page.expect_navigation():
        page.click("button.primary")
    assert "/plans/review/" in page.url
    select = page.locator("select[name^=map-]").first
    assert select.input_value() == "?"  # 市公安局: nothing preselected
    _shot(page, "plan-review.png")

    with page.expect_navigation():
        page.click("button[value=confirm]")
    assert "未识别的单位“市公安局”" in page.locator("[role=alert]").inner_text()

    select.select_option(label="忽略（从任务中去掉）")
    page.select_option("select[name=t0-g0-op]", label="区间")
    page.fill("input[name=t0-g0-value2]", "95")
    with page.expect_navigation():
        page.click("button[value=confirm]")
    assert "/tasks/" in page.url, page.locator("body").inner_text()[:500]
    target = Document.objects.get(doc_number="测政办〔2024〕9号").tasks.get(path_key="一.1").targets.get()
    assert (target.op, int(target.value), int(target.value_high)) == ("between", 90, 95)

    page.goto(live_url + "/plans/extract/")
    page.fill("textarea[name=text]", PLAN.replace("90%以上", "92%以上"))
    page.click("button.primary")
    page.wait_for_load_state()
    assert page.locator("[data-testid=duplicate-plan]").is_visible()
    panel = page.locator("[data-testid=duplicate-plan]").inner_text()
    assert "新增 0 项，修改 2 项" in panel  # the new rate, and 市公安局 that was ignored last time
    assert "责任单位：（空） → 市公安局" in panel
    _shot(page, "plan-duplicate.png")
    # the refused confirm (400) and the stopped upload (409) are logged by the browser as failed loads; nothing else
    assert [
        e for e in browser_page.console_errors if "status of 400" not in e and "status of 409" not in e
    ] == []
