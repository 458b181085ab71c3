"""分工表 as offices have them: other layouts, several sheets, new plans, unit names to map, protection."""

import io
import json

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from departments.models import Unit, UnitAlias, UnitKind
from tasks.excel import SpreadsheetError
from tasks.ledger_cells import split_unit_cell
from tasks.ledger_import import ledger_import
from tasks.models import Document, Task
from tests.factories import TaskFactory, UnitFactory


def _save(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def division_workbook() -> bytes:
    """A cover sheet, then 附件 / 文号 / title rows, a two-row merged header, section rows, a merged lead cell."""
    wb = openpyxl.Workbook()
    cover = wb.active
    cover.title = "填表说明"
    cover.append(["填表说明：请各单位于每季度末报送。"])
    ws = wb.create_sheet("任务分工")
    ws.append(["附件1"])
    ws.append(["平医改办〔2021〕3号"])
    ws.append(["2021年全市深化医药卫生体制改革重点工作任务分工表"])
    ws.append(["序号", "要点内容", "责任分工", None, "时间节点"])
    ws.append([None, None, "牵头部门", "配合部门", None])
    for ref in ("A4:A5", "B4:B5", "C4:D4", "E4:E5"):
        ws.merge_cells(ref)
    ws.append(["一、推进分级诊疗"])
    ws.merge_cells("A6:E6")
    ws.append([1, "推进紧密型县域医共体建设", "市卫生计生委", "市人力社保局、市财政局等", "2021年6-9月"])
    ws.append(
        [
            2,
            "完善家庭医生签约服务",
            "市卫健委",
            "各县(市、区)政府(管委会)",
            "2022年6月底前完成试点，2022年底前全面推开",
        ]
    )
    ws.append([3, "开展医保支付方式改革", None, "市医保局、各街道", "年底前"])
    ws.merge_cells("C8:C9")
    ws.append(["二、保障措施"])
    ws.append([1, "加强组织领导\n压实责任", "市卫健委", "市财政局", "长期坚持"])
    ws.append([2, "做好政策宣传", "市财政局", "", "春节前"])
    return _save(wb)


@pytest.fixture
def units(small_ledger):
    UnitFactory(name="市人力资源和社会保障局", short_name="市人社局")
    return small_ledger


def test_division_table_of_another_office_reads_without_any_setting(units):
    result = ledger_import(data=division_workbook(), dry_run=True)
    assert result.errors == []
    preview = result.as_json()
    assert preview["sheet"] == "任务分工" and preview["header_row"] == 5
    assert preview["columns"] == {
        "path": "序号", "title": "要点内容", "lead_units": "牵头部门", "responsible_units": "配合部门", "deadlines": "时间节点"
    }  # fmt: skip
    assert preview["document"] == {
        "doc_number": "平医改办〔2021〕3号", "title": "2021年全市深化医药卫生体制改革重点工作任务分工表", "created": True
    }  # fmt: skip
    rows = {tuple(r["path"]): r for r in preview["rows"]}
    assert list(rows) == [("一", "1"), ("一", "2"), ("一", "3"), ("二", "1"), ("二", "2")]
    first = rows[("一", "1")]
    assert first["lead_units"] == ["市卫生健康委"]  # a former name
    assert first["responsible_units"] == [
        "市人力资源和社会保障局",
        "市财政局",
    ]  # a short form and a trailing 等
    assert first["deadlines"] == [
        {"text": "2021年6-9月", "date": "2021-09-30", "recurring": False, "warning": None}
    ]
    second = rows[("一", "2")]
    assert second["counties_involved"] and second["responsible_units"] == []
    assert [d["date"] for d in second["deadlines"]] == ["2022-06-30", "2022-12-31"]
    third = rows[("一", "3")]
    assert third["lead_units"] == ["市卫生健康委"]  # the lead cell merged over two tasks belongs to both
    assert third["deadlines"][0]["date"] == "2021-12-31"  # no year: the plan's year from its 文号
    assert rows[("二", "1")]["title"] == "加强组织领导 压实责任"
    assert (
        rows[("二", "2")]["deadlines"][0]["date"] == "2021-02-10"
    )  # 2021's Spring Festival holiday began 02-11
    assert preview["summary"] == {"created": 5, "updated": 0, "unchanged": 0, "errors": 0, "warnings": 1}
    assert "ALL" not in json.dumps(preview, ensure_ascii=False)


def test_import_creates_the_new_plan_and_a_second_import_changes_nothing(units):
    data = division_workbook()
    result = ledger_import(data=data, dry_run=False)
    assert result.written and result.created == 5
    doc = Document.objects.get(doc_number="平医改办〔2021〕3号")
    assert doc.title == "2021年全市深化医药卫生体制改革重点工作任务分工表"
    task = Task.objects.get(document=doc, path_key="一.2")
    assert task.section == ["推进分级诊疗"] and task.version == 1
    assert [str(m.date) for m in task.milestones.all()] == ["2022-06-30", "2022-12-31"]
    assert task.deadline.isoformat() == "2022-12-31"
    again = ledger_import(data=data, dry_run=True)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    assert again.as_json()["document"]["created"] is False


def test_changed_rows_list_old_and_new_values(units):
    ledger_import(data=division_workbook(), dry_run=False)
    wb = openpyxl.load_workbook(io.BytesIO(division_workbook()))
    wb["任务分工"]["E7"] = "2021年底前"
    result = ledger_import(data=_save(wb), dry_run=False)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 4)
    (row,) = [r for r in result.as_json()["rows"] if r["action"] == "update"]
    assert row["changes"] == {"deadlines": ["2021-09-30（2021年6-9月）", "2021-12-31（2021年底前）"]}
    task = Task.objects.get(path_key="一.1")
    assert task.version == 2 and task.deadline.isoformat() == "2021-12-31"


def test_no_recognisable_header_lists_the_columns_found(units):
    wb = openpyxl.Workbook()
    wb.active.append(["名称", "说明", "金额"])
    wb.active.append(["甲", "乙", 3])
    with pytest.raises(SpreadsheetError) as e:
        ledger_import(data=_save(wb), dry_run=True)
    assert "找不到表头" in e.value.message and "“名称”、“说明”、“金额”" in e.value.message


def test_unknown_unit_in_the_cooperating_column_names_that_column(units):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2021年重点任务分工"])
    ws.append(["序号", "主要任务", "牵头单位", "配合单位", "完成时限"])
    ws.append([1, "任务甲", "市卫健委", "市公安局", "2021年底"])
    result = ledger_import(data=_save(wb), dry_run=True)
    assert [(e.column, e.message) for e in result.errors] == [
        (
            "D（配合单位）",
            "配合单位中的“市公安局”不是已知单位，您是否要找："
            + "、".join(result.unknown_units["市公安局"])
            + "。",
        )
    ]
    assert list(result.unknown_units) == ["市公安局"]


def test_unknown_units_are_mapped_created_or_ignored_and_a_mapping_becomes_an_alias(units):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2021年重点任务分工"])
    ws.append(["序号", "主要任务", "牵头单位", "配合单位", "完成时限"])
    ws.append([1, "任务甲", "市卫健局", "新华区政府、市红十字会、市公安局", "2021年底"])
    health = units["health"]
    choices = {
        "市卫健局": ("unit", health.pk),
        "新华区政府": ("new", "county"),
        "市红十字会": ("new", ""),
        "市公安局": ("ignore", None),
    }
    result = ledger_import(data=_save(wb), unit_choices=choices, dry_run=False)
    assert result.errors == [] and result.written
    task = Task.objects.get()
    assert [u.name for u in task.lead_units] == ["市卫生健康委"]
    assert [u.name for u in task.responsible_units] == ["市红十字会"]
    assert [u.name for u in task.counties] == ["新华区政府"]
    assert Unit.objects.get(name="新华区政府").kind == UnitKind.COUNTY
    assert Unit.objects.get(name="市红十字会").kind == UnitKind.DEPARTMENT
    assert UnitAlias.objects.filter(alias="市卫健局", unit=health).exists()
    assert not Unit.objects.filter(name="市公安局").exists()


def test_add_units_creates_names_nobody_knows_but_never_street_offices(units):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2021年重点任务分工"])
    ws.append(["序号", "主要任务", "牵头单位", "配合单位", "完成时限"])
    ws.append([1, "任务甲", "市公安局", "各街道", "2021年底"])
    result = ledger_import(data=_save(wb), add_units=True, dry_run=False)
    assert result.written and result.new_units == ["市公安局"]
    assert not Unit.objects.filter(name="各街道").exists()
    assert any("各街道" in w for p in result.plans for w in p.warnings)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("各县(市、区)政府(管委会)", [("counties", "各县(市、区)政府(管委会)")]),
        ("市财政局、各区、县级市政府", [("unit", "市财政局"), ("counties", "各区、县级市政府")]),
        ("各县市区、市医保局", [("counties", "各县市区"), ("unit", "市医保局")]),
        ("各县（区）人民政府", [("counties", "各县(区)人民政府")]),
        ("市卫健委\n市医保局", [("unit", "市卫健委"), ("unit", "市医保局")]),
        ("牵头：市卫健委", [("unit", "市卫健委")]),
        ("市医保局（医疗救助）", [("unit", "市医保局(医疗救助)")]),
    ],
)
def test_unit_cells_split_with_county_phrases_kept_whole(cell, expected):
    assert split_unit_cell(cell) == expected


def test_rows_that_would_overwrite_an_unrelated_task_are_flagged_and_can_go_to_new_tasks(units):
    doc = units["doc"]
    TaskFactory(document=doc, path=["一", "1"], title="推进药品集中带量采购", lead=[units["insurance"]])
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["序号", "主要任务", "牵头单位", "完成时限"])
    ws.append(["一、推进分级诊疗"])
    ws.append([1, "完善家庭医生签约服务", "市卫健委", "2021年底"])
    data = _save(wb)
    result = ledger_import(data=data, document=doc, dry_run=False)
    assert not result.written
    assert [e.row for e in result.errors] == [3]
    assert "推进药品集中带量采购" in result.errors[0].message and "差别很大" in result.errors[0].message
    assert Task.objects.get(path_key="一.1").title == "推进药品集中带量采购"
    result = ledger_import(data=data, document=doc, as_new={3}, dry_run=False)
    assert result.written and result.created == 1
    assert Task.objects.get(path_key="一.2").title == "完善家庭医生签约服务"
    assert Task.objects.get(path_key="一.1").title == "推进药品集中带量采购"


def test_import_ledger_json_for_a_new_plan_named_by_document(units, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["序号", "重点任务", "牵头单位", "责任单位", "完成时限"])
    ws.append(["1", "任务甲", "市卫健委", "市医保局", "6月底前"])
    path = tmp_path / "a.xlsx"
    path.write_bytes(_save(wb))
    out = io.StringIO()
    call_command(
        "import_ledger", str(path), "--document", "平医改办〔2022〕1号", "--json", "--dry-run", stdout=out
    )
    preview = json.loads(out.getvalue())
    assert set(preview) == {
        "document",
        "sheet",
        "header_row",
        "columns",
        "summary",
        "rows",
        "unknown_units",
        "errors",
    }
    assert preview["document"] == {
        "doc_number": "平医改办〔2022〕1号",
        "title": "平医改办〔2022〕1号",
        "created": True,
    }
    (row,) = preview["rows"]
    assert set(row) == {
        "row", "path", "title", "lead_units", "responsible_units", "counties_involved", "deadlines", "action", "changes"
    }  # fmt: skip
    assert row["deadlines"] == [
        {"text": "6月底前", "date": "2022-06-30", "recurring": False, "warning": None}
    ]
    assert not Document.objects.filter(doc_number="平医改办〔2022〕1号").exists()
    call_command("import_ledger", str(path), "--document", "平医改办〔2022〕1号", stdout=io.StringIO())
    assert Task.objects.get().document.doc_number == "平医改办〔2022〕1号"


def test_import_ledger_without_a_title_or_plan_says_what_to_do(units, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["序号", "重点任务", "牵头单位"])
    wb.active.append(["1", "任务甲", "市卫健委"])
    path = tmp_path / "a.xlsx"
    path.write_bytes(_save(wb))
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_ledger", str(path), stdout=io.StringIO(), stderr=err)
    assert "无法确定这些任务属于哪个文件" in err.getvalue()
    assert not Task.objects.exists()


def test_preview_page_lets_the_user_fix_units_and_the_plan_title_then_import(units, secretariat, client_as):
    client = client_as(secretariat)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2021年重点任务分工"])
    ws.append(["序号", "主要任务", "牵头单位", "配合单位", "完成时限"])
    ws.append([1, "任务甲", "市卫健局", "", "2021年底"])
    upload = io.BytesIO(_save(wb))
    upload.name = "分工表.xlsx"
    page = client.post(reverse("tasks:import"), {"file": upload})
    body = page.content.decode()
    assert "读取的工作表" in body and "新建文件" in body and "市卫健局" in body
    assert 'data-testid="import-confirm"' not in body  # the unknown name is an error until mapped
    token = page.context["token"]
    page = client.post(
        reverse("tasks:import-preview"),
        {
            "token": token, "target": "new", "doc_number": "平医改办〔2021〕9号", "doc_title": "2021年重点任务分工",
            "unit_count": "1", "unit_name_0": "市卫健局", "unit_choice_0": f"unit:{units['health'].pk}",
        },
    )  # fmt: skip
    assert page.context["result"].errors == []
    assert 'data-testid="import-confirm"' in page.content.decode()
    response = client.post(reverse("tasks:import-confirm"), {"token": token})
    assert response.status_code == 302
    task = Task.objects.get()
    assert task.document.doc_number == "平医改办〔2021〕9号" and [u.name for u in task.lead_units] == [
        "市卫生健康委"
    ]
    assert UnitAlias.objects.filter(alias="市卫健局").exists()


def test_preview_page_column_mapping_can_be_changed(units, secretariat, client_as):
    client = client_as(secretariat)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2021年重点任务分工"])
    ws.append(["序号", "主要任务", "牵头单位", "说明", "完成时限"])
    ws.append([1, "任务甲", "市卫健委", "市医保局", "2021年底"])
    upload = io.BytesIO(_save(wb))
    upload.name = "分工表.xlsx"
    token = client.post(reverse("tasks:import"), {"file": upload}).context["token"]
    mapping = {
        "mapping_submitted": "1",
        "map_seq": "0",
        "map_title": "1",
        "map_lead": "2",
        "map_responsible": "3",
        "map_deadline": "4",
    }
    page = client.post(reverse("tasks:import-preview"), {"token": token, **mapping})
    (row,) = page.context["result"].as_json()["rows"]
    assert row["responsible_units"] == ["市医疗保障局"]
    assert page.context["result"].as_json()["columns"]["responsible_units"] == "说明"


def test_import_ledger_plan_column_comes_before_document_which_fills_empty_cells(units, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["序号", "任务来源(文件/文号)", "重点任务", "牵头单位", "完成时限"])
    ws.append(["1", "平办〔2020〕7号", "任务甲", "市卫健委", "2021年底"])
    ws.append(["2", "", "任务乙", "市卫健委", "2021年底"])
    path = tmp_path / "a.xlsx"
    path.write_bytes(_save(wb))
    call_command("import_ledger", str(path), "--document", "平医改办〔2022〕1号", stdout=io.StringIO())
    assert Task.objects.get(title="任务甲").document.doc_number == "平办〔2020〕7号"
    assert Task.objects.get(title="任务乙").document.doc_number == "平医改办〔2022〕1号"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("新华区政府", "county"),
        ("宝丰县人民政府", "county"),
        ("汝州市政府", "county"),
        ("高新区管委会", "county"),
        ("叶县", "county"),
        ("市红十字会", "department"),
        ("市公安局", "department"),
        ("市政府办公室", "department"),
    ],
)
def test_a_new_unit_takes_its_kind_from_its_name(name, kind):
    from tasks.ledger_cells import unit_kind_for

    assert unit_kind_for(name) == kind


def test_numbering_inside_the_task_text_headings_without_numbers_and_notes(units):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2021年医改任务分工"])
    ws.append(["重点任务", "牵头单位", "完成时限"])
    ws.append(["一、推进分级诊疗"])
    ws.append(["1.推进医共体建设", "市卫健委", "2021年底"])
    ws.append(["2.完善签约服务", "市卫健委", "2021年底"])
    ws.append(["医保改革"])
    ws.append(["推进支付方式改革", "市医保局", "2021年底"])
    ws.append(["注：本表由医改办汇总"])
    result = ledger_import(data=_save(wb), dry_run=True)
    assert result.errors == []
    assert [(r["path"], r["title"]) for r in result.as_json()["rows"]] == [
        (["一", "1"], "推进医共体建设"),
        (["一", "2"], "完善签约服务"),
        (["二", "1"], "推进支付方式改革"),
    ]
    assert [p.section for p in result.plans] == [["推进分级诊疗"], ["推进分级诊疗"], ["医保改革"]]


def test_recurring_deadline_is_recorded_as_recurring_with_its_next_dates(units):
    from django.utils import timezone

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2021年重点任务分工"])
    ws.append(["序号", "主要任务", "牵头单位", "完成时限"])
    ws.append([1, "按季度调度", "市卫健委", "每季度末"])
    result = ledger_import(data=_save(wb), dry_run=False)
    (row,) = result.as_json()["rows"]
    (deadline,) = row["deadlines"]
    assert deadline["recurring"] is True and deadline["warning"] is None
    dates = [m.date for m in Task.objects.get().milestones.all()]
    today = timezone.localdate()
    assert len(dates) == 4 and all(d >= today for d in dates)
    assert deadline["date"] == dates[0].isoformat()
    assert {(d.month, d.day) for d in dates} == {(3, 31), (6, 30), (9, 30), (12, 31)}


def test_preview_preselects_only_a_name_that_is_clearly_a_known_unit(units, secretariat, client_as):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2021年重点任务分工"])
    ws.append(["序号", "主要任务", "牵头单位", "配合单位", "完成时限"])
    ws.append([1, "任务甲", "市医保障局", "市公安局", "2021年底"])
    upload = io.BytesIO(_save(wb))
    upload.name = "分工表.xlsx"
    page = client_as(secretariat).post(reverse("tasks:import"), {"file": upload}).content.decode()

    def select_of(name):
        part = page[page.index(f'aria-label="{name} 对应的单位"') :]
        return part[: part.index("</select>")]

    assert " selected>" not in select_of(
        "市公安局"
    )  # 市公安局 merely shares characters: never chosen for the user
    assert "selected>市医疗保障局（同一单位的另一种写法）" in select_of("市医保障局")


@pytest.mark.parametrize("numbers", [("1.1", "1.2", "2.1", "2.1.1"), ("1.1.", "1.10", "3.2", "3.2.1")])
def test_dotted_arabic_numbers_are_whole_paths(units, numbers):
    """Many offices number every task in full (1.1, 1.2, 2.1): each is its own task, not "1" four times."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["测医改办〔2026〕7号"])
    ws.append(["2026年深化医改重点任务台账"])
    ws.append(["序号", "重点任务", "牵头单位", "完成时限"])
    for i, number in enumerate(numbers):
        ws.append([number, f"第{i + 1}项任务", "市卫健委", "2026年12月底前"])
    result = ledger_import(data=_save(wb), dry_run=True)
    assert result.errors == []
    paths = [r["path"] for r in result.as_json()["rows"]]
    assert paths == [n.rstrip(".").split(".") for n in numbers]


def test_unit_cells_written_as_sentences_say_who_leads(units):
    """Offices often write who does what in words inside the unit cells; the plan reader's rules apply."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["测医改办〔2026〕8号"])
    ws.append(["2026年深化医改重点工作任务清单"])
    ws.append(["序号", "重点工作", "责任单位", "完成时限"])
    for i, cell in enumerate(
        [
            "市卫健委牵头，市医保局、市财政局配合",
            "市卫健委（牵头）、各县（市、区）政府",
            "牵头单位：市医保局；配合单位：市卫健委",
            "由市医保局负责，市财政局参与",
            "市医保局、市卫健委分别负责",
            "市卫健委、市医保局",  # a plain list: the first leads
        ]
    ):
        ws.append([str(i + 1), f"第{i + 1}项任务", cell, "2026年底前"])
    ws2 = wb.create_sheet("分列")
    ws2.append(["2026年深化医改重点工作任务分工"])
    ws2.append(["序号", "重点工作", "牵头单位", "配合单位", "完成时限"])
    ws2.append(["1", "甲", "市卫健委牵头", "市医保局、市财政局配合", "2026年底前"])
    ws2.append(["2", "乙", "市卫健委（牵头）", "市财政局", "2026年底前"])
    ws2.append(["3", "丙", "市医保局牵头，市卫健委配合", "市财政局", "2026年底前"])
    data = _save(wb)
    rows = ledger_import(data=data, dry_run=True).as_json()["rows"]
    got = [(r["lead_units"], r["responsible_units"], r["counties_involved"]) for r in rows]
    assert got == [
        (["市卫生健康委"], ["市医疗保障局", "市财政局"], False),
        (["市卫生健康委"], [], True),
        (["市医疗保障局"], ["市卫生健康委"], False),
        (["市医疗保障局"], ["市财政局"], False),
        (["市医疗保障局", "市卫生健康委"], [], False),
        (["市卫生健康委"], ["市医疗保障局"], False),
    ]
    result = ledger_import(data=data, dry_run=True, sheet="分列")
    assert result.errors == []
    got = [(r["lead_units"], r["responsible_units"]) for r in result.as_json()["rows"]]
    assert got == [
        (["市卫生健康委"], ["市医疗保障局", "市财政局"]),
        (["市卫生健康委"], ["市财政局"]),
        (["市医疗保障局"], ["市财政局", "市卫生健康委"]),
    ]


def test_several_measures_under_one_merged_task_become_its_sub_tasks(units):
    """序号 and 重点任务 merged down over three 具体措施 rows, each with its own units and deadline."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["测医改办〔2026〕9号 2026年医改重点工作任务分工方案"])
    ws.append(["序号", "重点任务", "具体措施", "牵头单位", "配合单位", "完成时限"])
    ws.append([1, "推进分级诊疗", "建设紧密型医共体", "市卫健委", "市医保局", "2026年6月"])
    ws.append([None, None, "推进家庭医生签约", "市卫健委", "各县(市、区)政府", "2026年12月"])
    ws.append([None, None, "完善双向转诊", "市卫健委", "市财政局", "2026年9月"])
    ws.merge_cells("A3:A5")
    ws.merge_cells("B3:B5")
    ws.append([2, "深化医保改革", "推进DRG付费", "市医保局", "市卫健委", "2026年底前"])
    ws.append(["二、保障措施"])
    ws.append(["1.1", "加强组织领导", "", "市卫健委", "", "长期坚持"])
    result = ledger_import(data=_save(wb), dry_run=False)
    assert result.errors == []
    doc = Document.objects.get(doc_number="测医改办〔2026〕9号")
    tasks = {t.path_key: t for t in Task.objects.filter(document=doc)}
    assert sorted(tasks) == ["1.1", "1.2", "1.3", "2", "二.1.1"]
    assert tasks["1.2"].title == "推进家庭医生签约" and tasks["1.2"].section == ["推进分级诊疗"]
    assert str(tasks["1.3"].deadline) == "2026-09-30"
    assert tasks["2"].title == "深化医保改革" and tasks["2"].text == "推进DRG付费"
    again = ledger_import(data=_save(wb), dry_run=True)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)


def test_a_new_task_gets_the_numeric_targets_of_its_row_and_an_existing_one_keeps_its_own(units):
    """The 目标任务/指标 column is read by the plan reader's target rules; the targets light the task and feed
    序时进度 like those of a pasted plan."""
    from tasks.models import Target

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["测医改办〔2026〕10号 2026年医改重点任务台账"])
    ws.append(["序号", "重点任务", "目标任务/指标", "牵头单位", "完成时限"])
    ws.append(
        ["1", "推进医共体建设", "县域内就诊率达到90%以上；基层诊疗量占比不低于65%", "市卫健委", "2026年底前"]
    )
    ws.append(["2", "提升服务", "完善服务流程", "市卫健委", "2026年6月底前"])
    ws.append(
        ["2.1", "提升满意度", "群众满意度达到90%以上。群众满意度达到90%以上。", "市卫健委", "2026年6月底前"]
    )
    ws.append(["3", "控制费用", "公立医院医疗费用增长幅度控制在10%以内", "市医保局", "2026年9月"])
    preview = ledger_import(data=_save(wb), dry_run=True)
    assert [[t.label for t in p.new_targets] for p in preview.plans] == [
        ["县域内就诊率≥90%", "基层诊疗量占比≥65%"], [], ["群众满意度≥90%"], ["公立医院医疗费用增长幅度≤10%"]
    ]  # fmt: skip
    assert not Target.objects.exists()  # a preview writes nothing
    assert ledger_import(data=_save(wb), dry_run=False).written
    task = Task.objects.get(document__doc_number="测医改办〔2026〕10号", path_key="1")
    targets = sorted(task.targets.all(), key=lambda t: t.indicator)
    assert [(t.label, str(t.due)) for t in targets] == [
        ("县域内就诊率≥90%", "2026-12-31"), ("基层诊疗量占比≥65%", "2026-12-31")
    ]  # fmt: skip
    edited = targets[0]
    edited.value = 92
    edited.save()
    ws["C3"] = (
        "县域内就诊率达到95%以上"  # the row changed: the task's text is updated, its targets are its own
    )
    again = ledger_import(data=_save(wb), dry_run=False)
    assert again.updated == 1 and again.plans[0].new_targets == []
    assert sorted(str(t.value.normalize()) for t in task.targets.all()) == ["65", "92"]
