"""Browser journey: the secretariat uploads another office's 分工表, maps an unknown unit and imports it."""

import io
import os

import openpyxl
import pytest
from django.core.management import call_command

from departments.models import UnitAlias
from tasks.models import Document, Task
from tests.browser.helpers import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _division_table(path):
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active.append(["填表说明：请于每季度末报送。"])
    ws = wb.create_sheet("任务分工")
    ws.append(["平医改办〔2021〕3号"])
    ws.append(["2021年全市深化医改重点工作任务分工表"])
    ws.append(["序号", "要点内容", "责任分工", None, "时间节点"])
    ws.append([None, None, "牵头部门", "配合部门", None])
    for ref in ("A3:A4", "B3:B4", "C3:D3", "E3:E4"):
        ws.merge_cells(ref)
    ws.append(["一、推进分级诊疗"])
    ws.append([1, "推进紧密型县域医共体建设", "市卫生计生委", "市人力社保局、市财政局等", "2021年6-9月"])
    ws.append([2, "完善家庭医生签约服务", "市卫健局", "各县(市、区)政府(管委会)", "6月底前，年底前全面推开"])
    wb.save(path)


def test_secretariat_imports_a_division_table_mapping_an_unknown_unit(browser_page, live_url, tmp_path):
    call_command("load_demo", stdout=io.StringIO())
    file = tmp_path / "分工表.xlsx"
    _division_table(file)
    page = browser_page
    login(page, live_url, "yigaiban", "Ledger#2026")
    page.goto(f"{live_url}/tasks/import/")
    page.set_input_files("input[name=file]", str(file))
    with page.expect_navigation():
        page.click("form[data-testid=import-form] button[type=submit]")
    sheet = page.locator("[data-testid=import-sheet]").inner_text()
    assert "任务分工" in sheet and "第 3–4 行" in sheet
    assert "新建文件" in page.locator("[data-testid=import-document]").inner_text()
    assert page.locator("[data-testid=import-confirm]").count() == 0  # 市卫健局 is not known yet
    assert "ALL" not in page.content()
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], "import-units.png"), full_page=True)
    page.select_option("select[aria-label='市卫健局 对应的单位']", label="市卫生健康委")
    with page.expect_navigation():
        page.click("form[data-testid=import-settings] button[type=submit]")
    rows = page.locator("table[data-testid=import-rows] tbody tr")
    assert rows.count() == 2
    # on a phone the preview (a header-row list of whole rows, the title field) stays within the screen
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    page.set_viewport_size({"width": 1366, "height": 768})
    assert "2021-09-30" in rows.nth(0).inner_text() and "市人力资源和社会保障局" in rows.nth(0).inner_text()
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], "import-preview.png"), full_page=True)
    with page.expect_navigation():
        page.click("form[data-testid=import-confirm] button[type=submit]")
    doc = Document.objects.get(doc_number="平医改办〔2021〕3号")
    assert Task.objects.filter(document=doc).count() == 2
    assert UnitAlias.objects.filter(alias="市卫健局", unit__name="市卫生健康委").exists()
