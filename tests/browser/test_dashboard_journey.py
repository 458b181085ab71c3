"""Browser journey: a leader opens the overdue dashboard, sees the charts drawn (no script errors), clicks the unit
at the top of the ranking and lands on that unit's overdue tasks."""

import io
import re

import pytest
from django.core.management import call_command
from django.utils import timezone

from departments.models import Unit
from tasks.lights import light_q
from tasks.models import Light, Task
from tests.browser.helpers import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_leader_sees_charts_and_clicks_an_overdue_unit_to_its_overdue_tasks(browser_page, live_url):
    call_command("load_demo", stdout=io.StringIO())
    page = browser_page
    login(page, live_url, "lingdao", "Ledger#2026")

    page.goto(f"{live_url}/reports/dashboard/")
    assert page.locator("h1").inner_text().startswith("超期看板")
    for name in ("units", "lights", "rates"):
        chart = page.locator(f"[data-testid=chart-{name}]")
        chart.locator("canvas, svg").first.wait_for(state="attached")
        assert chart.get_attribute("data-rendered") == "true"
        box = chart.locator("canvas, svg").first.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100

    top = page.locator("table[data-testid=ranking-table] tbody tr").first
    unit_name = top.locator("td").nth(1).inner_text().strip()
    shown_overdue = int(top.locator("td").nth(2).inner_text())
    assert shown_overdue > 0
    with page.expect_navigation():
        top.locator("td").nth(1).locator("a").click()

    unit = Unit.objects.get(name=unit_name)
    assert re.search(rf"[?&]unit={unit.pk}(&|$)", page.url) and "light=overdue" in page.url
    expected = (
        Task.objects.alive()
        .filter(light_q(Light.OVERDUE, today=timezone.localdate()))
        .filter(task_units__unit=unit)
        .distinct()
        .count()
    )
    assert expected == shown_overdue
    rows = page.locator("table[data-testid=ledger-table] tbody tr[data-task-id]")
    assert rows.count() == shown_overdue
    assert page.locator("table[data-testid=ledger-table] .light-overdue").count() == shown_overdue
    assert page.console_errors == []
