"""Browser journey of the offline Excel form: from the reporter's form page, download the workbook, fill it in,
upload it (first with a mistake, then corrected), see the preview and follow the link back to submit."""

import datetime as dt
import io
import os
from decimal import Decimal

import openpyxl
import pytest
from django.utils import timezone

from departments.models import Role
from reports.models import Period, Report, default_due_date
from tests.browser.helpers import login
from tests.factories import TargetFactory, TaskFactory, UnitFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Ledger#2026"


def _fill(content: bytes, values: dict[str, object], path: str) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(content))
    ws = wb.active
    headers = {}
    for r in (3, 4):
        for c in range(1, ws.max_column + 1):
            headers.setdefault(ws.cell(row=r, column=c).value, c)
    row = next(r for r in range(4, ws.max_row + 1) if ws.cell(row=r, column=1).value == "一.(一).1")
    for header, value in values.items():
        ws.cell(row=row, column=headers[header], value=value)
    out = io.BytesIO()
    wb.save(out)
    with open(path, "wb") as fh:
        fh.write(out.getvalue())
    return out.getvalue()


def test_reporter_downloads_fills_and_uploads_the_offline_form(browser_page, live_url, tmp_path):
    page = browser_page
    today = timezone.localdate()
    quarter = (today.month - 1) // 3 + 1
    due = max(default_due_date(today.year, quarter), today + dt.timedelta(days=1))
    Period.objects.create(year=today.year, quarter=quarter, due_date=due, is_open=True)
    health = UnitFactory(name="市卫生健康委", short_name="市卫健委")
    UserFactory(username="weijianwei", role=Role.REPORTER, unit=health, password=PASSWORD)
    task = TaskFactory(lead=[health], path=["一", "(一)", "1"], title="推进紧密型县域医共体建设")
    TargetFactory(task=task, indicator="县域就诊率", op=">=", value=Decimal("90"), unit="%")

    login(page, live_url, "weijianwei", PASSWORD)
    with page.expect_download() as download:
        page.click("[data-testid=offline-form-download]")
    with open(download.value.path(), "rb") as fh:
        content = fh.read()

    # A mistake first: a progress word that is not in the list. Chinese message with row and column; nothing saved.
    bad = str(tmp_path / "bad.xlsx")
    _fill(content, {"进展": "进行中", "本期进展情况": "在叶县试点"}, bad)
    page.click("[data-testid=offline-form-upload]")
    page.set_input_files("input[type=file]", bad)
    with page.expect_navigation():
        page.click("[data-testid=form-upload-button]")
    errors = page.locator("[data-testid=form-upload-errors]").inner_text()
    assert "第 5 行" in errors and "进展“进行中”无效" in errors
    assert not Report.objects.exists()

    good = str(tmp_path / "good.xlsx")
    _fill(
        content,
        {"进展": "推进中", "完成百分比(0-100)": 60, "县域就诊率（%）": 86.5, "本期进展情况": "在叶县试点"},
        good,
    )
    page.set_input_files("input[type=file]", good)
    with page.expect_navigation():
        page.click("[data-testid=form-upload-button]")
    preview = page.locator("[data-testid=form-upload-preview]").inner_text()
    assert "在叶县试点" in preview and "86.5" in preview
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(
            path=os.path.join(os.environ["SCREENSHOT_DIR"], "offline-form-preview.png"), full_page=True
        )
    report = Report.objects.get(task=task, unit=health)
    assert (report.status, report.percent, report.text) == ("draft", 60, "在叶县试点")
    with page.expect_navigation():
        page.click("[data-testid=form-upload-submit-link]")
    assert "/reports/my/" in page.url
