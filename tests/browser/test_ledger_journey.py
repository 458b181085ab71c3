"""Browser journey through the ledger: the secretariat filters, opens a task, changes its status, sees the history."""

import io
import re

import pytest
from django.core.management import call_command

from tasks.models import Progress, Task, TaskUnit
from tests.browser.helpers import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_secretariat_filters_by_lead_unit_edits_status_and_sees_it_in_history(browser_page, live_url):
    call_command("load_demo", stdout=io.StringIO())
    page = browser_page
    login(page, live_url, "yigaiban", "Ledger#2026")

    page.goto(f"{live_url}/tasks/")
    page.fill("input[name=lead_unit]", "市医疗保障局")
    with page.expect_navigation():
        page.click("form[data-testid=ledger-filters] button[type=submit]")
    assert "lead_unit=" in page.url

    expected = (
        Task.objects.alive()
        .filter(task_units__role=TaskUnit.Role.LEAD, task_units__unit__name="市医疗保障局")
        .distinct()
        .count()
    )
    assert expected > 0
    rows = page.locator("table[data-testid=ledger-table] tbody tr[data-task-id]")
    assert rows.count() == expected
    for i in range(rows.count()):
        assert "市医保局" in rows.nth(i).locator("td").nth(3).inner_text()

    first = rows.first
    task_id = int(first.get_attribute("data-task-id"))
    with page.expect_navigation():
        first.locator("td").nth(2).locator("a").click()
    assert page.url.endswith(f"/tasks/{task_id}/")
    assert page.locator("[data-testid=task-status]").inner_text() == "未启动"

    with page.expect_navigation():
        page.click("text=编辑")
    page.select_option("select[name=status]", "lagging")
    with page.expect_navigation():
        page.click("form.task-form button.primary")

    assert page.url.endswith(f"/tasks/{task_id}/")
    assert page.locator("[data-testid=task-status]").inner_text() == "滞后"
    history = page.locator("[data-testid=task-history]").inner_text()
    assert re.search(r"进展状态：\s*未启动\s*→\s*滞后", history), history
    assert "yigaiban" in history
    task = Task.objects.get(pk=task_id)
    assert task.status == Progress.LAGGING and task.version == 2
    assert page.console_errors == []


def test_secretariat_creates_a_task_by_alias_and_is_told_which_field_is_wrong(browser_page, live_url):
    from departments.models import Role, UnitAlias, UnitKind
    from tests.factories import DocumentFactory, UnitFactory, UserFactory

    office = UnitFactory(name="市医改办", kind=UnitKind.SECRETARIAT)
    health = UnitFactory(name="市卫生健康委", short_name="市卫健委")
    UnitAlias.objects.create(unit=health, alias="市卫生健康委员会")
    UnitFactory(name="市医疗保障局", short_name="市医保局")
    doc = DocumentFactory(doc_number="平办〔2020〕7号")
    UserFactory(username="yigaiban", role=Role.SECRETARIAT, unit=office, password="Ledger#2026")
    page = browser_page
    login(page, live_url, "yigaiban", "Ledger#2026")

    page.goto(f"{live_url}/tasks/new/")
    page.select_option("select[name=document]", str(doc.pk))
    page.fill("input[name=path]", "二.(一).1")
    page.fill("input[name=title]", "推进分级诊疗<b>制度</b>建设")
    # The unit names are loaded once the page is up (departments:unit-options), then the unit list keeps what was
    # typed before the last 、 so a second unit can be picked from it too.
    page.wait_for_selector("body[data-units-ready]", state="attached")
    page.fill("input[name=lead_units]", "市卫健委、")
    offered = page.eval_on_selector(
        "input[name=lead_units]", "el => Array.from(el.list.options, o => o.value)"
    )
    assert "市卫健委、市医疗保障局" in offered and "市卫健委、市卫生健康委员会" in offered
    page.fill("input[name=lead_units]", "市卫健委")
    page.fill("input[name=responsible_units]", "市医保局")
    page.locator("input[name=m_date]").first.fill("2024年13月")
    page.locator("input[name=m_text]").first.fill("2024年底前")
    with page.expect_navigation():
        page.click("form.task-form button.primary")
    assert (
        "第 1 个时间节点的日期“2024年13月”不是有效日期"
        in page.locator("[data-testid=form-error]").inner_text()
    )
    assert page.input_value("input[name=title]") == "推进分级诊疗<b>制度</b>建设"  # nothing typed is lost
    assert not Task.objects.exists()

    page.locator("input[name=m_date]").first.fill("2024-12-31")
    with page.expect_navigation():
        page.click("form.task-form button.primary")
    task = Task.objects.get()
    assert page.url.endswith(f"/tasks/{task.pk}/")
    assert page.locator("[data-testid=lead-units]").inner_text() == "市卫生健康委"
    assert "<b>制度</b>" in page.locator("[data-testid=task-title]").inner_text()  # shown as text, not markup
    assert page.console_errors == []
