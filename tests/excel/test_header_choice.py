"""Choosing the sheet and the header row by hand: the preview page, its confirm step, and import_ledger's
--sheet / --header-row. A bad choice says what is wrong and where, and writes nothing."""

import io
import json

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from tasks.excel import SpreadsheetError
from tasks.ledger_import import ledger_import
from tasks.models import Document, Task
from tests.factories import UnitFactory

from .test_office_layouts import division_workbook


def _save(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def stacked_workbook() -> bytes:
    """One sheet, two tables: last year's tasks (already done) above this year's, each under its own header.
    The search takes the first header; the user wants the second table (header on row 8)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "任务"
    ws.append(["平医改办〔2021〕3号"])  # 1
    ws.append(["2021年重点任务分工（上年）"])  # 2
    ws.append(["序号", "重点任务", "牵头单位", "完成时限"])  # 3
    ws.append([1, "上年任务甲", "市卫健委", "2020年底"])  # 4
    ws.append([2, "上年任务乙", "市医保局", "2020年底"])  # 5
    ws.append([])  # 6
    ws.append(["2021年重点任务分工（本年）"])  # 7
    ws.append(["序号", "重点任务", "牵头单位", "完成时限"])  # 8
    ws.append([1, "本年任务甲", "市卫健委", "2021年底"])  # 9
    ws.append([2, "本年任务乙", "市财政局", "2021年6月底前"])  # 10
    return _save(wb)


def two_sheets_workbook() -> bytes:
    """A 说明 sheet with a filled-in example table first (the search takes it), the real table second."""
    wb = openpyxl.Workbook()
    example = wb.active
    example.title = "说明"
    example.append(["填表示例"])
    example.append(["序号", "重点任务", "牵头单位", "完成时限"])
    example.append([1, "示例任务", "市卫健委", "2021年底"])
    ws = wb.create_sheet("任务分工")
    ws.append(["平医改办〔2021〕3号"])
    ws.append(["2021年重点任务分工"])
    ws.append(["序号", "主要任务", "牵头部门", "配合部门", "时间节点"])
    ws.append([1, "任务甲", "市卫健委", "市财政局", "2021年底"])
    ws.append([2, "任务乙", "市医保局", "", "2021年9月底前"])
    return _save(wb)


def unnamed_columns_workbook() -> bytes:
    """Column names no office vocabulary knows: nothing is recognised, the user must say which column is which."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "清单"
    ws.append(["平医改办〔2021〕5号 2021年改革清单"])
    ws.append(["项次", "名称", "归口", "期"])
    ws.append([1, "任务甲", "市卫健委", "2021年底"])
    ws.append([2, "任务乙", "市医保局", "2021年底"])
    return _save(wb)


@pytest.fixture
def units(small_ledger):
    UnitFactory(name="市人力资源和社会保障局", short_name="市人社局")
    return small_ledger


# --------------------------------------------------------------------------------------------------- library


def test_the_header_row_chosen_reads_the_table_below_it(units):
    auto = ledger_import(data=stacked_workbook(), dry_run=True)
    assert auto.header.row == 2  # the first table: its second header is a row with an unreadable 序号
    assert any("序号“序号”无法识别" in e.message for e in auto.errors)

    result = ledger_import(data=stacked_workbook(), header_row=8, dry_run=True)
    assert result.errors == []
    preview = result.as_json()
    assert (preview["sheet"], preview["header_row"]) == ("任务", 8)
    assert [r["title"] for r in preview["rows"]] == ["本年任务甲", "本年任务乙"]
    assert [r["row"] for r in preview["rows"]] == [9, 10]
    # The rows above the chosen header are its title rows: the plan's 文号 and title come from them.
    assert preview["document"]["doc_number"] == "平医改办〔2021〕3号"


def test_any_row_of_a_two_row_header_gives_the_whole_header(units):
    for row in (4, 5, "5", " 第4行 ", "４"):
        result = ledger_import(data=division_workbook(), header_row=row, dry_run=True)
        assert result.errors == [], row
        assert (result.header.row, result.header.data_start) == (3, 5), row
        assert result.as_json()["columns"]["responsible_units"] == "配合部门"
    # The number the preview prints as header_row is one the import takes back.
    printed = ledger_import(data=division_workbook(), dry_run=True).as_json()["header_row"]
    again = ledger_import(data=division_workbook(), header_row=printed, dry_run=True)
    assert again.as_json() == ledger_import(data=division_workbook(), dry_run=True).as_json()


def test_the_sheet_chosen_is_read_instead_of_the_first_with_a_header(units):
    auto = ledger_import(data=two_sheets_workbook(), dry_run=True)
    assert auto.header.sheet == "说明" and auto.created == 1
    result = ledger_import(data=two_sheets_workbook(), sheet="任务分工", dry_run=True)
    assert result.errors == [] and result.header.sheet == "任务分工"
    assert [p.state.title for p in result.plans] == ["任务甲", "任务乙"]
    assert result.sheet_choices == [("说明", 3), ("任务分工", 5)]
    # sheet and header row together
    both = ledger_import(data=two_sheets_workbook(), sheet="任务分工", header_row=3, dry_run=True)
    assert both.as_json() == result.as_json()


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"header_row": 40}, "header_row", "第 40 行超出工作表“任务”的行数（共 10 行）。"),
        ({"header_row": 0}, "header_row", "表头行不能是第 0 行：行号从 1 开始（工作表“任务”共 10 行）。"),
        ({"header_row": "-3"}, "header_row", "表头行不能是第 -3 行"),
        (
            {"header_row": "八"},
            "header_row",
            "表头行“八”不是行号：请填写 1 到 10 之间的整数（工作表“任务”共 10 行）。",
        ),
        ({"header_row": 6}, "header_row", "工作表“任务”的第 6 行是空行，不能作为表头"),
        ({"sheet": "封面"}, "sheet", "工作簿中没有名为“封面”的工作表（有：“任务”）。"),
        ({"sheet": "封面", "header_row": 3}, "sheet", "工作簿中没有名为“封面”的工作表"),
    ],
)
def test_a_bad_choice_says_what_and_where_and_writes_nothing(units, kwargs, field, message):
    with pytest.raises(SpreadsheetError) as e:
        ledger_import(data=stacked_workbook(), dry_run=False, **kwargs)
    assert e.value.field == field and message in e.value.message
    assert not Task.objects.exists() and not Document.objects.exclude(pk=units["doc"].pk).exists()


def test_a_header_row_beyond_a_chosen_sheet_names_that_sheet(units):
    with pytest.raises(SpreadsheetError) as e:
        ledger_import(data=two_sheets_workbook(), sheet="说明", header_row=12, dry_run=True)
    assert e.value.message == "第 12 行超出工作表“说明”的行数（共 3 行）。"


def test_a_header_without_a_task_column_is_an_error_naming_its_columns(units):
    with pytest.raises(SpreadsheetError, match="找不到表头"):
        ledger_import(data=unnamed_columns_workbook(), dry_run=True)
    result = ledger_import(data=unnamed_columns_workbook(), header_row=2, dry_run=False)
    assert not result.written and not Task.objects.exists()
    (error,) = result.errors
    assert error.row == 2 and error.column == "重点任务"
    assert error.message.startswith("工作表“清单”第 2 行的表头中没有任务名称列")
    assert "A“项次”、B“名称”、C“归口”、D“期”" in error.message
    assert [text for _i, text in result.column_choices] == [
        "A 列：项次",
        "B 列：名称",
        "C 列：归口",
        "D 列：期",
    ]
    # With the columns named, the rows import.
    mapping = {"seq": 0, "title": 1, "lead": 2, "deadline": 3}
    done = ledger_import(data=unnamed_columns_workbook(), header_row=2, mapping=mapping, dry_run=False)
    assert done.errors == [] and done.written
    assert sorted(Task.objects.values_list("title", flat=True)) == ["任务乙", "任务甲"]


# --------------------------------------------------------------------------------------------------- command line


def test_import_ledger_takes_sheet_and_header_row(units, tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_bytes(stacked_workbook())
    out = io.StringIO()
    call_command("import_ledger", str(path), "--header-row", "8", "--json", "--dry-run", stdout=out)
    preview = json.loads(out.getvalue())
    assert preview["header_row"] == 8 and [r["title"] for r in preview["rows"]] == [
        "本年任务甲",
        "本年任务乙",
    ]
    assert not Task.objects.exists()

    path.write_bytes(two_sheets_workbook())
    out = io.StringIO()
    call_command("import_ledger", str(path), "--sheet", "任务分工", "--header-row", "3", stdout=out)
    assert "sheet: 任务分工 (header row 3)" in out.getvalue() and "created: 2" in out.getvalue()
    assert sorted(Task.objects.values_list("title", flat=True)) == ["任务乙", "任务甲"]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--header-row", "40"], "row 0, column 表头行: 第 40 行超出工作表“任务”的行数（共 10 行）。"),
        (["--header-row", "abc"], "row 0, column 表头行: 表头行“abc”不是行号"),
        (["--header-row", "6"], "row 0, column 表头行: 工作表“任务”的第 6 行是空行"),
        (["--sheet", "说明"], "row 0, column 工作表: 工作簿中没有名为“说明”的工作表（有：“任务”）。"),
    ],
)
def test_import_ledger_bad_choice_exits_non_zero_and_writes_nothing(units, tmp_path, args, line):
    path = tmp_path / "a.xlsx"
    path.write_bytes(stacked_workbook())
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_ledger", str(path), *args, stdout=io.StringIO(), stderr=err)
    assert err.getvalue().startswith(line)
    assert not Task.objects.exists() and not Document.objects.exclude(pk=units["doc"].pk).exists()


def test_import_ledger_header_row_without_a_task_column_exits_non_zero(units, tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_bytes(unnamed_columns_workbook())
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_ledger", str(path), "--header-row", "2", stdout=io.StringIO(), stderr=err)
    assert err.getvalue().startswith("row 2, column 重点任务: 工作表“清单”第 2 行的表头中没有任务名称列")
    assert not Task.objects.exists()


# --------------------------------------------------------------------------------------------------- page


def _upload(client, data: bytes, name="分工表.xlsx"):
    upload = io.BytesIO(data)
    upload.name = name
    return client.post(reverse("tasks:import"), {"file": upload})


def test_preview_lists_the_sheets_with_rows_and_the_first_rows_to_choose_the_header_from(
    units, secretariat, client_as
):
    wb = openpyxl.load_workbook(io.BytesIO(two_sheets_workbook()))
    wb.create_sheet("空白")
    page = _upload(client_as(secretariat), _save(wb))
    body = page.content.decode()
    assert page.status_code == 200
    assert '<option value="说明" selected>说明（3 行）</option>' in body
    assert '<option value="任务分工">任务分工（5 行）</option>' in body
    assert 'value="空白"' not in body  # a sheet without rows is not offered
    assert '<option value="2" selected>第 2 行：序号 | 重点任务 | 牵头单位 | 完成时限</option>' in body
    assert '<option value="1">第 1 行：填表示例</option>' in body
    assert [n for n, _t in page.context["result"].row_choices] == [1, 2, 3]


def test_page_header_row_choice_is_previewed_and_kept_through_confirm(units, secretariat, client_as):
    client = client_as(secretariat)
    page = _upload(client, stacked_workbook())
    assert (
        page.context["result"].header.row == 2 and 'data-testid="import-confirm"' not in page.content.decode()
    )
    token = page.context["token"]
    # The form posts the mapping of the header it showed: it belongs to that header, not to the one chosen now.
    form = {
        "token": token,
        "shown_sheet": "任务",
        "shown_header_row": "3",
        "sheet": "任务",
        "header_row": "8",
    }
    form |= {"mapping_submitted": "1", "map_title": "2", "map_lead": "1"}
    page = client.post(reverse("tasks:import-preview"), form)
    result = page.context["result"]
    assert page.status_code == 200 and result.errors == []
    assert (result.header.row, result.header.data_start) == (7, 8)
    assert result.as_json()["columns"]["title"] == "重点任务"
    assert [p.state.title for p in result.plans] == ["本年任务甲", "本年任务乙"]
    body = page.content.decode()
    assert '<option value="8" selected>第 8 行：序号 | 重点任务 | 牵头单位 | 完成时限</option>' in body
    assert '<option value="6" disabled>第 6 行：（空行）</option>' in body
    assert '<input type="hidden" name="header_row" value="8">' in body  # in the confirm form
    assert not Task.objects.exists()
    # Changing the plan afterwards keeps the header row chosen.
    form = {
        "token": token,
        "shown_sheet": "任务",
        "shown_header_row": "8",
        "sheet": "任务",
        "header_row": "8",
    }
    form |= {"target": "new", "doc_number": "平医改办〔2021〕3号", "doc_title": "2021年重点任务分工（本年）"}
    page = client.post(reverse("tasks:import-preview"), form)
    assert [p.state.title for p in page.context["result"].plans] == ["本年任务甲", "本年任务乙"]
    response = client.post(
        reverse("tasks:import-confirm"), {"token": token, "sheet": "任务", "header_row": "8"}
    )
    assert response.status_code == 302
    assert sorted(Task.objects.values_list("title", flat=True)) == ["本年任务乙", "本年任务甲"]
    assert Task.objects.filter(document__doc_number="平医改办〔2021〕3号").count() == 2


def test_page_sheet_choice_reads_that_sheet_with_its_own_header_and_columns(units, secretariat, client_as):
    client = client_as(secretariat)
    page = _upload(client, two_sheets_workbook())
    token = page.context["token"]
    assert page.context["result"].header.sheet == "说明"
    # The header row and the mapping posted with it are the 说明 sheet's: another sheet is read afresh.
    form = {
        "token": token,
        "shown_sheet": "说明",
        "shown_header_row": "2",
        "sheet": "任务分工",
        "header_row": "2",
    }
    form |= {"mapping_submitted": "1", "map_title": "1", "map_lead": "2", "map_deadline": "3"}
    page = client.post(reverse("tasks:import-preview"), form)
    result = page.context["result"]
    assert result.errors == [] and result.header.sheet == "任务分工" and result.header.row == 2
    assert result.as_json()["columns"] == {
        "path": "序号", "title": "主要任务", "lead_units": "牵头部门", "responsible_units": "配合部门", "deadlines": "时间节点"
    }  # fmt: skip
    assert '<option value="任务分工" selected>' in page.content.decode()
    response = client.post(
        reverse("tasks:import-confirm"), {"token": token, "sheet": "任务分工", "header_row": "3"}
    )
    assert response.status_code == 302
    assert sorted(Task.objects.values_list("title", flat=True)) == ["任务乙", "任务甲"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"header_row": "40"}, "第 40 行超出工作表“任务”的行数（共 10 行）。"),
        ({"header_row": "x"}, "表头行“x”不是行号：请填写 1 到 10 之间的整数（工作表“任务”共 10 行）。"),
        ({"header_row": "6"}, "工作表“任务”的第 6 行是空行，不能作为表头"),
        ({"sheet": "说明"}, "工作簿中没有名为“说明”的工作表（有：“任务”）。"),
    ],
)
def test_page_bad_choice_keeps_the_previous_settings_and_says_what_and_where(
    units, secretariat, client_as, change, message
):
    client = client_as(secretariat)
    token = _upload(client, stacked_workbook()).context["token"]
    good = {
        "token": token,
        "shown_sheet": "任务",
        "shown_header_row": "3",
        "sheet": "任务",
        "header_row": "8",
    }
    assert client.post(reverse("tasks:import-preview"), good).context["result"].errors == []
    bad = {"token": token, "shown_sheet": "任务", "shown_header_row": "8", "sheet": "任务", "header_row": "8"}
    page = client.post(reverse("tasks:import-preview"), bad | change)
    assert page.status_code == 400
    assert message in page.context["setting_error"]
    assert message.split("：")[0] in page.content.decode()
    assert page.context["result"].header.row == 7  # the previous choice, shown again
    assert not Task.objects.exists()
    # The session still holds the good choice: confirming imports the second table.
    response = client.post(
        reverse("tasks:import-confirm"), {"token": token, "sheet": "任务", "header_row": "8"}
    )
    assert response.status_code == 302
    assert sorted(Task.objects.values_list("title", flat=True)) == ["本年任务乙", "本年任务甲"]


def test_confirm_of_another_header_than_previewed_writes_nothing(units, secretariat, client_as):
    client = client_as(secretariat)
    token = _upload(client, stacked_workbook()).context["token"]
    form = {
        "token": token,
        "shown_sheet": "任务",
        "shown_header_row": "3",
        "sheet": "任务",
        "header_row": "8",
    }
    client.post(reverse("tasks:import-preview"), form)
    # A confirm form from an older preview of the same upload (another window): header row 3.
    response = client.post(
        reverse("tasks:import-confirm"), {"token": token, "sheet": "任务", "header_row": "3"}
    )
    assert response.status_code == 409
    assert "与这份文件最近一次预览的不同" in response.context["setting_error"]
    assert not Task.objects.exists()


def test_upload_without_a_recognisable_header_opens_the_preview_to_choose_it(units, secretariat, client_as):
    client = client_as(secretariat)
    page = _upload(client, unnamed_columns_workbook())
    assert page.status_code == 200
    note = page.context["setting_error"]
    assert note.startswith("找不到表头") and "已暂按工作表“清单”第 2 行作为表头" in note
    result = page.context["result"]
    assert result.errors[0].message.startswith("工作表“清单”第 2 行的表头中没有任务名称列")
    assert 'data-testid="import-confirm"' not in page.content.decode()
    token = page.context["token"]
    form = {
        "token": token,
        "shown_sheet": "清单",
        "shown_header_row": "2",
        "sheet": "清单",
        "header_row": "2",
    }
    form |= {"mapping_submitted": "1", "map_seq": "0", "map_title": "1", "map_lead": "2", "map_deadline": "3"}
    page = client.post(reverse("tasks:import-preview"), form)
    assert page.context["result"].errors == [] and page.context["setting_error"] is None
    response = client.post(
        reverse("tasks:import-confirm"), {"token": token, "sheet": "清单", "header_row": "2"}
    )
    assert response.status_code == 302
    assert sorted(Task.objects.values_list("title", flat=True)) == ["任务乙", "任务甲"]
    assert Task.objects.get(title="任务甲").document.doc_number == "平医改办〔2021〕5号"
